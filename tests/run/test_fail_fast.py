"""Fail fast in a real run: a broken training function stops the run after its first trials, says
why, and the command line exits non-zero; a healthy or merely unlucky run is never stopped."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from helpers import run_cli
from planted import experiment_yaml
from scitune import ConfigError, Store, load_experiment, run_experiment
from scitune.states import TrialState

pytestmark = pytest.mark.slow  # real runs: forked workers


def returns_its_loss(hp, trial):  # the Optuna habit
    return 0.31


def reports_another_metric(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, loss=1.0 / step)


def raises(hp, trial):
    raise RuntimeError("CUDA out of memory (planted)")


def one_argument(hp):
    return 0.0


def healthy(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=(math.log10(hp["learning_rate"]) + 2) ** 2 + 1 / step)


def _run(workdir: Path, train, trials: int = 6, **kwargs):
    (workdir / "exp.yaml").write_text(experiment_yaml("ff", trials=trials))
    experiment, text = load_experiment(workdir / "exp.yaml")
    db = Store(str(workdir / "s.db"))
    summary = run_experiment(experiment, db, config_text=text, config_path=workdir / "exp.yaml", train=train, **kwargs)
    return db, summary


@pytest.mark.parametrize(
    "train, shape, cause, hint",
    [
        (returns_its_loss, "returned", "train returned 0.31", "trial.report(step, val_error=...)"),
        (reports_another_metric, "never_reported", "reported metrics: loss", "set objective.metric to one of loss"),
        (raises, "raised", "RuntimeError: CUDA out of memory (planted)", "scitune show ff/width=8/0"),
    ],
)
def test_a_broken_train_stops_after_three_trials(workdir: Path, train, shape: str, cause: str, hint: str) -> None:
    db, summary = _run(workdir, train)
    assert summary.failing is not None and summary.failing.shape == shape
    assert cause in summary.failing.cause and hint in summary.failing.hint
    states = summary.states
    assert states["failed"] == 3 and states["completed"] == 0
    assert states["pending"] + states["interrupted"] == 12 - 3  # the rest of the budget is not spent
    failed = db.trials("ff").query("state == 'failed'")
    assert all(cause in r for r in failed["reason"])


def test_one_argument_train_is_refused_before_anything_runs() -> None:
    from scitune.run.program import check_signature

    with pytest.raises(ConfigError, match=r"takes \(hp\), but scitune calls train\(hparams, trial\)"):
        check_signature(one_argument, "exp.yaml: train: 'x:one_argument'")
    check_signature(healthy, "fine")
    check_signature(lambda *args: None, "fine too")


def test_healthy_run_and_fail_fast_off_run_everything(workdir: Path) -> None:
    _, summary = _run(workdir, healthy)
    assert summary.failing is None and summary.states["completed"] == 12
    _, summary = _run(workdir, raises, fail_fast=0)  # same store: the healthy trials are finished
    assert summary.failing is None


BROKEN = """
def ret(hp, trial):
    return 0.31

def one(hp):
    return 0.0
"""


def test_cli_exits_non_zero_with_cause_and_hint(workdir: Path) -> None:
    (workdir / "broken.py").write_text(BROKEN)
    (workdir / "exp.yaml").write_text(experiment_yaml("ffcli", trials=4).replace("toytrainer:train", "broken:ret"))
    result = run_cli("run", "exp.yaml", "--store", "s.db", cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert "ffcli: stopped early, the first 3 trials all failed the same way" in result.stderr
    assert "hint: train returned 0.31: report it with trial.report(step, val_error=...)" in result.stderr
    # Fewer trials than the fail-fast limit, all failed: still not a success.
    (workdir / "one.yaml").write_text(experiment_yaml("ffone", trials=1, scientific="{width: [8]}")
                                      .replace("toytrainer:train", "broken:ret"))
    result = run_cli("run", "one.yaml", "--store", "s.db", cwd=workdir)
    assert result.returncode == 1 and "every finished trial failed (1)" in result.stderr
    assert set(Store(str(workdir / "s.db")).trials("ffone")["state"]) == {TrialState.FAILED}


def test_cli_refuses_one_argument_train(workdir: Path) -> None:
    (workdir / "broken.py").write_text(BROKEN)
    (workdir / "exp.yaml").write_text(experiment_yaml("ffsig").replace("toytrainer:train", "broken:one"))
    result = run_cli("run", "exp.yaml", "--store", "s.db", cwd=workdir)
    assert result.returncode == 2
    assert "broken:one' takes (hp), but scitune calls train(hparams, trial)" in result.stderr
    assert not (workdir / "s.db").exists()  # nothing written
