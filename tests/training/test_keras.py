"""The Keras 3 callback (torch backend) on a tiny real model (the digits MLP): reports, kept
checkpoints, resume, and command mode. Real runs, so all slow."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from helpers import REPO
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
    return textwrap.dedent(f"""\
        experiment: {name}
        goal: Does the Keras callback report, keep checkpoints and resume?
        {train}
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: 40, eval_every: 10}}
        checkpoints: {{keep_best: 1}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-3, high: 3.0e-2, scale: log}}
          fixed: {{width: 16, batch_size: 64}}
        """)


@pytest.fixture
def repo_importable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(REPO))
    return workdir


def _check_trials(db: Store, name: str) -> None:
    trials = db.trials(name)
    assert set(trials["state"]) == {"completed"}, trials[["state", "reason"]]
    points = db.metrics(trials["id"].tolist())
    kept = db.checkpoints(trials["id"].tolist())
    for trial in trials.itertuples():
        mine = points[points["trial_id"] == trial.id]
        val = mine[mine["name"] == "val_error"].sort_values("step")
        assert val["step"].tolist() == [10, 20, 30, 40]  # every eval step once, a resumed one included
        assert {"loss", "val_loss", "val_accuracy"} <= set(mine["name"])
        files = sorted(Path(trial.directory).glob("ckpt-*.keras"))
        steps = sorted(kept[kept["trial_id"] == trial.id]["step"])
        # keep_best 1: the best checkpoint and the latest, nothing else, on disk and in the store.
        assert [int(f.stem.split("-")[1]) for f in files] == steps
        assert set(steps) == {int(trial.best_step), 40}


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
