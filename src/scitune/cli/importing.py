"""``scitune import optuna`` and ``import csv``: the face of :mod:`scitune.steps.importing`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, app, invocation, out, say
from scitune.steps.importing import ImportResult, import_csv, import_optuna

import_app = typer.Typer(help="Bring in results made elsewhere: an Optuna study, or a CSV of runs from another tracker.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")

ScientificOption = Annotated[
    Optional[list[str]],
    typer.Option("--scientific", help="A parameter whose values split the trials into studies (repeatable).",
                 show_default=False),
]
AsOption = Annotated[Optional[str], typer.Option("--as", help="The experiment's name in the store.", show_default=False)]
GoalOption = Annotated[Optional[str], typer.Option("--goal", help="The experiment's goal (default: where it came from).",
                                                   show_default=False)]


class Pruned(str, Enum):
    failed = "failed"
    completed = "completed"


def _show(result: ImportResult) -> None:
    states = ", ".join(f"{n} {s}" for s, n in result.states.items() if n)
    written = sum(result.states.values())
    again = f"; {result.already} imported before" if result.already else ""
    out.print(f"{result.experiment}: {written} trial(s) imported ({states or 'none new'}){again}, "
              f"in {len(result.studies)} stud{'y' if len(result.studies) == 1 else 'ies'}: {', '.join(result.studies)}",
              highlight=False)
    if result.notes:
        say(list(result.notes))
    out.print(f"next: scitune status {result.experiment}   scitune report {result.experiment}", highlight=False)


@import_app.command("optuna")
def optuna(
    storage: Annotated[str, typer.Option("--storage", help="Optuna storage URL, e.g. sqlite:///optuna.db.",
                                         show_default=False)],
    study: Annotated[str, typer.Option("--study", help="The Optuna study's name.", show_default=False)],
    scientific: ScientificOption = None,
    name: AsOption = None,
    metric: Annotated[str, typer.Option("--metric", help="The objective's metric name in scitune.")] = "value",
    pruned: Annotated[Pruned, typer.Option("--pruned", help="failed: pruned trials count as stopped early; "
                                           "completed: their curves are ranked too.")] = Pruned.failed,
    goal: GoalOption = None,
    store: StoreOption = None,
) -> None:
    """An Optuna study as a scitune experiment: distributions become the space, intermediate values
    the objective's curve, FAIL and NaN failed or infeasible trials."""
    _show(import_optuna(storage, study, store, scientific=scientific or (), name=name, metric=metric, goal=goal,
                        pruned=pruned.value, command=invocation()))


@import_app.command("csv")
def csv(
    file: Annotated[Path, typer.Argument(help="CSV: params.NAME and metrics.NAME columns; optional run, step, state.",
                                         show_default=False)],
    objective: Annotated[str, typer.Option("--objective", help="The metric that ranks runs (NAME of metrics.NAME).",
                                           show_default=False)],
    mode: Annotated[str, typer.Option("--mode", help="min or max.")] = "min",
    scientific: ScientificOption = None,
    name: AsOption = None,
    goal: GoalOption = None,
    store: StoreOption = None,
) -> None:
    """Runs exported from another tracker (one row per run, or one per run and step) as an experiment."""
    _show(import_csv(file, store, objective=objective, mode=mode, scientific=scientific or (), name=name, goal=goal,
                     command=invocation()))
