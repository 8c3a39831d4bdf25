"""The Keras 3 callback (torch backend) on a tiny real model (the digits MLP): reports, kept
checkpoints, resume, and command mode. Real runs, so all slow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import REPO, check_framework_trials, framework_experiment
from scitune import Store, run_experiment

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("keras")
pytestmark = pytest.mark.slow

INTERRUPTER = '''
import os
from pathlib import Path
import keras
from scitune.errors import Interrupted
from examples.keras.train import train as example

def steps(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))

class StopOnce(keras.callbacks.Callback):
    """Stops the first attempt after step 20 was reported and checkpointed, as a SIGTERM would."""
    def on_train_begin(self, logs=None):
        with open(os.environ["LOG"], "a") as f:
            f.write(f"start {steps(self.model)}\\n")
    def on_train_batch_end(self, batch, logs=None):
        flag = Path(os.environ["LOG"] + ".stopped")
        if steps(self.model) == 20 and not flag.exists():
            flag.write_text("x")
            raise Interrupted("test")

def train(hp, trial):
    example(hp, trial, callbacks=[StopOnce()])
'''


def _experiment(name: str, train: str, trials: int = 2) -> str:
    return framework_experiment(name, "Keras", train, trials)


def _check_trials(db: Store, name: str) -> None:
    check_framework_trials(db, name, metrics=("loss", "val_loss", "val_accuracy"), checkpoints="ckpt-*.keras")


def test_python_trials_report_and_keep_checkpoints(repo_importable: Path) -> None:
    (repo_importable / "exp.yaml").write_text(_experiment("ks", "train: examples.keras.train:train"))
    summary = run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    assert summary.states["completed"] == 2
    _check_trials(Store(str(repo_importable / "s.db")), "ks")


def test_an_interrupted_trial_resumes_from_its_checkpoint(repo_importable: Path, monkeypatch) -> None:
    (repo_importable / "ks_interrupter.py").write_text(INTERRUPTER)
    monkeypatch.setenv("LOG", str(repo_importable / "starts.log"))
    (repo_importable / "exp.yaml").write_text(_experiment("ks-resume", "train: ks_interrupter:train", trials=1))
    run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    db = Store(str(repo_importable / "s.db"))
    assert (repo_importable / "starts.log").read_text().split("\n")[:2] == ["start 0", "start 20"]
    assert db.trials("ks-resume")["attempts"].tolist() == [2]
    _check_trials(db, "ks-resume")


def test_command_mode(repo_importable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO / "src"))  # the program imports this checkout's scitune
    script = REPO / "examples" / "keras" / "train.py"
    (repo_importable / "exp.yaml").write_text(_experiment("ks-cli", f"command: [python, '{script}']", trials=1))
    summary = run_experiment(repo_importable / "exp.yaml", str(repo_importable / "s.db"))
    db = Store(str(repo_importable / "s.db"))
    assert summary.states["completed"] == 1, db.trials("ks-cli")[["state", "reason"]].to_dict("records")
    _check_trials(db, "ks-cli")
