"""``scitune status``, ``trials`` and ``best``: the face of :mod:`scitune.steps.results`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from scitune.cli._app import Format, StoreOption, app, emit, out, render
from scitune.steps import results
from scitune.store import Store


def print_status(db: Store, name: str | None = None) -> None:
    """Render :func:`scitune.steps.results.status` as one table per experiment (and its retrain variance)."""
    shown = results.status(db, name)
    if not shown:
        out.print(f"no experiments in {db.safe_url} yet; start one with: scitune run EXPERIMENT.yaml")
    for item in shown:
        objective = item.record.objective
        summary = item.studies.rename(columns={"best_objective": f"best {objective.metric} ({objective.mode})"})
        render(summary, title=f"{item.record.name}: {item.record.goal}")
        if len(item.variance):  # retrained trials: their reruns' spread, the noise a comparison must beat
            render(item.variance, title=f"{item.record.name}: retrain variance of {objective.metric} (reruns with "
                   "other seeds; 95% interval of the mean)")


@app.command()
def status(
    experiment: Annotated[Optional[str], typer.Argument(help="Experiment name; all experiments when omitted.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Per study: trials by state, the best objective, its trial and its best step."""
    print_status(Store(store), experiment)


@app.command()
def trials(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    study: Annotated[Optional[str], typer.Option("--study", help="Only this study (e.g. width=64).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """One row per trial: study, trial, state, reason, every hyperparameter, best objective, best step, duration,
    its id, and for a retrained trial its reruns' count, mean, standard deviation and 95% interval."""
    emit(results.trial_rows(Store(store), experiment, study), format, title=experiment + (f" / {study}" if study else ""))


@app.command()
def best(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the checkpoint saved there."""
    emit(results.best_trials(Store(store), experiment), format, title=f"{experiment}: best trial of each study")
