"""Shared fixtures: a tiny pure-Python trainer (no torch) and experiment files around it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

TRAINER = '''
"""A cheap trainer whose behaviour is chosen by the hyperparameter `behaviour`."""
import math, os, time

def _log(event, hp, trial):
    path = os.environ.get("SCITUNE_TEST_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{event} {trial.study} {trial.number} {os.getpid()}\\n")

def train(hp, trial):
    _log("start", hp, trial)
    behaviour = hp.get("behaviour", "ok")
    lr = hp["learning_rate"]
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp.get("step_seconds", 0.0))
        if behaviour == "crash" and step == 3:
            raise RuntimeError("boom at step 3")
        if behaviour == "die" and step == 2:
            os.kill(os.getpid(), 9)
        if trial.should_eval(step):
            loss = (math.log10(lr) + 2.0) ** 2 + 1.0 / step
            if behaviour == "nan" and step >= 4:
                loss = float("nan")
            if behaviour == "quiet":
                trial.report(step, train_loss=loss)
            else:
                trial.report(step, train_loss=loss, val_loss=loss + 0.1, val_error=loss / 10)
    _log("end", hp, trial)
'''


def expected_loss(lr: float, step: int) -> float:
    """What TRAINER reports as train_loss at ``step``."""
    import math

    return (math.log10(lr) + 2.0) ** 2 + 1.0 / step


def experiment_yaml(name: str = "tiny", *, trials: int = 3, steps: int = 8, eval_every: int = 2,
                    scientific: str = "{width: [8, 16]}", fixed: str = "{behaviour: ok}") -> str:
    return textwrap.dedent(
        f"""\
        experiment: {name}
        goal: Does width change the validation error of the toy trainer?
        train: toytrainer:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: {eval_every}}}
        search: {{algorithm: quasi_random, seed: 0}}
        hyperparameters:
          scientific: {scientific}
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
          fixed: {fixed}
        """
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding toytrainer.py, importable, and the current directory for the test."""
    (tmp_path / "toytrainer.py").write_text(TRAINER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SCITUNE_STORE", raising=False)
    return tmp_path


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "scitune", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


POSTGRES_ENV = "SCITUNE_TEST_POSTGRES_URL"


def postgres_database() -> tuple[str, callable]:
    """A fresh, empty PostgreSQL database on the test server: (url, drop)."""
    import sqlalchemy

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"${POSTGRES_ENV} is not set: .ci/run must start PostgreSQL (scripts/test-postgres.sh)")
        pytest.skip('no PostgreSQL server: run eval "$(scripts/test-postgres.sh)" to test against one')
    name = f"scitune_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return base.rsplit("/", 1)[0] + "/" + name, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The URL of an empty store, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "s.db")
        return
    url, drop = postgres_database()
    yield url
    drop()
