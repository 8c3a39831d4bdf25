"""The integration examples' experiment files are valid and find their training code from anywhere.
(Their training code itself is exercised by tests/training/test_{lightning,hf,keras}.py and
tests/examples/test_hydra.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO
from scitune.run.command import CommandProgram
from scitune.steps.run import load

pytestmark = pytest.mark.slow  # importing the frameworks takes seconds

FILES = [("lightning", "lightning", "experiment.yaml"), ("lightning", "lightning", "experiment_cli.yaml"),
         ("transformers", "hf", "experiment.yaml"), ("transformers", "hf", "experiment_cli.yaml"),
         ("keras", "keras", "experiment.yaml"), ("keras", "keras", "experiment_cli.yaml"),
         ("hydra", "hydra", "experiment.yaml")]


@pytest.mark.parametrize(("framework", "folder", "name"), FILES)
def test_example_file_loads(framework: str, folder: str, name: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    if framework == "keras":
        monkeypatch.setenv("KERAS_BACKEND", "torch")
    pytest.importorskip(framework)
    monkeypatch.chdir(tmp_path)
    loaded = load(REPO / "examples" / folder / name)
    if loaded.experiment.command is not None:
        assert isinstance(loaded.program, CommandProgram)
        assert (REPO / "examples" / folder / loaded.experiment.command[1]).is_file()
    else:
        assert callable(loaded.program.train)
