"""Nothing a command trial started outlives it, however its runner dies (scitune.run.tree).

The trial is the shape of every launcher: ``bash wrap.sh`` running ``python3 trainer.py`` without
``exec``; the trainer ignores SIGTERM and starts a child that ignores SIGTERM too and one that left
its session (``setsid``). After each kind of kill no process of the trial is left (read from
/proc), and after the re-run every point of every trial comes from its last attempt.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scitune import Store
from scitune.run import tree

WRAPPER = 'echo "wrapper $$" >&2\npython3 trainer.py "$@"\necho "trainer ended" >&2\n'

TRAINER = r'''
import json, os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", stubborn])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
attempt = int(os.environ["SCITUNE_ATTEMPT"])
for step in range(1, int(os.environ["SCITUNE_MAX_TRAIN_STEPS"]) + 1):
    time.sleep(0.05)
    with open(os.environ["SCITUNE_METRICS_FILE"], "a") as f:
        f.write(json.dumps({"step": step, "val_error": 1.0 / step, "attempt": attempt}) + "\n")
'''


def trial_processes(root: Path) -> list[int]:
    """Live processes whose trial folder lies under ``root``."""
    needle = f"{tree.TRIAL_VARIABLE}={root}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in environ.split(b"\0")):
            found.append(int(entry))
    return found


def gone_within(root: Path, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := trial_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _experiment(tmp: Path, steps: int = 20, trials: int = 2) -> None:
    (tmp / "wrap.sh").write_text(WRAPPER)
    (tmp / "trainer.py").write_text(TRAINER)
    (tmp / "exp.yaml").write_text(textwrap.dedent(f"""\
        experiment: tree
        goal: Does every process of a trial end with it?
        command: [bash, wrap.sh]
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: 1}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-3, high: 1.0e-1, scale: log}}
        """))


def _runner(tmp: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    return subprocess.Popen([sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db"], cwd=tmp,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_points(tmp: Path, runner: subprocess.Popen, lines: int = 4) -> None:
    metrics = tmp / "scitune-artifacts" / "tree" / "default" / "trial-0" / "metrics-1.jsonl"
    deadline = time.monotonic() + 60
    while not (metrics.exists() and metrics.read_text().count("\n") >= lines):
        assert time.monotonic() < deadline and runner.poll() is None, runner.stderr.read().decode()[-2000:]
        time.sleep(0.05)


KILLS = {
    "sigkill-group": lambda pid: os.killpg(pid, signal.SIGKILL),
    "sigkill-main": lambda pid: os.kill(pid, signal.SIGKILL),
    "sigint-group": lambda pid: os.killpg(pid, signal.SIGINT),
    "sigterm-main": lambda pid: os.kill(pid, signal.SIGTERM),
}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("kill", list(KILLS))
def test_no_process_of_a_trial_outlives_its_runner(tmp_path: Path, kill: str) -> None:
    _experiment(tmp_path)
    artifacts = tmp_path / "scitune-artifacts"
    runner = _runner(tmp_path)
    _wait_for_points(tmp_path, runner)
    assert len(trial_processes(artifacts)) >= 5  # guard, bash, trainer, its two children
    KILLS[kill](runner.pid)
    runner.wait(timeout=60)
    left = gone_within(artifacts, 20)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"{kill}: trial processes left: {left}"
    if kill.startswith("sigkill"):
        try:  # the runner's workers died with it (or by their parent-death signal)
            os.killpg(runner.pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive or kill == "sigkill-main"

    rerun = _runner(tmp_path)
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode()[-2000:]
    assert gone_within(artifacts, 10) == []
    store = Store(str(tmp_path / "s.db"))
    trials = store.trials("tree")
    assert trials["state"].tolist() == ["completed", "completed"]
    assert trials.loc[trials["trial"] == 0, "attempts"].item() == 2  # killed once, run again
    points = store.metrics(trials["id"].tolist())
    for trial in trials.itertuples():
        mine = points[points["trial_id"] == trial.id]
        attempt = mine[mine["name"] == "attempt"]["value"]
        assert set(attempt) == {float(trial.attempts)}, f"{kill}: points of an earlier attempt in trial {trial.trial}"
        assert sorted(mine[mine["name"] == "val_error"]["step"]) == list(range(1, 21))
        assert trial.best_step == 20


def test_end_tree_kills_marked_processes_that_ignore_sigterm_and_left_the_session(tmp_path: Path) -> None:
    marker = str(tmp_path / "trial-0")
    env = {**os.environ, tree.TRIAL_VARIABLE: marker}
    code = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True);"
            "print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 10
    while len(tree.marked(tree.TRIAL_VARIABLE, marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(tree.marked(tree.TRIAL_VARIABLE, marker)) == 2
    tree.end_tree(proc.pid, marker, grace=0.2, wait=proc)
    assert gone_within(tmp_path, 5) == []
    assert proc.returncode == -signal.SIGKILL


def test_a_second_stop_signal_cannot_cut_the_kill(tmp_path: Path) -> None:
    """A SIGTERM that arrives during the kill is held until the SIGKILL step has run."""
    marker = str(tmp_path / "trial-0")
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, tree.TRIAL_VARIABLE: marker},
                            stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    received = []

    def handler(signum, _frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt), tree.stop_signals_held():
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-kill
            tree.end_tree(proc.pid, marker, grace=0.2, wait=proc)
            assert received == []  # held
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == [signal.SIGTERM] and proc.returncode == -signal.SIGKILL


def test_the_guard_reports_the_programs_exit(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-I", tree.__file__, "--", sys.executable, "-c", "raise SystemExit(3)"],
                        check=False)
    assert ok.returncode == 3
    killed = subprocess.run([sys.executable, "-I", tree.__file__, "--", sys.executable, "-c",
                             "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], check=False)
    assert killed.returncode == -signal.SIGKILL


def test_metrics_of_steps_beyond_the_budget_are_skipped_with_a_note(tmp_path: Path) -> None:
    from scitune.config.experiment import Objective
    from scitune.run.command import CommandProgram, MetricsReader
    from scitune.run.trial import Trial

    trial = Trial(study="s", number=0, params={}, seed=0, max_train_steps=30, eval_every=1,
                  objective=Objective(metric="val_error"))
    path = tmp_path / "metrics-1.jsonl"
    path.write_text(json.dumps({"step": 30, "val_error": 0.5}) + "\n" + json.dumps({"step": 116, "val_error": 0.1}) + "\n")
    CommandProgram(["true"], tmp_path)._ingest(trial, MetricsReader(path), tmp_path)
    assert trial.best == (30, 0.5)
    assert trial.notes == ["metrics line 2 skipped: step 116 is beyond max_train_steps (30)"]
