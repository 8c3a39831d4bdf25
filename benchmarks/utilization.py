"""Worker utilization: how much of the workers' wall time goes to training.

Two local workers (``LocalRunner(..., workers=2)``) run trials that each "train" by sleeping
``train_seconds`` in ``evals`` slices, reporting three metrics after each. Utilization = busy trial
time (measured inside the training function) / (workers x wall time of ``prepare`` + ``run``).
The store's own timestamps split the rest into start-up, per-trial bookkeeping and shutdown.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Result, experiment_yaml, preload, ratio, scratch, sqlite_url

NUISANCE = "    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}\n"
BUSY_LOG_ENV = "SCITUNE_BENCH_BUSY_LOG"


def sleeping_train(hp: dict, trial: Any) -> None:
    """Sleep-train: ``max_train_steps`` evaluations, ``hp['train_seconds']`` in all, then append
    this trial's (start, end) to the busy log."""
    start = time.time()
    slice_s = hp["train_seconds"] / trial.max_train_steps
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(slice_s)
        trial.report(step, train_loss=1.0 / step, val_loss=1.1 / step, val_error=0.5 / step)
    end = time.time()
    with open(os.environ[BUSY_LOG_ENV], "a") as log:  # one short append per trial: atomic enough
        log.write(f"{start!r} {end!r}\n")


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    from scitune.config import parse_experiment
    from scitune.run import LocalRunner, prepare
    from scitune.store import Store

    preload("scipy.stats")  # scitune imports it when it first draws points: not runner overhead
    workers, trials, train_seconds, evals = (2, 6, 0.2, 10) if quick else (2, 40, 0.5, 50)
    result = Result(
        "Worker utilization: 2 local workers, sleep-training trials",
        {"workers": workers, "trials": trials, "train_seconds": train_seconds, "evaluations_per_trial": evals},
    )
    text = experiment_yaml("utilization", train="benchmarks.utilization:sleeping_train", trials=trials, steps=evals,
                           eval_every=1, nuisance=NUISANCE) + f"  fixed: {{train_seconds: {train_seconds}}}\n"
    experiment = parse_experiment(text)
    with scratch(workdir, "utilization") as folder:
        log = folder / "busy.log"
        log.touch()
        os.environ[BUSY_LOG_ENV] = str(log)
        try:
            start = time.time()
            store = Store(sqlite_url(folder / "utilization.db"))
            experiment_id = prepare(store, experiment, text)
            run_start = time.time()
            summary = LocalRunner(store, experiment, sleeping_train, workers=workers).run(experiment_id)
            end = time.time()
        finally:
            del os.environ[BUSY_LOG_ENV]
        spans = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
        table = store.trials(experiment.name)
        store.close()

    wall = end - start
    busy = sum(b - a for a, b in spans)
    claimed = float((table["finished_at"] - table["started_at"]).sum())  # claim to finish, per trial
    util = result.figure("utilization", busy / (workers * wall), "fraction")
    result.figure("wall_s", wall, "s")
    result.figure("ideal_wall_s", busy / workers, "s")
    result.figure("busy_train_s", busy, "s")
    result.figure("nominal_busy_s", trials * train_seconds, "s")
    result.figure("prepare_s", run_start - start, "s")
    result.figure("startup_s", min(a for a, _ in spans) - start, "s")  # until the first trial trains
    result.figure("shutdown_s", end - max(b for _, b in spans), "s")  # after the last trial trained
    result.figure("per_trial_bookkeeping_ms", (claimed - busy) / trials * 1000, "ms")
    result.figure("runner_overhead_fraction", 1 - util, "fraction")
    result.figure("utilization_vs_nominal", ratio(trials * train_seconds, workers * wall), "fraction")
    result.goal("utilization >= 95% (busy trial time / (workers x wall))", util, 0.95, ">=")
    if summary.states["completed"] != trials or len(spans) != trials:
        result.notes.append(f"{summary.states['completed']} of {trials} trials completed, {len(spans)} logged")
    return result.as_dict()
