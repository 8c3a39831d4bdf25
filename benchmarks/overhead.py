"""Per-trial overhead: what each tool spends around a training function that does nothing.

scitune: ``prepare`` + ``LocalRunner(..., workers=1).run`` on a SQLite store, the train function
reporting its objective once. Optuna: ``create_study`` on a SQLite storage + ``study.optimize`` with
its QMC (Halton) sampler, and with its random sampler. The same six parameters (log, linear, int,
log-int, categorical) in both. Time per trial = the whole run (store creation included) / trials.
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Result,
    experiment_yaml,
    optuna_space,
    preload,
    quiet_optuna,
    ratio,
    scratch,
    sqlite_url,
    timed,
)

GOAL_RATIO = 1 / 20


def noop_train(hp: dict, trial: Any) -> None:
    trial.report(1, val_error=0.5)


def _gaps_ms(finished: list[float]) -> tuple[float, float]:
    """Mean time between consecutive trial completions over the first and the last tenth of a run:
    does the cost per trial grow as the study grows?"""
    finished = sorted(finished)
    gaps = [b - a for a, b in itertools.pairwise(finished)]
    tenth = max(1, len(gaps) // 10)
    return statistics.fmean(gaps[:tenth]) * 1000, statistics.fmean(gaps[-tenth:]) * 1000


def _scitune(n: int, workdir: Path) -> dict[str, Any]:
    from scitune.config import parse_experiment
    from scitune.run import LocalRunner, prepare
    from scitune.store import Store

    text = experiment_yaml("overhead", train="benchmarks.overhead:noop_train", trials=n, steps=1, eval_every=1)
    experiment = parse_experiment(text)
    with timed() as total:
        store = Store(sqlite_url(workdir / "overhead-scitune.db"))
        with timed() as prep:
            experiment_id = prepare(store, experiment, text)
        with timed() as run:
            summary = LocalRunner(store, experiment, noop_train, workers=1).run(experiment_id)
    finished = [float(t) for t in store.trials(experiment.name)["finished_at"]]
    store.close()
    first, last = _gaps_ms(finished)
    return {"total_s": total["s"], "prepare_s": prep["s"], "run_s": run["s"], "completed": summary.states["completed"],
            "first_tenth_ms": first, "last_tenth_ms": last}


def _optuna(n: int, workdir: Path, name: str) -> dict[str, Any]:
    optuna = quiet_optuna()
    sampler = (optuna.samplers.QMCSampler(qmc_type="halton", seed=0) if name == "qmc"
               else optuna.samplers.RandomSampler(seed=0))

    def objective(trial: Any) -> float:
        optuna_space(trial)
        return 0.5

    with timed() as total:
        study = optuna.create_study(storage=sqlite_url(workdir / f"overhead-optuna-{name}.db"), sampler=sampler,
                                    study_name="overhead")
        study.optimize(objective, n_trials=n)
    trials = study.trials
    completed = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    first, last = _gaps_ms([t.datetime_complete.timestamp() for t in trials])
    return {"total_s": total["s"], "completed": completed, "first_tenth_ms": first, "last_tenth_ms": last}


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    n = 20 if quick else 1000
    result = Result(
        "Per-trial overhead: no-op training, 6-dim space, SQLite, one worker",
        {"trials": n, "dimensions": 6, "workers": 1, "storage": "SQLite file (WAL for scitune, Optuna's default)"},
    )
    quiet_optuna()
    preload("scitune.run", "scipy.stats", "optuna.samplers")  # no clock below measures an import

    with scratch(workdir, "overhead") as folder:
        ours = _scitune(n, folder)
        theirs = {name: _optuna(n, folder, name) for name in ("qmc", "random")}

    per_trial = result.figure("scitune_ms_per_trial", ours["total_s"] / n * 1000, "ms")
    result.figure("scitune_runner_ms_per_trial", ours["run_s"] / n * 1000, "ms")
    result.figure("scitune_prepare_s", ours["prepare_s"], "s")
    result.figure("scitune_total_s", ours["total_s"], "s")
    result.figure("scitune_first_tenth_ms_per_trial", ours["first_tenth_ms"], "ms")
    result.figure("scitune_last_tenth_ms_per_trial", ours["last_tenth_ms"], "ms")
    for name, label in (("qmc", "optuna_qmc"), ("random", "optuna_random")):
        figures = theirs[name]
        theirs_per_trial = result.figure(f"{label}_ms_per_trial", figures["total_s"] / n * 1000, "ms")
        result.figure(f"{label}_total_s", figures["total_s"], "s")
        result.figure(f"{label}_first_tenth_ms_per_trial", figures["first_tenth_ms"], "ms")
        result.figure(f"{label}_last_tenth_ms_per_trial", figures["last_tenth_ms"], "ms")
        result.figure(f"scitune_over_{label}", ratio(per_trial, theirs_per_trial), "x")
        result.figure(f"speedup_vs_{label}", ratio(theirs_per_trial, per_trial), "x")
    result.goal("scitune time per trial <= 1/20 of Optuna QMC (Halton) on SQLite",
                result.figures["scitune_over_optuna_qmc"], GOAL_RATIO, "<=")
    for name, figures in {"scitune": ours, **{f"optuna {k}": v for k, v in theirs.items()}}.items():
        if figures["completed"] != n:
            result.notes.append(f"{name}: only {figures['completed']} of {n} trials completed")
    return result.as_dict()
