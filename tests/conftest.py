"""Fixtures the tests share, and the markers of the suite's tiers.

Markers (pyproject.toml registers them): ``slow`` (seconds or more: real runs, kills, subprocess
command lines), ``browser`` (headless Chromium), ``postgres`` (a PostgreSQL server), ``ray`` (a Ray
cluster). The fast tier is ``python -m pytest -m "not slow and not browser and not postgres and not
ray"``; a test that runs against PostgreSQL through the ``store_url`` fixture is marked ``postgres``
here."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import postgres_database
from planted import PROTO_BASE, PROTO_TRAINER, TRAINER


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding toytrainer.py, importable, and the current directory for the test."""
    (tmp_path / "toytrainer.py").write_text(TRAINER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SCITUNE_STORE", raising=False)
    return tmp_path


@pytest.fixture
def proto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding prototrainer.py and base.yaml, importable and current."""
    (tmp_path / "prototrainer.py").write_text(PROTO_TRAINER)
    (tmp_path / "base.yaml").write_text(PROTO_BASE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SCITUNE_STORE", raising=False)
    return tmp_path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The URL of an empty store, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "s.db")
        return
    url, drop = postgres_database()
    yield url
    drop()
