"""The local runner: trial states, every metric point kept, resume after a kill, shared work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import run_cli
from planted import expected_loss, experiment_yaml
from scitune import Store, load_experiment, run_experiment


def _run(workdir: Path, text: str, workers: int = 1, store: str = "s.db"):
    (workdir / "exp.yaml").write_text(text)
    experiment, config = load_experiment(workdir / "exp.yaml")
    db = Store(str(workdir / store))
    summary = run_experiment(experiment, db, config_text=config, config_path=workdir / "exp.yaml", workers=workers)
    return experiment, db, summary


def test_states_completed_failed_infeasible(workdir: Path) -> None:
    text = experiment_yaml(
        "states", trials=2, scientific="{behaviour: [ok, crash, nan, quiet, die]}", fixed="{width: 8}"
    )
    _, db, summary = _run(workdir, text, workers=2)
    trials = db.trials("states")
    by_study = {study: group for study, group in trials.groupby("study")}

    assert set(by_study["behaviour=ok"]["state"]) == {"completed"}
    crash = by_study["behaviour=crash"]
    assert set(crash["state"]) == {"failed"}
    assert all(r == "RuntimeError: boom at step 3" for r in crash["reason"])
    assert all("Traceback" in tb and "boom at step 3" in tb for tb in crash["traceback"])
    nan = by_study["behaviour=nan"]
    assert set(nan["state"]) == {"infeasible"}
    assert all(r == "val_error is nan at step 4 (also train_loss, val_loss)" for r in nan["reason"])
    quiet = by_study["behaviour=quiet"]
    assert set(quiet["state"]) == {"failed"}
    assert all("'val_error' was never reported" in r for r in quiet["reason"])
    die = by_study["behaviour=die"]
    assert set(die["state"]) == {"failed"}
    assert all("worker process died (killed by SIGKILL)" in r for r in die["reason"])
    # The study goes on: every trial ended, none left pending or running.
    assert summary.states["pending"] == summary.states["running"] == 0
    assert summary.states["completed"] == 2 and summary.states["failed"] == 6 and summary.states["infeasible"] == 2


def test_every_metric_point_is_stored_and_best_is_retrospective(workdir: Path) -> None:
    experiment, db, _ = _run(workdir, experiment_yaml("points", trials=4, steps=9, eval_every=2))
    trials = db.trials("points")
    assert set(trials["state"]) == {"completed"}
    points = db.metrics(trials["id"].tolist())
    eval_steps = [2, 4, 6, 8, 9]  # every eval_every steps and the last one
    for trial in trials.itertuples():
        mine = points[points["trial_id"] == trial.id]
        assert Counter(mine["name"]) == {"train_loss": 5, "val_loss": 5, "val_error": 5}
        train_loss = mine[mine["name"] == "train_loss"].sort_values("step")
        assert train_loss["step"].tolist() == eval_steps
        lr = trial.params["learning_rate"]
        assert train_loss["value"].tolist() == pytest.approx([expected_loss(lr, s) for s in eval_steps])
        # val_error falls monotonically here, so the best step is the last evaluation.
        assert trial.best_step == 9
        assert trial.best_value == pytest.approx(expected_loss(lr, 9) / 10)
    # Hyperparameters: fixed, scientific and nuisance values are all recorded per trial.
    first = trials.iloc[0]["params"]
    assert set(first) == {"behaviour", "width", "learning_rate"}
    assert experiment.space["learning_rate"].contains(first["learning_rate"])


def test_studies_share_points_and_seeds(workdir: Path) -> None:
    _, db, _ = _run(workdir, experiment_yaml("paired", trials=4))
    trials = db.trials("paired")
    a = trials[trials["study"] == "width=8"].sort_values("trial")
    b = trials[trials["study"] == "width=16"].sort_values("trial")
    assert [p["learning_rate"] for p in a["params"]] == [p["learning_rate"] for p in b["params"]]
    assert a["seed"].tolist() == b["seed"].tolist()
    assert len(set(a["seed"])) == 4


def test_enlarging_a_study_keeps_its_first_trials(workdir: Path) -> None:
    _, db, _ = _run(workdir, experiment_yaml("grow", trials=3))
    before = db.trials("grow").set_index(["study", "trial"])
    _, db, summary = _run(workdir, experiment_yaml("grow", trials=5))
    after = db.trials("grow").set_index(["study", "trial"])
    assert len(after) == 10 and summary.states["completed"] == 10
    for key, row in before.iterrows():
        assert after.loc[key, "params"] == row["params"]
        assert after.loc[key, "finished_at"] == row["finished_at"]  # not run again


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _states(store_path: Path, name: str) -> Counter:
    if not store_path.exists():
        return Counter()
    db = Store(str(store_path))
    try:
        return Counter(db.trials(name)["state"]) if db.experiments() else Counter()
    finally:
        db.close()


def _start_runner(workdir: Path, log: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "SCITUNE_TEST_LOG": str(log)}
    env.pop("SCITUNE_STORE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db", *args],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def _log_events(log: Path) -> Counter:
    return Counter(tuple(line.split()[:3]) for line in log.read_text().splitlines())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it no longer runs.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("kill_group", [True, False], ids=["runner-and-workers", "runner-only"])
def test_resume_after_sigkill(workdir: Path, kill_group: bool) -> None:
    text = experiment_yaml("killed", trials=6, steps=10, eval_every=2, fixed="{behaviour: ok, step_seconds: 0.03}")
    (workdir / "exp.yaml").write_text(text)
    log = workdir / "events.log"
    runner = _start_runner(workdir, log, "--workers", "2")
    _wait_for(lambda: _states(workdir / "s.db", "killed")["completed"] >= 3)
    os.killpg(runner.pid, signal.SIGKILL) if kill_group else os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    workers = [int(line.split()[3]) for line in log.read_text().splitlines()]
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=30)  # no orphan keeps training

    db = Store(str(workdir / "s.db"))
    snapshot = db.trials("killed").set_index("id")
    done_before = snapshot[snapshot["state"] == "completed"]
    assert 3 <= len(done_before) < 12

    resumed = run_cli("run", "exp.yaml", "--store", "s.db", cwd=workdir, env={"SCITUNE_TEST_LOG": str(log)})
    assert resumed.returncode == 0, resumed.stderr
    final = db.trials("killed").set_index("id")
    assert set(final["state"]) == {"completed"} and len(final) == 12
    starts = _log_events(log)
    for trial_id, row in done_before.iterrows():
        # Completed before the kill: kept as it was, never trained again.
        assert final.loc[trial_id, "finished_at"] == row["finished_at"]
        assert starts[("start", row["study"], str(row["trial"]))] == 1
    for row in final.itertuples():
        assert starts[("end", row.study, str(row.trial))] >= 1
    points = db.metrics(final.index.tolist())
    per_trial = points.groupby("trial_id").size()
    assert (per_trial == 5 * 3).all() and len(per_trial) == 12  # every point of every completed trial, once


@pytest.mark.slow
def test_two_runners_share_the_work(workdir: Path) -> None:
    text = experiment_yaml("shared", trials=8, steps=6, eval_every=2, fixed="{behaviour: ok, step_seconds: 0.02}")
    (workdir / "exp.yaml").write_text(text)
    log = workdir / "events.log"
    runners = [_start_runner(workdir, log) for _ in range(2)]
    for runner in runners:
        assert runner.wait(timeout=120) == 0, runner.stderr.read().decode()
    events = _log_events(log)
    starts = [k for k in events if k[0] == "start"]
    assert len(starts) == 16 and all(events[k] == 1 for k in starts)  # every trial exactly once
    pids = {line.split()[3] for line in log.read_text().splitlines()}
    assert len(pids) == 2  # both runners trained some trials
    assert _states(workdir / "s.db", "shared") == Counter({"completed": 16})


@pytest.mark.slow
def test_sigterm_stops_children_and_marks_interrupted(workdir: Path) -> None:
    text = experiment_yaml("stopped", trials=6, steps=20, eval_every=5, fixed="{behaviour: ok, step_seconds: 0.03}")
    (workdir / "exp.yaml").write_text(text)
    log = workdir / "events.log"
    runner = _start_runner(workdir, log, "--workers", "2")
    _wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
    os.kill(runner.pid, signal.SIGTERM)
    assert runner.wait(timeout=60) == 130
    assert "run the same command again to resume" in runner.stderr.read().decode()
    workers = {int(line.split()[3]) for line in log.read_text().splitlines()}
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10)
    states = _states(workdir / "s.db", "stopped")
    assert states["interrupted"] >= 1 and states["running"] == 0
    resumed = run_cli("run", "exp.yaml", "--store", "s.db", "--workers", "2", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert _states(workdir / "s.db", "stopped") == Counter({"completed": 12})


@pytest.mark.slow
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_deleted_or_replaced_during_a_run_stops_it(workdir: Path, how: str) -> None:
    text = experiment_yaml("vanish", trials=20, steps=10, eval_every=2, fixed="{behaviour: ok, step_seconds: 0.05}")
    (workdir / "exp.yaml").write_text(text)
    runner = _start_runner(workdir, workdir / "events.log")
    _wait_for(lambda: _states(workdir / "s.db", "vanish")["completed"] >= 1)
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"s.db{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        Store(str(workdir / "s.db")).close()  # another, empty store under the same name
    assert runner.wait(timeout=60) == 2
    lines = runner.stderr.read().decode().strip().splitlines()
    assert lines[-1] == f"error: store {workdir / 's.db'} was {'deleted' if how == 'deleted' else 'replaced by another file'} " \
                        "while this run used it; the run stopped"
    assert not any(line.startswith("Traceback") for line in lines)


@pytest.mark.slow
def test_a_full_disk_ends_the_run_with_one_line(workdir: Path) -> None:
    """The file-size limit (ulimit -f) stands in for a full disk: SQLite's writes fail alike."""
    (workdir / "exp.yaml").write_text(experiment_yaml("full", trials=200, steps=200, eval_every=1))
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    result = subprocess.run(
        ["bash", "-c", f"trap '' XFSZ; ulimit -f 300; exec {sys.executable} -m scitune run exp.yaml --store s.db"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: store sqlite:///{workdir / 's.db'} could not be written by a worker (disk full, or "
                     "the store is read-only); the run stopped"] or (
        len(lines) == 1 and "cannot be written" in lines[0]), result.stderr[-3000:]


def test_the_progress_poll_of_a_large_experiment_is_read_less_often() -> None:
    """The runner's poll counts every trial: an experiment of 100,000 is polled every 2.5 s, not
    every 0.2 s, so the poll's cost per trial does not grow with the experiment."""
    from scitune.run.local import POLL_TRIALS_PER_SECOND, poll_delay

    assert poll_delay(0.2, 60) == 0.2 and poll_delay(0.2, 8_000) == 0.2  # as often as asked
    assert poll_delay(0.2, 100_000) == 100_000 / POLL_TRIALS_PER_SECOND == 2.5
    assert poll_delay(0.2, 200_000) / poll_delay(0.2, 100_000) == 2  # in proportion: flat per trial


def test_a_run_whose_poll_is_stretched_still_finishes_every_trial(workdir: Path, monkeypatch) -> None:
    """A stretched poll (a huge experiment) never stretches the run: a worker that exits wakes the
    runner at once, and every trial completes."""
    from scitune.run import local

    monkeypatch.setattr(local, "POLL_TRIALS_PER_SECOND", 1)  # 6 trials: a poll every 6 s
    _, _, summary = _run(workdir, experiment_yaml("slowpoll", trials=3, steps=2, eval_every=1), workers=2)
    assert summary.states["completed"] == 6


INTERRUPTED_ONCE = '''
import time
from scitune.errors import Interrupted

def train(hp, trial):
    trial.report(1, val_error=0.5)
    if trial.attempt == 1:
        time.sleep(0.6)  # the runner polls (every 0.2 s) while the trial runs: nothing left to claim
        raise Interrupted("test")  # as a SIGTERM in the worker would: the trial is recorded interrupted
'''


def test_a_trial_interrupted_in_a_worker_runs_again_even_when_its_worker_is_reaped_late(workdir: Path,
                                                                                        monkeypatch) -> None:
    """A worker's sentinel is ready as it exits, a moment before the process can be reaped. The
    runner must count the trials after it sees the worker gone, or the interrupted trial that worker
    left is not claimed again in this run. Here every worker answers "still running" to the first
    question after it exited (the late reaping, made certain), then its exit code."""
    import multiprocessing.process

    real = multiprocessing.process.BaseProcess.exitcode
    asked: set[int] = set()

    def reaped_late(self):
        code = real.fget(self)
        if code is not None and id(self) not in asked:
            asked.add(id(self))
            return None
        return code

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "exitcode", property(reaped_late))
    (workdir / "once.py").write_text(INTERRUPTED_ONCE)
    text = experiment_yaml("late-reap", trials=1, steps=1, eval_every=1, scientific="{width: [8]}")
    _, db, summary = _run(workdir, text.replace("toytrainer:train", "once:train"))
    assert summary.states["completed"] == 1, summary.states
    assert db.trials("late-reap")["attempts"].tolist() == [2]
