"""Does the Bayesian round pay? Equal total budget on the digits workload, several seeds each.

Three ways to spend N trials tuning the digits MLP at width 256 (learning rate, 1 - beta1 and
weight decay, all log-scaled; benchmarks/quality.py's setup):

- ``quasi_random``: scitune's quasi-random search, N trials;
- ``explore_then_bayes``: scitune's quasi-random exploration with N/2 trials, then ``refine`` (a
  narrower space around its best trials) and a Bayesian round of N/2 trials with Optuna's GP sampler,
  warm-started from the exploration. When ``refine`` refuses (best trials at an edge), the Bayesian
  round runs on the unrefined space, still warm-started, and the refusal is recorded;
- ``optuna_tpe``: Optuna's TPESampler alone (its defaults), N trials, in memory.

Trials run one at a time (the sequential regime the playbook recommends Bayesian optimization for),
with the same training seeds trial for trial (scitune's ``trial_seed``). A run's result is its best
trial's best validation error (retrospective selection), over every trial it trained.

``python -m benchmarks.bayes_quality [--quick] [--trials N] [--seeds K] [--max-train-steps S] [--parallel P]
[--json PATH]``;
also ``run(quick, workdir)`` for the benchmark harness. docs/bayes-benchmark.md records a full run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._common import Result, machine, quiet_optuna, run_helper, scratch, sqlite_url, timed

ARMS = ("quasi_random", "explore_then_bayes", "optuna_tpe")


def _scitune_round(store: Any, text: str, train: Any) -> list[float]:
    """Run one experiment file's text to the end; the best value of each trial (inf if not completed)."""
    from scitune.config import parse_experiment
    from scitune.run import LocalRunner, prepare

    experiment = parse_experiment(text)
    experiment_id = prepare(store, experiment, text)
    LocalRunner(store, experiment, train, workers=1).run(experiment_id)
    table = store.trials(experiment.name)
    return [float(v) if s == "completed" else math.inf for s, v in zip(table["state"], table["best_value"])]


def _job(arm: str, seed: int, trials: int, max_train_steps: int | None, folder: str) -> dict[str, Any]:
    import yaml
    from examples.digits.train import train

    from benchmarks.quality import OptunaTrialAdapter, experiment_text
    from scitune.config import parse_experiment
    from scitune.errors import ScituneError
    from scitune.steps.refine import refine_experiment
    from scitune.search import trial_seed
    from scitune.store import Store

    out: dict[str, Any] = {"arm": arm, "seed": seed}
    with timed() as clock:
        if arm == "optuna_tpe":
            experiment = parse_experiment(experiment_text(trials, seed, max_train_steps))
            budget, metric, fixed = experiment.budget, experiment.objective.metric, experiment.fixed
            nuisance = experiment.hyperparameters.nuisance
            optuna = quiet_optuna()

            def objective(trial: Any) -> float:
                hp = dict(fixed)
                for name, spec in nuisance.items():
                    hp[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.scale == "log")
                handle = OptunaTrialAdapter(trial_seed(seed, trial.number), budget.max_train_steps,
                                            budget.eval_every, metric)
                train(hp, handle)
                return handle.best

            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
            study.optimize(objective, n_trials=trials)
            values = [t.value if t.value is not None else math.inf for t in study.trials]
        else:
            store = Store(sqlite_url(Path(folder) / f"{arm}-seed{seed}.db"))
            first = trials if arm == "quasi_random" else trials // 2
            values = _scitune_round(store, experiment_text(first, seed, max_train_steps), train)
            if arm == "explore_then_bayes":
                explore = f"digits-quality-seed{seed}"
                try:
                    refined = refine_experiment(store, explore, sampler="gp", trials_per_study=trials - first)
                    text = refined.text
                    out["refined"] = {r.param: [r.low, r.high] for r in refined.refinement.ranges}
                except ScituneError as err:  # best trials at an edge: Bayesian round on the explored space
                    out["refused"] = err.message
                    raw = yaml.safe_load(experiment_text(trials - first, seed, max_train_steps))
                    raw["experiment"] = f"{explore}-bayes"
                    raw["search"] = {"algorithm": "bayesian", "sampler": "gp", "seed": seed, "warm_start": explore}
                    text = yaml.safe_dump(raw, sort_keys=False)
                out["exploration_best"] = min(values)
                values = values + _scitune_round(store, text, train)
            store.close()
    out.update(best=min(values), values=values, seconds=clock["s"])
    return out


def run(quick: bool, workdir: Path | None = None, *, trials: int | None = None, seeds: int | None = None,
        parallel: int = 2, max_train_steps: int | None = None) -> dict[str, Any]:
    trials = trials or (4 if quick else 24)
    seed_list = list(range(seeds or (1 if quick else 5)))
    max_steps = max_train_steps or (100 if quick else None)
    result = Result(
        "Bayesian round vs quasi-random vs Optuna's TPE at equal budget: digits, width 256, 3 log-scaled "
        "nuisance hyperparameters, trials one at a time",
        {"trials": trials, "seeds": seed_list, "max_train_steps": max_steps or "from experiment.yaml (1000)",
         "arms": list(ARMS), "parallel_jobs": parallel},
    )
    jobs = [{"arm": arm, "seed": seed} for seed in seed_list for arm in ARMS]
    with scratch(workdir, "bayes_quality") as folder:

        def launch(job: dict[str, Any]) -> dict[str, Any]:
            spec = {**job, "trials": trials, "max_train_steps": max_steps, "folder": str(folder)}
            return run_helper("bayes_quality", "job", json.dumps(spec), timeout=3600)

        with ThreadPoolExecutor(parallel) as pool:
            outcomes = list(pool.map(launch, jobs))
    result.details["runs"] = outcomes
    for arm in ARMS:
        bests = [o["best"] for o in outcomes if o["arm"] == arm]
        result.figure(f"{arm}_best_mean", statistics.fmean(bests), "val_error")
        result.figure(f"{arm}_best_std", statistics.stdev(bests) if len(bests) > 1 else 0.0, "val_error")
        result.figure(f"{arm}_best_min", min(bests), "val_error")
        result.figure(f"{arm}_best_max", max(bests), "val_error")
    refused = [o for o in outcomes if "refused" in o]
    result.figure("refine_refused_runs", len(refused), "runs")
    result.notes += [f"seed {o['seed']}: refine refused ({o['refused']})" for o in refused]
    result.goals.append({"goal": "recorded only: best validation error at equal budget", "measured":
                         result.figures["explore_then_bayes_best_mean"], "target": None, "comparison": None, "met": None})
    return result.as_dict()


def _table(record: dict[str, Any]) -> str:
    """The figures as a Markdown table, one row per arm."""
    figures = record["figures"]
    lines = ["| arm | best val_error, mean | sd | min | max |", "|---|---:|---:|---:|---:|"]
    for arm in ARMS:
        lines.append(f"| {arm} | {figures[f'{arm}_best_mean']:.4f} | {figures[f'{arm}_best_std']:.4f} | "
                     f"{figures[f'{arm}_best_min']:.4f} | {figures[f'{arm}_best_max']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["job"]:
        spec = json.loads(argv[1])
        print(json.dumps(_job(spec["arm"], spec["seed"], spec["trials"], spec["max_train_steps"], spec["folder"])))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bayes_quality")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trials", type=int)
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--max-train-steps", type=int, help="instead of the experiment's 1000")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    record = run(args.quick, args.workdir, trials=args.trials, seeds=args.seeds, parallel=args.parallel,
                 max_train_steps=args.max_train_steps)
    record["machine"] = machine()
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))
    print(_table(record))
    for run_ in record["details"]["runs"]:
        print(f"{run_['arm']} seed {run_['seed']}: best {run_['best']:.4f} ({run_['seconds']:.0f} s)"
              + (f"; refine refused: {run_['refused']}" if "refused" in run_ else "")
              + (f"; refined {run_['refined']}" if "refined" in run_ else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
