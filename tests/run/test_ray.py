"""The Ray executor on a two-node cluster (two Ray nodes on loopback), with faults."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import run_cli, stop_processes_naming
from scitune import Store

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ray = pytest.importorskip("ray", reason="the Ray executor needs the 'ray' extra")

TRAINER = '''
import json, os, time
from pathlib import Path

def train(hp, trial):
    import ray
    node = ray.get_runtime_context().get_node_id()
    log = Path(hp["log_dir"]) / "events.log"
    with open(log, "a") as f:
        f.write(json.dumps({"study": trial.study, "trial": trial.number, "node": node, "pid": os.getpid()}) + "\\n")
    if hp.get("fail"):
        raise RuntimeError("planted failure")
    start = 1
    resumed = trial.resume()
    if resumed:
        start = resumed[0] + 1
    for step in range(start, trial.max_train_steps + 1):
        time.sleep(hp["step_seconds"])
        if trial.should_eval(step):
            trial.report(step, train_loss=1.0 / step, val_error=hp["learning_rate"] / step)
            trial.save_checkpoint(step, {"step": step})
        victim = Path(hp["log_dir"]) / "victim.pid"
        if hp.get("die_once") and trial.number == 0 and step == 6 and not victim.exists():
            victim.write_text(str(os.getpid()))
            time.sleep(60)  # the test kills this Ray worker now
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RAY_ENV: dict[str, str] = {}  # what every process of the current cluster runs with (auth mode, token, temp folder)


@pytest.fixture(scope="module", params=["disabled", "token"])
def cluster(request):
    """A Ray head node and a second node, separate processes on loopback, one CPU each, with token
    authentication off and on. Independent of the machine's Ray state: its own temp folder
    (RAY_TMPDIR, short: Ray's socket paths must stay under 107 bytes), its own HOME (no
    ~/.ray/auth_token read or left behind) and RAY_AUTH_MODE (and, on, RAY_AUTH_TOKEN) set for
    every process started, the runs included. A head whose second node failed to join is stopped."""
    import secrets
    import tempfile

    ray_cli = shutil.which("ray") or pytest.fail("the ray command is missing")
    folder = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))
    (folder / "home").mkdir()
    env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(folder), "HOME": str(folder / "home"),
           "RAY_AUTH_MODE": request.param, "RAY_ADDRESS": ""}
    if request.param == "token":
        env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    full = {**os.environ, **env}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cli, "start", "--head", "--port", str(port), "--include-dashboard", "false", *common],
                       check=True, capture_output=True, env=full, timeout=180)
        subprocess.run([ray_cli, "start", "--address", address, *common],
                       check=True, capture_output=True, env=full, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        stop_processes_naming(folder)
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"the two-node Ray cluster did not start: {getattr(err, 'stderr', err)!r}"[-3000:])
    RAY_ENV.clear()
    RAY_ENV.update(env)
    yield address
    RAY_ENV.clear()
    stop_processes_naming(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _experiment(tmp: Path, name: str, *, trials: int = 3, steps: int = 10, fixed: str = "{step_seconds: 0.05}",
                command: bool = False) -> None:
    (tmp / "raytrainer.py").write_text(TRAINER)
    how = "train: raytrainer:train"
    if command:
        (tmp / "program.py").write_text(textwrap.dedent('''
            import os, time
            from pathlib import Path
            from scitune.training import client
            hp = client.hparams()
            (Path(hp["log_dir"]) / "pids").mkdir(exist_ok=True)
            (Path(hp["log_dir"]) / "pids" / str(os.getpid())).touch()
            for step in range(1, client.max_train_steps() + 1):
                time.sleep(hp.get("command_step_seconds", 0))
                if client.should_eval(step):
                    client.report(step, val_error=hp["learning_rate"] / step)
        '''))
        how = 'command: [python, program.py]'
    (tmp / "exp.yaml").write_text(textwrap.dedent(f"""\
        experiment: {name}
        goal: Does the work spread over the cluster?
        {how}
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: 2}}
        checkpoints: {{keep_best: 1}}
        resources: {{cpus: 1}}
        hyperparameters:
          scientific: {{width: [8, 16]}}
          nuisance:
            learning_rate: {{low: 1.0e-3, high: 1.0e-1, scale: log}}
          fixed: {fixed[:-1]}, log_dir: "{tmp}"}}
        """))


def _events(tmp: Path) -> list[dict]:
    log = tmp / "events.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _run(tmp: Path, address: str, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("run", "exp.yaml", "--store", "s.db", "--executor", "ray", "--address", address, *extra,
                   cwd=tmp, env=RAY_ENV, timeout=300)


def test_trials_spread_over_both_nodes_and_run_once(cluster: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "spread", trials=4, fixed="{step_seconds: 0.1}")
    result = _run(tmp_path, cluster)
    assert result.returncode == 0, result.stderr
    events = _events(tmp_path)
    assert Counter((e["study"], e["trial"]) for e in events) == {(s, n): 1 for s in ("width=8", "width=16") for n in range(4)}
    assert len({e["node"] for e in events}) == 2  # both nodes trained trials
    store = Store(str(tmp_path / "s.db"))
    trials = store.trials("spread")
    assert Counter(trials["state"]) == {"completed": 8}
    points = store.metrics(trials["id"].tolist())
    assert (points.groupby("trial_id").size() == 5 * 2).all() and points["trial_id"].nunique() == 8


@pytest.mark.parametrize("cluster", ["token"], indirect=True)  # auth on and off: the spread test covers both
def test_killed_ray_worker_reruns_its_trial_from_the_checkpoint(cluster: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "raykill", trials=2, steps=12, fixed="{step_seconds: 0.05, die_once: true}")
    runner = subprocess.Popen(
        [sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db", "--executor", "ray", "--address", cluster],
        cwd=tmp_path, stdout=subprocess.DEVNULL, env={**os.environ, **RAY_ENV},
        stderr=subprocess.PIPE,
    )
    victim = tmp_path / "victim.pid"
    deadline = time.monotonic() + 120
    while not victim.exists():
        assert time.monotonic() < deadline and runner.poll() is None, runner.stderr.read().decode() if runner.poll() else ""
        time.sleep(0.1)
    time.sleep(0.2)
    os.kill(int(victim.read_text()), signal.SIGKILL)
    assert runner.wait(timeout=240) == 0, runner.stderr.read().decode()
    store = Store(str(tmp_path / "s.db"))
    trials = store.trials("raykill")
    assert Counter(trials["state"]) == {"completed": 4}
    # The victim is whichever study's trial 0 reached step 6 first (both are claimed at once):
    # that one trial ran twice, every other once.
    again = trials[trials["attempts"] == 2]
    assert len(again) == 1 and (trials["attempts"] >= 1).all() and again.iloc[0]["trial"] == 0
    first = again.iloc[0]
    points = store.metrics([first["id"]])
    assert points[points["name"] == "val_error"]["step"].tolist() == [2, 4, 6, 8, 10, 12]  # no step twice
    runs = [e for e in _events(tmp_path) if (e["study"], e["trial"]) == (first["study"], 0)]
    assert len(runs) == 2


@pytest.mark.parametrize("cluster", ["token"], indirect=True)  # auth on and off: the spread test covers both
def test_killed_driver_resumes_on_the_next_run(cluster: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "raydriver", trials=4, steps=10, fixed="{step_seconds: 0.1}")
    runner = subprocess.Popen(
        [sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db", "--executor", "ray", "--address", cluster],
        cwd=tmp_path, stdout=subprocess.DEVNULL, env={**os.environ, **RAY_ENV},
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline
        if (tmp_path / "s.db").exists():
            store = Store(str(tmp_path / "s.db"))
            if store.experiments() and (store.trials("raydriver")["state"] == "completed").sum() >= 2:
                break
        time.sleep(0.1)
    runner.kill()
    runner.wait()
    before = store.trials("raydriver").set_index("id")
    done = before[before["state"] == "completed"]
    result = _run(tmp_path, cluster)
    assert result.returncode == 0, result.stderr
    after = store.trials("raydriver").set_index("id")
    assert Counter(after["state"]) == {"completed": 8}
    for trial_id, row in done.iterrows():
        assert after.loc[trial_id, "finished_at"] == row["finished_at"]  # not run again
    points = store.metrics(after.index.tolist())
    assert not points.duplicated(["trial_id", "name", "step"]).any()
    assert (points[points["name"] == "val_error"].groupby("trial_id").size() == 5).all()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("cluster", ["token"], indirect=True)  # auth on and off: the spread test covers both
def test_command_mode_on_ray_stops_on_sigterm_leaving_no_process_and_resumes(cluster: str, tmp_path: Path) -> None:
    """Command-mode trials on Ray; SIGTERM to the driver stops it (exit 130) with its trials marked
    interrupted and their programs ended; the next run finishes every trial."""
    _experiment(tmp_path, "rayterm", trials=2, steps=10, command=True, fixed="{command_step_seconds: 0.1}")
    runner = subprocess.Popen(
        [sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", "s.db", "--executor", "ray", "--address", cluster],
        cwd=tmp_path, stdout=subprocess.DEVNULL, env={**os.environ, **RAY_ENV}, stderr=subprocess.PIPE,
    )
    pids = tmp_path / "pids"
    deadline = time.monotonic() + 120
    while not pids.exists() or len(list(pids.iterdir())) < 2:  # both slots are training
        assert time.monotonic() < deadline and runner.poll() is None, runner.stderr.read().decode() if runner.poll() else ""
        time.sleep(0.1)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) == 130, runner.stderr.read().decode()
    trials = Store(str(tmp_path / "s.db")).trials("rayterm")
    assert "running" not in set(trials["state"]) and (trials["state"] == "interrupted").sum() >= 1
    deadline = time.monotonic() + 20
    while any(_alive(int(p.name)) for p in pids.iterdir()):  # the trials' programs stopped with them
        assert time.monotonic() < deadline, [p.name for p in pids.iterdir() if _alive(int(p.name))]
        time.sleep(0.2)
    result = _run(tmp_path, cluster)
    assert result.returncode == 0, result.stderr
    trials = Store(str(tmp_path / "s.db")).trials("rayterm")
    assert Counter(trials["state"]) == {"completed": 4} and set(trials["best_step"]) == {10}


@pytest.mark.parametrize("cluster", ["token"], indirect=True)  # auth on and off: the spread test covers both
def test_first_trials_all_failing_stop_the_run_early(cluster: str, tmp_path: Path) -> None:
    _experiment(tmp_path, "rayfail", trials=6, fixed="{step_seconds: 0.01, fail: true}")
    result = _run(tmp_path, cluster)
    assert result.returncode == 1 and "stopped early" in result.stderr, result.stderr
    states = Store(str(tmp_path / "s.db")).trials("rayfail")["state"]
    assert (states == "failed").sum() >= 3 and set(states) <= {"failed", "pending", "interrupted"}
    assert (states != "failed").sum() >= 4  # most of the 12 trials never ran
