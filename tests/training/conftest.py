"""The framework callbacks' tests (Lightning, Hugging Face, Keras): the repository on the import
path (their experiments and checks are ``helpers.framework_experiment`` and
``helpers.check_framework_trials``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO


@pytest.fixture
def repo_importable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder, with the repository (its ``examples``) importable."""
    monkeypatch.syspath_prepend(str(REPO))
    return workdir
