"""Python trials' checkpoints: keep-N-best, atomic saves, resume with no duplicate steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scitune import Store
from scitune.run.checkpoints import CheckpointKeeper, atomic_write, load_state

TRAINER = '''
import os, time
import torch

class Bomb:
    """Pickling this kills the process: a SIGKILL in the middle of a checkpoint save."""
    def __reduce__(self):
        os.kill(os.getpid(), 9)

def train(hp, trial):
    model = torch.nn.Linear(2, 1)
    start = 1
    resumed = trial.resume()
    if resumed:
        step, state = resumed
        model.load_state_dict(state["model"])
        start = step + 1
        with open(trial.directory / "resumes.log", "a") as f:
            f.write(f"{step} {float(model.weight.sum()):.6f}\\n")
    curve = hp["curve"]
    for step in range(start, trial.max_train_steps + 1):
        time.sleep(hp.get("step_seconds", 0.0))
        with torch.no_grad():
            model.weight.fill_(step)  # the state tells which step it belongs to
        if hp.get("bomb_at") == step:
            trial.save_checkpoint(step, {"model": model.state_dict(), "bomb": Bomb()})
        if trial.should_eval(step):
            trial.report(step, val_error=curve[(step - 1) % len(curve)])
            trial.save_checkpoint(step, {"model": model.state_dict()})
'''


def _experiment(tmp: Path, name: str, steps: int, fixed: str, keep: int = 2) -> None:
    (tmp / "ckpt_trainer.py").write_text(TRAINER)
    (tmp / "exp.yaml").write_text(textwrap.dedent(f"""\
        experiment: {name}
        goal: Are the right checkpoints kept?
        train: ckpt_trainer:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: 1, max_train_steps: {steps}, eval_every: 1}}
        checkpoints: {{keep_best: {keep}}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-3, high: 1.0e-1, scale: log}}
          fixed: {fixed}
        """))


def _runner(tmp: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    return subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db"], cwd=tmp,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _trial(tmp: Path, name: str):
    return Store(str(tmp / "s.db")).trials(name).iloc[0]


def test_keeper_keeps_the_best_few_and_the_latest() -> None:
    keeper = CheckpointKeeper(keep_best=2, mode="min")
    dropped = []
    for step, value in enumerate([0.5, 0.4, 0.6, 0.3, 0.35, 0.2, 0.25, 0.7], start=1):
        dropped += keeper.observe(step, value)
        dropped += keeper.add(step, f"c{step}")
    assert sorted(keeper.paths) == [6, 7, 8]  # best two (0.2, 0.25) and the latest
    assert [s for s, _ in dropped] == [1, 3, 2, 5, 4]  # each as soon as it falls out of the best two
    assert keeper.best() == (6, "c6")
    maximize = CheckpointKeeper(keep_best=1, mode="max")
    for step, value in [(1, 0.1), (2, 0.9), (3, 0.5)]:
        maximize.add(step, f"c{step}")
        maximize.observe(step, value)
    assert sorted(maximize.paths) == [2, 3]


def test_keeper_drops_unranked_but_never_the_latest() -> None:
    keeper = CheckpointKeeper(keep_best=3, mode="min")
    keeper.add(10, "a")
    assert keeper.add(20, "b") == [(10, "a")]  # no objective at step 10: cannot be ranked
    keeper.observe(20, float("nan"))
    assert keeper.add(30, "c") == [(20, "b")]


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "ckpt-1.json"
    atomic_write(target, lambda f: f.write(b'{"ok": 1}'))

    def explode(handle):
        handle.write(b"half a checkp")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert load_state(target) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt-1.json"]


@pytest.mark.slow
def test_python_trial_keeps_n_best_and_reports_best_checkpoint(tmp_path: Path) -> None:
    _experiment(tmp_path, "pykeep", 8, "{curve: [0.5, 0.4, 0.6, 0.3, 0.35, 0.2, 0.25, 0.7]}", keep=2)
    runner = _runner(tmp_path)
    assert runner.wait(timeout=120) == 0, runner.stderr.read().decode()
    trial = _trial(tmp_path, "pykeep")
    folder = Path(trial["directory"])
    assert sorted(p.name for p in folder.glob("ckpt-*")) == ["ckpt-6.pt", "ckpt-7.pt", "ckpt-8.pt"]
    state = load_state(folder / "ckpt-6.pt")
    assert float(state["model"]["weight"].sum()) == 12.0  # the state saved at step 6
    assert trial["best_step"] == 6


@pytest.mark.slow
def test_kill_during_save_leaves_previous_checkpoints_intact(tmp_path: Path) -> None:
    _experiment(tmp_path, "bomb", 8, "{curve: [0.5, 0.4, 0.3, 0.2], bomb_at: 5}", keep=2)
    runner = _runner(tmp_path)
    assert runner.wait(timeout=120) == 1  # its only trial failed: the run says so
    trial = _trial(tmp_path, "bomb")
    assert trial["state"] == "failed" and "killed by SIGKILL" in trial["reason"]
    folder = Path(trial["directory"])
    assert sorted(p.name for p in folder.glob("ckpt-*")) == ["ckpt-3.pt", "ckpt-4.pt"]
    for step in (3, 4):
        assert float(load_state(folder / f"ckpt-{step}.pt")["model"]["weight"].sum()) == 2.0 * step
    kept = Store(str(tmp_path / "s.db")).checkpoints([trial["id"]])
    assert kept["step"].tolist() == [3, 4]  # the store agrees with the folder


@pytest.mark.slow
def test_python_trial_resumes_from_latest_checkpoint(tmp_path: Path) -> None:
    _experiment(tmp_path, "pyresume", 40, "{curve: [0.9, 0.8, 0.7], step_seconds: 0.05}", keep=1)
    runner = _runner(tmp_path)
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline and runner.poll() is None
        if (tmp_path / "s.db").exists():
            db = Store(str(tmp_path / "s.db"))
            if db.experiments():
                trials = db.trials("pyresume")
                kept = db.checkpoints(trials["id"].tolist())
                if len(kept) and kept["step"].max() >= 5:
                    break
        time.sleep(0.05)
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=30) == 130
    trial = _trial(tmp_path, "pyresume")
    assert trial["state"] == "interrupted"
    saved = int(db.checkpoints([trial["id"]])["step"].max())

    rerun = _runner(tmp_path)
    assert rerun.wait(timeout=120) == 0
    trial = _trial(tmp_path, "pyresume")
    assert trial["state"] == "completed" and trial["attempts"] == 2
    step, weight = (Path(trial["directory"]) / "resumes.log").read_text().split()
    assert int(step) == saved and float(weight) == 2.0 * saved  # the model state of that step
    points = db.metrics([trial["id"]])
    assert points["step"].tolist() == list(range(1, 41))  # continuous, no step twice
    assert trial["best_step"] == 3 and trial["best_value"] == pytest.approx(0.7)  # best of both attempts


def _command_trial(tmp: Path, lines: list[str], keep: int = 1, prepare=None):
    """A command-mode trial's metrics file with ``lines``, read the way the runner reads it."""
    from scitune.config.experiment import Objective
    from scitune.run.checkpoints import TrialFiles
    from scitune.run.command import CommandProgram, MetricsReader
    from scitune.run.trial import Trial

    folder = tmp / "artifacts" / "exp" / "study" / "trial-0"
    folder.mkdir(parents=True)
    if prepare is not None:
        prepare(folder)
    recorded: list = []
    files = TrialFiles(folder, CheckpointKeeper(keep, "min"), lambda *a: recorded.append(a))
    trial = Trial(study="study", number=0, params={}, seed=0, max_train_steps=10, eval_every=1,
                  objective=Objective(metric="val_error"), files=files)
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    CommandProgram(["true"], tmp)._ingest(trial, MetricsReader(folder / "metrics.jsonl"), folder)
    return trial, folder, recorded


def test_checkpoint_paths_outside_the_trial_folder_are_refused_never_deleted(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("precious too")

    def prepare(folder: Path) -> None:
        (folder / "link.pt").symlink_to(elsewhere)  # inside by name, outside once resolved
        (folder / "ckpt-4.json").write_text("{}")
    lines = [
        '{"step": 1, "val_error": 0.5}', '{"step": 1, "checkpoint": "../../../../victim.txt"}',
        '{"step": 2, "val_error": 0.6}', f'{{"step": 2, "checkpoint": "{victim}"}}',
        '{"step": 3, "val_error": 0.7}', '{"step": 3, "checkpoint": "link.pt"}',
        '{"step": 4, "val_error": 0.8}', '{"step": 4, "checkpoint": "ckpt-4.json"}',
    ]
    trial, _, recorded = _command_trial(tmp_path, lines, prepare=prepare)
    assert victim.read_text() == "precious" and elsewhere.read_text() == "precious too"
    refused = [n for n in trial.notes if "outside the trial folder, refused" in n]
    assert [n.split(":")[0] for n in refused] == ["metrics line 2", "metrics line 4", "metrics line 6"]
    assert [r[0] for r in recorded if r[0] is not None] == [4]  # only the checkpoint inside was adopted


def test_dropped_checkpoints_outside_the_folder_are_not_deleted(tmp_path: Path) -> None:
    from scitune.run.checkpoints import TrialFiles

    folder = tmp_path / "trial-0"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    files = TrialFiles(folder, CheckpointKeeper(1, "min"), lambda *a: None, resume_from=(1, str(victim)))
    (folder / "ckpt-2.json").write_text("{}")
    (folder / "ckpt-3.json").write_text("{}")
    files.adopt(2, folder / "ckpt-2.json")
    files.observe(2, 0.5)
    files.adopt(3, folder / "ckpt-3.json")
    files.observe(3, 0.9)
    assert victim.read_text() == "precious"  # dropped from the keeper, never unlinked
    assert sorted(p.name for p in folder.iterdir()) == ["ckpt-2.json", "ckpt-3.json"]
