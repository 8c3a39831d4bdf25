"""Helpers the tests share: the command line in a subprocess or in this process, and a fresh
PostgreSQL database on the test server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks._common import stop_processes_naming  # noqa: F401 - the Ray tests' own clusters, as the benchmark's
from scitune.cli import app

REPO = Path(__file__).resolve().parents[1]  # the repository root


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "scitune", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def cli(*args: str):
    """The command line, in this process (its workers fork from here)."""
    return CliRunner().invoke(app, list(args))


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


# -- the framework callbacks' tests (tests/training: Lightning, Hugging Face, Keras) --------------


def framework_experiment(name: str, framework: str, train: str, trials: int, *, objective: str = "val_error",
                         learning_rate: str = "{low: 1.0e-3, high: 3.0e-2, scale: log}",
                         fixed: str = "{width: 16, batch_size: 64}") -> str:
    """A 40-step experiment evaluated every 10 steps, keeping the best checkpoint, whose program is
    ``train`` (a ``train:`` or ``command:`` line)."""
    return textwrap.dedent(f"""\
        experiment: {name}
        goal: Does the {framework} callback report, keep checkpoints and resume?
        {train}
        objective: {{metric: {objective}, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: 40, eval_every: 10}}
        checkpoints: {{keep_best: 1}}
        hyperparameters:
          nuisance:
            learning_rate: {learning_rate}
          fixed: {fixed}
        """)


def check_framework_trials(db, name: str, *, objective: str = "val_error", metrics: Iterable[str],
                           checkpoints: str) -> None:
    """Every trial of ``name`` completed, reported ``objective`` at each evaluation step exactly
    once (a resumed one included) and the framework's own ``metrics``, and kept (keep_best 1) its
    best checkpoint and its latest, nothing else, on disk (files matching ``checkpoints``) and in
    the store alike."""
    trials = db.trials(name)
    assert set(trials["state"]) == {"completed"}, trials[["state", "reason"]].to_dict("records")
    points = db.metrics(trials["id"].tolist())
    kept = db.checkpoints(trials["id"].tolist())
    for trial in trials.itertuples():
        mine = points[points["trial_id"] == trial.id]
        assert mine[mine["name"] == objective].sort_values("step")["step"].tolist() == [10, 20, 30, 40]
        assert set(metrics) <= set(mine["name"])
        files = sorted(Path(trial.directory).glob(checkpoints))
        steps = sorted(kept[kept["trial_id"] == trial.id]["step"])
        assert [int(f.stem.split("-")[1]) for f in files] == steps
        assert set(steps) == {int(trial.best_step), 40}


# -- the browser tests (the report's and the dashboard's): Debian's Chromium, headless --------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--disable-extensions", "--window-size=1280,1000"]


@contextlib.contextmanager
def headless_chromium(profile: Path, extra_flags: Iterable[str] = ()):
    """A Selenium driver of Debian's headless Chromium (its browser log kept), quit afterwards; the
    test is skipped when Chromium, its driver or selenium is missing, and fails then under CI."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        message = (
            f"the browser test needs {', '.join(missing)}: apt-get install chromium chromium-driver (.ci/run does this)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)  # with both paths given, Selenium Manager downloads nothing
    for flag in [*CHROMIUM_FLAGS, *extra_flags]:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
