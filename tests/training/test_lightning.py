"""The Lightning callback on a tiny real model (the digits MLP): reports, kept checkpoints, resume,
and command mode. Real runs, so all slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO, check_framework_trials, framework_experiment
from scitune import Store, run_experiment

pytest.importorskip("lightning")
pytestmark = pytest.mark.slow

INTERRUPTER = '''
import os
from pathlib import Path
import lightning
from scitune.errors import Interrupted
from examples.lightning.train import train as example

class StopOnce(lightning.Callback):
    """Stops the first attempt after step 20 was reported and checkpointed, as a SIGTERM would."""
    def on_train_start(self, trainer, module):
        with open(os.environ["LOG"], "a") as f:
            f.write(f"start {trainer.global_step}\\n")
    def on_validation_end(self, trainer, module):
        flag = Path(os.environ["LOG"] + ".stopped")
        if trainer.global_step == 20 and not flag.exists():
            flag.write_text("x")
            raise Interrupted("test")

def train(hp, trial):
    example(hp, trial, callbacks=[StopOnce()])
'''


def _experiment(name: str, train: str, trials: int = 2) -> str:
    return framework_experiment(name, "Lightning", train, trials)


def _check_trials(db: Store, name: str) -> None:
    check_framework_trials(db, name, metrics=("train_loss", "val_loss"), checkpoints="ckpt-*.ckpt")


def test_python_trials_report_and_keep_checkpoints(repo_importable: Path) -> None:
    (repo_importable / "exp.yaml").write_text(_experiment("lt", "train: examples.lightning.train:train"))
    summary = run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    assert summary.states["completed"] == 2
    _check_trials(Store(str(repo_importable / "s.db")), "lt")


def test_an_interrupted_trial_resumes_from_its_checkpoint(repo_importable: Path, monkeypatch) -> None:
    (repo_importable / "lt_interrupter.py").write_text(INTERRUPTER)
    monkeypatch.setenv("LOG", str(repo_importable / "starts.log"))
    (repo_importable / "exp.yaml").write_text(_experiment("lt-resume", "train: lt_interrupter:train", trials=1))
    run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    db = Store(str(repo_importable / "s.db"))
    assert (repo_importable / "starts.log").read_text().split("\n")[:2] == ["start 0", "start 20"]
    assert db.trials("lt-resume")["attempts"].tolist() == [2]
    _check_trials(db, "lt-resume")


def test_command_mode(repo_importable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO / "src"))  # the program imports this checkout's scitune
    script = REPO / "examples" / "lightning" / "train.py"
    (repo_importable / "exp.yaml").write_text(_experiment("lt-cli", f"command: [python, '{script}']", trials=1))
    summary = run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    db = Store(str(repo_importable / "s.db"))
    assert summary.states["completed"] == 1, db.trials("lt-cli")[["state", "reason"]].to_dict("records")
    _check_trials(db, "lt-cli")
