"""The core commands: run, status, trials."""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from scitune.analysis import best_per_study, study_summary, trial_table
from scitune.analysis.variance import variance_table
from scitune.cli._app import Format, StoreOption, app, emit, err, out, render, trial_progress
from scitune.config import load_experiment
from scitune.errors import ScituneError
from scitune.run import prepare
from scitune.run.program import load_program
from scitune.run.local import LocalRunner
from scitune.store import FINISHED, Store
from scitune.store.decisions import retrain_variances


class Executor(str, Enum):
    local = "local"
    ray = "ray"


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The experiment file (YAML).", show_default=False)],
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", "-w", min=1, show_default=False,
                     help="Trials to train at once: local worker processes (default 1), or Ray tasks "
                     "(default: the cluster's CPUs / resources.cpus)."),
    ] = None,
    executor: Annotated[Executor, typer.Option("--executor", help="local: worker processes here; ray: Ray tasks.")] = (
        Executor.local
    ),
    address: Annotated[
        Optional[str],
        typer.Option("--address", show_default=False,
                     help="Ray cluster to join (e.g. 127.0.0.1:6379 or auto); default: start a local one."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Run every study of an experiment, or resume it: finished trials stay, interrupted and pending
    ones run. Several runners on one experiment and store share the work."""
    if address is not None and executor is not Executor.ray:
        raise ScituneError("--address is for --executor ray", hint="add --executor ray, or drop --address")
    experiment, text = load_experiment(file)
    train = load_program(experiment, file.parent, str(file))
    db = Store(store)
    command = shlex.join(["scitune", *sys.argv[1:]]) if sys.argv else None
    experiment_id = prepare(db, experiment, text, str(file.resolve()), command)
    total = experiment.budget.trials_per_study * len(experiment.studies())
    already = sum(db.progress(experiment_id, experiment.objective.mode)["states"][s] for s in FINISHED)
    out.print(f"[bold]{experiment.name}[/bold]: {experiment.goal}")
    out.print(
        f"{len(experiment.studies())} studies x {experiment.budget.trials_per_study} trials, "
        + (f"{workers or 1} worker(s), " if executor is Executor.local else "Ray tasks, ")
        + f"store {db.url}" + (f" - resuming, {already} of {total} trials already finished" if already else "")
    )
    with trial_progress("trials", total, already) as show:
        if executor is Executor.ray:
            from scitune.run.ray_executor import RayRunner

            runner: Any = RayRunner(db, experiment, address=address, base_dir=file.parent, max_concurrency=workers,
                                    on_progress=show)
        else:
            runner = LocalRunner(db, experiment, train, workers=workers or 1, on_progress=show)
        summary = runner.run(experiment_id)
    _print_status(db, experiment.name)
    if summary.interrupted:
        err.print(f"stopped: {summary.states['interrupted']} trial(s) marked interrupted; run the same command again to resume")
        raise typer.Exit(130)
    bad = summary.states["failed"]
    if bad:
        err.print(f"{bad} trial(s) failed; see their reasons with: scitune trials {experiment.name}")


def _print_status(db: Store, name: str) -> None:
    exp = db.experiment(name)
    mode = exp["definition"]["objective"]["mode"]
    metric = exp["definition"]["objective"]["metric"]
    studies = [s["name"] for s in db.studies(exp["id"])]
    summary = study_summary(db.trials(name), mode, studies)
    summary = summary.rename(columns={"best_objective": f"best {metric} ({mode})"})
    render(summary, title=f"{name}: {exp['goal']}")
    variance = variance_table(retrain_variances(db, name))
    if len(variance):  # retrained trials: their reruns' spread, the noise a comparison must beat
        render(variance, title=f"{name}: retrain variance of {metric} (reruns with other seeds; 95% interval of the mean)")


@app.command()
def status(
    experiment: Annotated[Optional[str], typer.Argument(help="Experiment name; all experiments when omitted.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Per study: trials by state, the best objective, its trial and its best step."""
    db = Store(store)
    names = [experiment] if experiment else [e["name"] for e in db.experiments()]
    if not names:
        out.print(f"no experiments in {db.url} yet; start one with: scitune run EXPERIMENT.yaml")
    for name in names:
        _print_status(db, name)


@app.command()
def trials(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    study: Annotated[Optional[str], typer.Option("--study", help="Only this study (e.g. width=64).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """One row per trial: study, trial, state, reason, every hyperparameter, best objective, best step, duration,
    its id, and for a retrained trial its reruns' count, mean, standard deviation and 95% interval."""
    db = Store(store)
    table = trial_table(db.trials(experiment, study), retrain_variances(db, experiment))
    emit(table, format, title=experiment + (f" / {study}" if study else ""))


@app.command()
def best(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the checkpoint saved there."""
    db = Store(store)
    mode = db.experiment(experiment)["definition"]["objective"]["mode"]
    trials = db.trials(experiment)
    table = best_per_study(trials, db.checkpoints(trials["id"].tolist()), mode)
    emit(table, format, title=f"{experiment}: best trial of each study")
