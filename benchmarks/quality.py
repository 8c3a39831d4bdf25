"""Tuning quality at equal budget (recorded, not a goal yet).

The digits experiment (examples/digits) with the width fixed at 256: a plain nuisance search over
the learning rate, 1 - beta1 and the weight decay (all log-scaled), N trials. scitune's quasi-random
search vs Optuna's random, QMC (scrambled Halton) and TPE samplers, each with seeds 0, 1, 2. The same
training function and, trial for trial, the same training seeds (scitune's ``trial_seed(seed, i)``),
so samplers differ only in the points they choose. A study's result is its best trial's best
validation error over its evaluations (retrospective selection, as scitune reads it).

Each (sampler, seed) runs in a process of its own, two at a time; Optuna's studies are in memory
(only the points matter here). Helper entry point: ``python -m benchmarks.quality jobs JSON``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, Result, quiet_optuna, run_helper, scratch, sqlite_url, timed

SAMPLERS = ("scitune_quasi_random", "optuna_random", "optuna_qmc", "optuna_tpe")
WIDTH = 256


def experiment_text(trials: int, seed: int, max_train_steps: int | None) -> str:
    """examples/digits/experiment.yaml with the width fixed, its own name, trials and seed."""
    import yaml

    raw = yaml.safe_load((REPO / "examples" / "digits" / "experiment.yaml").read_text())
    raw["experiment"] = f"digits-quality-seed{seed}"
    raw["goal"] = "Tune the nuisance hyperparameters of the digits MLP at width 256 (sampler benchmark)."
    raw["budget"]["trials_per_study"] = trials
    if max_train_steps is not None:
        raw["budget"]["max_train_steps"] = max_train_steps
    raw["search"] = {"algorithm": "quasi_random", "seed": seed}
    hp = raw["hyperparameters"]
    hp["scientific"] = {}
    hp["fixed"] = {**hp.get("fixed", {}), "width": WIDTH}
    return yaml.safe_dump(raw, sort_keys=False)


class OptunaTrialAdapter:
    """What ``examples.digits.train.train`` needs of a trial, for an Optuna trial: the seed, the
    budget, when to evaluate; ``report`` keeps the best finite objective."""

    def __init__(self, seed: int, max_train_steps: int, eval_every: int, metric: str) -> None:
        self.seed, self.max_train_steps, self.eval_every, self.metric = seed, max_train_steps, eval_every, metric
        self.best = math.inf

    def should_eval(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.max_train_steps

    def report(self, step: int, **metrics: float) -> None:
        if self.metric in metrics and math.isfinite(value := float(metrics[self.metric])):
            self.best = min(self.best, value)

    def resume(self) -> None:  # an Optuna trial always starts from scratch
        return None

    def save_checkpoint(self, step: int, state: Any) -> None:
        import io

        import torch

        torch.save(state, io.BytesIO())  # the serialization a scitune trial's checkpoint costs; no file kept


def _job(sampler: str, seed: int, trials: int, max_train_steps: int | None, folder: str) -> dict[str, Any]:
    from examples.digits.train import train

    from scitune.config import parse_experiment
    from scitune.search import trial_seed

    text = experiment_text(trials, seed, max_train_steps)
    experiment = parse_experiment(text)
    budget, metric = experiment.budget, experiment.objective.metric
    with timed() as clock:
        if sampler == "scitune_quasi_random":
            from scitune.run import LocalRunner, prepare
            from scitune.store import Store

            store = Store(sqlite_url(Path(folder) / f"quality-seed{seed}.db"))
            experiment_id = prepare(store, experiment, text)
            LocalRunner(store, experiment, train, workers=1).run(experiment_id)
            table = store.trials(experiment.name)
            values = [float(v) if s == "completed" else math.inf for s, v in zip(table["state"], table["best_value"])]
            store.close()
        else:
            optuna = quiet_optuna()
            make = {
                "optuna_random": lambda: optuna.samplers.RandomSampler(seed=seed),
                "optuna_qmc": lambda: optuna.samplers.QMCSampler(qmc_type="halton", scramble=True, seed=seed),
                "optuna_tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            }[sampler]
            nuisance = experiment.hyperparameters.nuisance
            fixed = experiment.fixed

            def objective(trial: Any) -> float:
                hp = dict(fixed)
                for name, spec in nuisance.items():
                    hp[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.scale == "log")
                handle = OptunaTrialAdapter(trial_seed(seed, trial.number), budget.max_train_steps, budget.eval_every, metric)
                train(hp, handle)
                return handle.best

            study = optuna.create_study(sampler=make(), direction=experiment.objective.mode + "imize")
            study.optimize(objective, n_trials=trials)
            values = [t.value if t.value is not None else math.inf for t in study.trials]
    return {"sampler": sampler, "seed": seed, "best": min(values), "values": values, "seconds": clock["s"]}


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    trials, seeds, max_steps = (4, [0], 100) if quick else (30, [0, 1, 2], None)
    parallel = max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))
    result = Result(
        "Tuning quality at equal budget: digits, width 256, 3 log-scaled nuisance hyperparameters",
        {"trials_per_study": trials, "seeds": seeds, "max_train_steps": max_steps or "from experiment.yaml (1000)",
         "samplers": list(SAMPLERS), "parallel_jobs": parallel},
    )
    jobs = [{"sampler": sampler, "seed": seed} for seed in seeds for sampler in SAMPLERS]
    # One process per (sampler, seed); in quick mode one per parallel slot, which spares most of
    # the process starts (torch's import alone takes seconds).
    batches = [jobs[i::parallel] for i in range(parallel)] if quick else [[job] for job in jobs]
    with scratch(workdir, "quality") as folder:

        def launch(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            spec = {"jobs": batch, "trials": trials, "max_train_steps": max_steps, "folder": str(folder)}
            return run_helper("quality", "jobs", json.dumps(spec))["runs"]

        with ThreadPoolExecutor(parallel) as pool:
            outcomes = [run for runs in pool.map(launch, batches) for run in runs]
    result.details["runs"] = outcomes
    for sampler in SAMPLERS:
        bests = [o["best"] for o in outcomes if o["sampler"] == sampler]
        result.figure(f"{sampler}_best_mean", statistics.fmean(bests), "val_error")
        result.figure(f"{sampler}_best_std", statistics.stdev(bests) if len(bests) > 1 else 0.0, "val_error")
        result.figure(f"{sampler}_best_min", min(bests), "val_error")
        result.figure(f"{sampler}_best_max", max(bests), "val_error")
    ours = result.figures["scitune_quasi_random_best_mean"]
    for sampler in SAMPLERS[1:]:
        result.figure(f"scitune_minus_{sampler}_mean", ours - result.figures[f"{sampler}_best_mean"], "val_error")
    result.goals.append({"goal": "recorded only: best validation error at equal budget (no goal yet)",
                         "measured": ours, "target": None, "comparison": None, "met": None})
    return result.as_dict()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "jobs":
        sys.exit("usage: python -m benchmarks.quality jobs JSON")
    spec = json.loads(sys.argv[2])
    runs = [_job(job["sampler"], job["seed"], spec["trials"], spec["max_train_steps"], spec["folder"]) for job in spec["jobs"]]
    print(json.dumps({"runs": runs}))
