"""The Ray executor against the local one: worker utilization and per-trial overhead.

A Ray cluster of two nodes on this machine (``ray start --head`` and a second ``ray start``, one CPU
each, loopback), then the same two workloads through ``RayRunner`` and ``LocalRunner`` with two
workers: sleep-training trials (utilization = busy trial time / (2 x wall time)) and trials that
only report their objective (wall time per trial). Not a separate module to run alone:
``python -m benchmarks --only ray_executor``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Result, experiment_yaml, preload, ratio, scratch, sqlite_url

NUISANCE = "    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}\n"


def sleeping_train(hp: dict, trial: Any) -> None:
    """Sleep ``hp['train_seconds']`` in ``max_train_steps`` slices, reporting after each; append
    (start, end) to ``hp['busy_log']`` (a path: Ray workers do not see the driver's environment)."""
    start = time.time()
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp["train_seconds"] / trial.max_train_steps)
        trial.report(step, train_loss=1.0 / step, val_error=0.5 / step)
    with open(hp["busy_log"], "a") as log:
        log.write(f"{start!r} {time.time()!r}\n")


def noop_train(hp: dict, trial: Any) -> None:
    trial.report(1, val_error=hp["learning_rate"])


def _ray_env() -> dict[str, str]:
    """What every Ray process of this benchmark runs with: its own temp folder (short: Ray's socket
    paths must stay under 107 bytes), its own HOME (no ~/.ray/auth_token read or left behind) and
    token authentication off, so the machine's Ray state neither breaks nor is changed by it."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
    (folder / "home").mkdir()
    return {"RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(folder), "HOME": str(folder / "home"),
            "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""}


def _cluster(env: dict[str, str]) -> str:
    ray = shutil.which("ray")
    if ray is None:
        raise RuntimeError("the ray command is missing: pip install 'scitune[ray]'")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    full = {**os.environ, **env}
    subprocess.run([ray, "start", "--head", "--port", str(port), "--include-dashboard", "false", *common],
                   check=True, capture_output=True, env=full, timeout=300)
    subprocess.run([ray, "start", "--address", f"127.0.0.1:{port}", *common],
                   check=True, capture_output=True, env=full, timeout=300)
    return f"127.0.0.1:{port}"


def _stop_cluster(folder: Path) -> None:
    """Stop, by pid, every process whose command line names this benchmark's Ray folder: never
    ``ray stop``, which would stop every Ray on the machine."""
    mine = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if str(folder).encode() in (proc / "cmdline").read_bytes():
                    mine.append(int(proc.name))
            except OSError:
                pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(1)
    shutil.rmtree(folder, ignore_errors=True)


def _one(executor: str, address: str | None, folder: Path, name: str, text: str) -> tuple[float, Any]:
    from scitune.config import parse_experiment
    from scitune.run import LocalRunner, prepare
    from scitune.run.ray_executor import RayRunner
    from scitune.store import Store

    experiment = parse_experiment(text)
    start = time.time()
    store = Store(sqlite_url(folder / f"{name}.db"))
    experiment_id = prepare(store, experiment, text)
    if executor == "ray":
        runner: Any = RayRunner(store, experiment, address=address, max_concurrency=2)
    else:
        train = sleeping_train if "sleeping" in experiment.train else noop_train
        runner = LocalRunner(store, experiment, train, workers=2)
    summary = runner.run(experiment_id)
    wall = time.time() - start
    store.close()
    return wall, summary


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    preload("scipy.stats")
    trials, train_seconds, evals, noops = (6, 0.2, 10, 20) if quick else (40, 0.5, 50, 200)
    result = Result(
        "Ray executor (2 local nodes) vs local executor (2 workers)",
        {"sleep_trials": trials, "train_seconds": train_seconds, "evaluations_per_trial": evals,
         "noop_trials": noops, "ray_nodes": 2, "cpus_per_node": 1},
    )
    env = _ray_env()
    saved = {k: os.environ.get(k) for k in env}
    with scratch(workdir, "ray_executor") as folder:
        try:
            address = _cluster(env)
            os.environ.update(env)  # the driver and the runs' Ray tasks: the same folder, home and auth mode
            import ray

            ray.init(address=address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
            for executor in ("local", "ray"):
                log = folder / f"busy-{executor}.log"
                log.touch()
                text = experiment_yaml(
                    f"sleep-{executor}", train="benchmarks.ray_executor:sleeping_train", trials=trials,
                    steps=evals, eval_every=1, nuisance=NUISANCE,
                ) + f'  fixed: {{train_seconds: {train_seconds}, busy_log: "{log}"}}\n'
                wall, summary = _one(executor, address, folder, f"sleep-{executor}", text)
                spans = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
                busy = sum(b - a for a, b in spans)
                result.figure(f"{executor}_utilization", busy / (2 * wall), "fraction")
                result.figure(f"{executor}_sleep_wall_s", wall, "s")
                if summary.states["completed"] != trials:
                    result.notes.append(f"{executor}: {summary.states['completed']} of {trials} sleep trials completed")
                text = experiment_yaml(f"noop-{executor}", train="benchmarks.ray_executor:noop_train", trials=noops,
                                       steps=1, eval_every=1, nuisance=NUISANCE)
                wall, summary = _one(executor, address, folder, f"noop-{executor}", text)
                result.figure(f"{executor}_ms_per_trial", wall / noops * 1000, "ms")
                if summary.states["completed"] != noops:
                    result.notes.append(f"{executor}: {summary.states['completed']} of {noops} no-op trials completed")
            ray.shutdown()
        finally:
            _stop_cluster(Path(env["RAY_TMPDIR"]))
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    result.figure("ray_vs_local_overhead", ratio(result.figures["ray_ms_per_trial"], result.figures["local_ms_per_trial"]),
                  "x")
    result.notes.append("Each Ray task imports scitune, opens the store and claims its own trial: the per-trial figure "
                        "is dominated by that start-up, which a long training run amortizes.")
    return result.as_dict()
