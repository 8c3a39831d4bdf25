"""Helpers the tests share: the command line in a subprocess or in this process, and a fresh
PostgreSQL database on the test server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

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


def stop_processes_naming(folder: Path) -> None:
    """Stop, by pid, every process whose command line names ``folder`` (a test's own Ray temp
    folder): never ``ray stop``, which would stop every Ray of this machine."""
    mine, parent = [], {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if str(folder).encode() in (proc / "cmdline").read_bytes():
                    mine.append(int(proc.name))
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
                parent[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    # Their descendants too: Ray's agents (dashboard agent, runtime-env agent) rewrite their command
    # lines, so only their parent, the raylet, still names the folder.
    found = set(mine)
    while True:
        more = [pid for pid, ppid in parent.items() if ppid in found and pid not in found]
        if not more:
            break
        found.update(more)
        mine.extend(more)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1)
