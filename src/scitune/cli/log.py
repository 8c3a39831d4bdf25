"""``scitune log`` and ``note``: the face of :mod:`scitune.steps.log`."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.cli._app import Format, StoreOption, app, emit, fmt, out, render
from scitune.steps import log as log_step
from scitune.store import Store

LOG_TABLE = ["experiment", "study", "objective", "trials", "completed", "infeasible", "failed", "best_objective",
             "best_trial", "best_step", "retrained", "launched", "notes"]


@app.command()
def log(
    experiment: Annotated[str | None, typer.Argument(help="Only this experiment.", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json (with the config text, "
                                           "checkpoint and reproduction command).")] = Format.table,
    store: StoreOption = None,
) -> None:
    """The experiment log: one row per study with its goal, config, trials by state, best objective and
    checkpoint, retrain variance, launches, reproduction command and notes."""
    db = Store(store)
    table = log_step.experiment_log(db, experiment)
    if table.empty and format is Format.table:
        out.print(f"no experiments in {db.safe_url} yet; start one with: scitune run EXPERIMENT.yaml")
        return
    if format is Format.table:
        render(table[LOG_TABLE], title=f"experiment log ({db.safe_url})")
        for (name, path), _ in table.groupby(["experiment", "config_path"], sort=False, dropna=False):
            out.print(f"{name}: config stored in the store, read from {fmt(path)}", markup=False, highlight=False)
        return
    emit(table, format)


@app.command()
def note(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    text: Annotated[str, typer.Argument(help="The note.", show_default=False)],
    study: Annotated[str | None, typer.Option("--study", help="Attach it to this study only.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Add a note to an experiment (or one study) in the log."""
    db = Store(store)
    number = log_step.add_note(db, experiment, text, study)
    out.print(f"note {number} added to {experiment}" + (f" / {study}" if study else ""), highlight=False)
