"""The Ray executor against the local one: worker utilization and per-trial overhead.

A Ray cluster of two nodes on this machine (``ray start --head`` and a second ``ray start``, one CPU
each, loopback), then the same two workloads through ``RayRunner`` and ``LocalRunner`` with two
workers: sleep-training trials (utilization = busy trial time / (2 x wall time)) and trials that
only report their objective (wall time per trial). Beside them, on the same cluster in the same
run, Ray Tune itself (``tune.Tuner``) on the sleep-training trials, two at a time, its storage in
this benchmark's temp folder. Not a separate module to run alone:
``python -m benchmarks --only ray_executor``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Result, experiment_yaml, preload, ratio, scratch, sqlite_url, stop_processes_naming

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
    """Stop this benchmark's cluster by pid (never ``ray stop``) and remove its folder."""
    stop_processes_naming(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _tune(folder: Path, trials: int, train_seconds: float, evals: int) -> tuple[float, float, int]:
    """Ray Tune on the sleep-training workload: ``trials`` function trials, each sleeping
    ``train_seconds`` in ``evals`` slices and reporting after each, two at a time, on the cluster
    the driver is connected to. Its results go to a folder under ``folder`` (removed with it).
    Returns the wall time, the busy trial time and how many trials ended without error."""
    from ray import tune

    log = folder / "busy-tune.log"
    log.touch()

    def trainable(config: dict) -> None:  # defined here: pickled by value, nothing to import on a node
        import time as clock

        start = clock.time()
        for step in range(1, config["steps"] + 1):
            clock.sleep(config["train_seconds"] / config["steps"])
            tune.report({"val_error": 0.5 / step, "step": step})
        with open(config["busy_log"], "a") as out:
            out.write(f"{start!r} {clock.time()!r}\n")

    space = {"learning_rate": tune.loguniform(1e-4, 1e-1), "steps": evals, "train_seconds": train_seconds,
             "busy_log": str(log)}
    start = time.time()
    tuner = tune.Tuner(
        trainable, param_space=space,
        tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=2, metric="val_error", mode="min"),
        run_config=tune.RunConfig(storage_path=str(folder / "tune-results"), name="sleep-tune", verbose=0),
    )
    grid = tuner.fit()
    wall = time.time() - start
    ok = sum(1 for r in grid if r.error is None)
    busy = sum(b - a for a, b in (tuple(map(float, line.split())) for line in log.read_text().splitlines()))
    return wall, busy, ok


# A new Ray job (its own driver process) on the benchmark's cluster: two tasks, one per node (each
# holds its node's only CPU a moment), each returning when it started; with "scitune", when it has
# imported the Ray executor's task module, as a scitune task does first. Prints the seconds from the first
# submission to each start: what any Ray job pays before its first task runs, and scitune's share.
JOB_START = r"""
import json, sys, time
import ray
ray.init(address=sys.argv[1], include_dashboard=False, logging_level="ERROR", log_to_driver=False)
def task(scitune):
    if scitune:
        import scitune.run.ray_task
    start = time.time()
    time.sleep(0.3)
    return start
remote = ray.remote(task).options(num_cpus=1, max_retries=0)
t0 = time.time()
starts = ray.get([remote.remote(sys.argv[2] == "scitune") for _ in range(2)])
print(json.dumps(sorted(s - t0 for s in starts)))
"""


def _job_start(address: str, env: dict[str, str], what: str) -> list[float]:
    import json
    import sys

    done = subprocess.run([sys.executable, "-c", JOB_START, address, what], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one(executor: str, address: str | None, folder: Path, name: str, text: str) -> tuple[float, Any, float]:
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
    return wall, summary, start


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
            def sleep_run(executor: str, label: str) -> None:
                log = folder / f"busy-{label}.log"
                log.touch()
                text = experiment_yaml(
                    f"sleep-{label}", train="benchmarks.ray_executor:sleeping_train", trials=trials,
                    steps=evals, eval_every=1, nuisance=NUISANCE,
                ) + f'  fixed: {{train_seconds: {train_seconds}, busy_log: "{log}"}}\n'
                wall, summary, start = _one(executor, address, folder, f"sleep-{label}", text)
                spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
                busy = sum(b - a for a, b in spans)
                # When the two slots' first trials started, after the run's start (the mean of both).
                result.figure(f"{label}_trials_start_s", sum(a for a, _ in spans[:2]) / 2 - start, "s")
                result.figure(f"{label}_utilization", busy / (2 * wall), "fraction")
                result.figure(f"{label}_sleep_wall_s", wall, "s")
                if summary.states["completed"] != trials:
                    result.notes.append(f"{label}: {summary.states['completed']} of {trials} sleep trials completed")

            def noop_run(executor: str, label: str) -> None:
                text = experiment_yaml(f"noop-{label}", train="benchmarks.ray_executor:noop_train", trials=noops,
                                       steps=1, eval_every=1, nuisance=NUISANCE)
                wall, summary, _ = _one(executor, address, folder, f"noop-{label}", text)
                result.figure(f"{label}_ms_per_trial", wall / noops * 1000, "ms")
                if summary.states["completed"] != noops:
                    result.notes.append(f"{label}: {summary.states['completed']} of {noops} no-op trials completed")

            sleep_run("local", "local")
            noop_run("local", "local")
            # The first Ray work of this driver's job: each Ray worker process imports scitune and
            # the training module first (every `scitune run --executor ray` is a new job: this one).
            sleep_run("ray", "ray_first")
            # The same workload again, the job's workers already warm (the next experiment run
            # from the same Python session).
            noop_run("ray", "ray")
            sleep_run("ray", "ray")
            # What a new job pays on this cluster before its first task runs, Ray's own part and with
            # scitune's task module imported: the floor under ray_first_first_start_s.
            # Alternated, three jobs each: a job's start depends on what the jobs before it left.
            means: dict[str, list[float]] = {"ray": [], "scitune": []}
            for _ in range(3):
                for what, got in means.items():
                    starts = _job_start(address, env, what)
                    got.append(sum(starts) / len(starts))
            for what, got in means.items():
                result.figure(f"job_start_{what}_s", sorted(got)[1], "s")
            try:
                wall, busy, ok = _tune(folder, trials, train_seconds, evals)
            except ImportError as error:  # Ray without its tune extra: ours measured, the peer not
                result.notes.append(f"Ray Tune not measured ({error}): pip install -e '.[bench]'")
            else:
                result.figure("tune_utilization", busy / (2 * wall), "fraction")
                result.figure("tune_sleep_wall_s", wall, "s")
                if ok != trials:
                    result.notes.append(f"ray tune: {ok} of {trials} sleep trials ended without error")
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
    result.goal("Ray executor utilization, 40 x 0.5 s trials over two nodes, workers warm (issue 18, goal 4)",
                result.figures["ray_utilization"], 0.95, ">=")
    result.goal("Ray executor utilization, the same, as the job's first Ray work (workers import scitune)",
                result.figures["ray_first_utilization"], 0.95, ">=")
    result.goal("Ray executor wall time per no-op trial, ms (issue 18, goal 4)",
                result.figures["ray_ms_per_trial"], 2.0, "<=")
    result.figure("ray_vs_tune_wall", ratio(result.figures["ray_sleep_wall_s"], result.figures["tune_sleep_wall_s"]), "x")
    result.notes.append("One long Ray task per trial slot claims trials from the store in a loop (the local workers' "
                        "loop): Ray's scheduling and each task's start-up (importing scitune, opening the store) are "
                        "paid once per slot, not once per trial. ray_first_*: the job's first Ray work, each Ray worker "
                        "importing scitune first (a `scitune run --executor ray` is always that); ray_*: the same "
                        "driver's next runs, its workers warm. *_trials_start_s: the mean time from a run's start to its two "
                        "slots' first trials starting. job_start_ray_s: a new Ray job's two first tasks (one per node, "
                        "doing nothing) start this long after they are submitted, on average (median of 3 jobs): "
                        "Ray's own cost, which a job's first run pays whatever it runs; job_start_scitune_s: the same "
                        "tasks importing scitune's Ray task module first.")
    return result.as_dict()
