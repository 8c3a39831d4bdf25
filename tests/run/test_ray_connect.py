"""Joining a Ray cluster, or starting one, when a previous Ray died without cleaning up.

Every process these tests start gets its own RAY_TMPDIR, HOME (so no ~/.ray/auth_token of the
machine is read or left behind) and an explicit RAY_AUTH_MODE: the machine's Ray state does not
matter. The stale-address cases import Ray but start none."""

from __future__ import annotations

import shutil
import socket
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import run_cli, stop_processes_naming

pytestmark = [pytest.mark.ray, pytest.mark.slow]

pytest.importorskip("ray", reason="the Ray executor needs the 'ray' extra")

TRAINER = """
def train(hp, trial):
    trial.report(1, val_error=hp["learning_rate"])
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short temp folder of Ray's own (its socket paths must stay under 107 bytes); every process
    whose command line names it is stopped afterwards, by pid (never ``ray stop``: other Rays on
    this machine are not ours)."""
    folder = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    yield folder
    stop_processes_naming(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _setup(tmp: Path, ray_tmp: Path) -> dict[str, str]:
    (tmp / "raytrainer.py").write_text(TRAINER)
    (tmp / "exp.yaml").write_text(textwrap.dedent("""\
        experiment: rayconnect
        goal: Does the run start when an old Ray died?
        train: raytrainer:train
        objective: {metric: val_error, mode: min}
        budget: {trials_per_study: 2, max_train_steps: 1, eval_every: 1}
        hyperparameters:
          nuisance:
            learning_rate: {low: 1.0e-3, high: 1.0e-1, scale: log}
        """))
    (ray_tmp / "ray").mkdir(parents=True)
    stale = f"127.0.0.1:{_closed_port()}"
    (ray_tmp / "ray" / "ray_current_cluster").write_text(stale + "\n")
    home = tmp / "home"
    home.mkdir()
    return {"RAY_TMPDIR": str(ray_tmp), "HOME": str(home), "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": "",
            "RAY_USAGE_STATS_ENABLED": "0", "STALE": stale}


@pytest.mark.parametrize("how", ["named", "auto"])
def test_a_cluster_that_does_not_answer_is_one_clear_error_within_seconds(tmp_path: Path, ray_tmp: Path,
                                                                          how: str) -> None:
    env = _setup(tmp_path, ray_tmp)
    address = env["STALE"] if how == "named" else "auto"
    start = time.monotonic()
    result = run_cli("run", "exp.yaml", "--store", "s.db", "--executor", "ray", "--address", address,
                     cwd=tmp_path, env=env, timeout=120)
    took = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and env["STALE"] in lines[0] and "does not answer" in lines[0], result.stderr
    if how == "auto":
        assert "ray_current_cluster" in lines[0] and "stale" in lines[0]
    assert took < 110  # not Ray's minutes of retrying (the limit is loose: a loaded machine imports slowly)


def test_without_address_a_stale_cluster_file_does_not_matter(tmp_path: Path, ray_tmp: Path) -> None:
    """The README's promise: without --address a local Ray starts, even where Ray's temp folder
    names a dead cluster (before: ray.init retried the dead address for minutes)."""
    env = _setup(tmp_path, ray_tmp)
    result = run_cli("run", "exp.yaml", "--store", "s.db", "--executor", "ray", cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    from scitune import Store

    assert set(Store(str(tmp_path / "s.db")).trials("rayconnect")["state"]) == {"completed"}
    assert not list(Path(env["HOME"]).glob(".ray/*"))  # RAY_AUTH_MODE=disabled: no token file written
