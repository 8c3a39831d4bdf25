"""The same runner on a real PostgreSQL server, and riding out lost store connections."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError

from helpers import postgres_database, run_cli
from planted import experiment_yaml
from scitune import Store
from scitune.errors import StoreError

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_url():
    url, drop = postgres_database()
    yield url.replace("postgresql+psycopg://", "postgresql://")  # the spelling users write
    drop()


def test_cli_run_on_postgres(workdir: Path, pg_url: str) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("pg", trials=4, steps=6, eval_every=2))
    result = run_cli("run", "exp.yaml", "--store", pg_url, "--workers", "2", cwd=workdir)
    assert result.returncode == 0, result.stderr
    store = Store(pg_url)
    trials = store.trials("pg")
    assert Counter(trials["state"]) == {"completed": 8}
    points = store.metrics(trials["id"].tolist())
    assert points.groupby("trial_id").size().tolist() == [3 * 3] * 8  # steps 2, 4, 6 x 3 metrics
    status = run_cli("status", "pg", cwd=workdir, env={"SCITUNE_STORE": pg_url})
    assert status.returncode == 0 and "width=16" in status.stdout


def test_two_runners_share_the_work_on_postgres(workdir: Path, pg_url: str) -> None:
    text = experiment_yaml("pgshared", trials=8, steps=6, eval_every=2, fixed="{behaviour: ok, step_seconds: 0.02}")
    (workdir / "exp.yaml").write_text(text)
    log = workdir / "events.log"
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    env["SCITUNE_TEST_LOG"] = str(log)
    runners = [
        subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", pg_url, "--workers", "2"],
                         cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for runner in runners:
        assert runner.wait(timeout=120) == 0, runner.stderr.read().decode()
    starts = Counter(tuple(line.split()[1:3]) for line in log.read_text().splitlines() if line.startswith("start"))
    assert len(starts) == 16 and set(starts.values()) == {1}


def test_run_survives_the_server_dropping_its_connections(workdir: Path, pg_url: str) -> None:
    """The database kills every scitune connection several times mid-run: the run reconnects,
    retries the interrupted transactions and finishes with every trial completed once."""
    text = experiment_yaml("pgdrop", trials=6, steps=20, eval_every=1, fixed="{behaviour: ok, step_seconds: 0.05}")
    (workdir / "exp.yaml").write_text(text)
    database = pg_url.rsplit("/", 1)[1]
    admin = sqlalchemy.create_engine(os.environ["SCITUNE_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
    killed = []

    def drop_connections() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until both workers are connected and training
            with admin.connect() as conn:
                connected = conn.exec_driver_sql(
                    f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"
                ).scalar()
            if connected >= 3:
                break
            time.sleep(0.05)
        for _ in range(4):
            with admin.connect() as conn:
                killed.append(conn.exec_driver_sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
                ).scalar())
            time.sleep(0.4)

    dropper = threading.Thread(target=drop_connections)
    dropper.start()
    result = run_cli("run", "exp.yaml", "--store", pg_url, "--workers", "2", cwd=workdir)
    dropper.join()
    admin.dispose()
    assert result.returncode == 0, result.stderr
    assert sum(killed) > 0  # connections really were dropped mid-run
    store = Store(pg_url)
    trials = store.trials("pgdrop")
    assert Counter(trials["state"]) == {"completed": 12}
    points = store.metrics(trials["id"].tolist())
    assert (points.groupby("trial_id").size() == 20 * 3).all()


def test_a_connection_that_never_comes_back_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    store = Store(str(tmp_path / "s.db"))
    monkeypatch.setenv("SCITUNE_STORE_RETRY_SECONDS", "0.5")
    calls = []

    def lost(*args, **kwargs):
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(store.engine, "connect", lost)
    started = time.monotonic()
    with pytest.raises(StoreError, match="lost the connection to the store .* did not come back") as err:
        store.experiments()
    assert "server closed the connection unexpectedly" in str(err.value)
    assert len(calls) >= 3 and time.monotonic() - started < 5  # retried with backoff, then gave up


def test_a_passing_outage_is_ridden_out(tmp_path: Path, monkeypatch) -> None:
    store = Store(str(tmp_path / "s.db"))
    real_connect = store.engine.connect
    failures = iter([True, True, False])

    def flaky(*args, **kwargs):
        if next(failures, False):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(store.engine, "connect", flaky)
    assert store.experiments() == []
