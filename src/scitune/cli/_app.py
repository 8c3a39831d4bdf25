"""Shared pieces of the command line: the typer app, consoles, common options, table rendering."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any, Callable, Iterator, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scitune.store import FINISHED, STORE_ENV

app = typer.Typer(
    name="scitune",
    help="Tune deep networks the Deep Learning Tuning Playbook's way: one experiment file states the goal and "
    "the scientific, nuisance and fixed hyperparameters; scitune runs one quasi-random study per scientific value "
    "and keeps every trial and metric point in a store (./scitune.db unless --store or $SCITUNE_STORE says otherwise).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, `| less`) gets a wide fixed width instead of rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 400)

StoreOption = Annotated[
    Optional[str],
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        help="Store URL (sqlite:///path.db, postgresql://...) or a SQLite file path. Default ./scitune.db.",
        show_default=False,
    ),
]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render(frame: pd.DataFrame, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    out.print(table)




def emit(frame: pd.DataFrame, format: Format, title: str | None = None) -> None:
    """Write a table to stdout as csv, json (records) or a rich table."""
    if format is Format.csv:
        sys.stdout.write(frame.to_csv(index=False))
    elif format is Format.json:
        # Not DataFrame.to_json: it rounds floats to 10 digits, and a hyperparameter must round-trip.
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        sys.stdout.write(json.dumps(records, indent=2, default=lambda v: v.item()) + "\n")
    else:
        render(frame, title=title)


@contextmanager
def trial_progress(label: str, total: int, already: int = 0) -> Iterator[Callable[[dict[str, Any]], None]]:
    """The bar every command that trains shows: trials finished of ``total``, infeasible and failed
    counts, the best objective so far, elapsed time and ETA. Yields the runner's ``on_progress``."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("infeasible {task.fields[infeasible]}  failed {task.fields[failed]}  best {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out) as bar:
        task = bar.add_task(label, total=total, completed=already, infeasible=0, failed=0, best="-")

        def show(progress: dict[str, Any]) -> None:
            states = progress["states"]
            bar.update(task, completed=sum(states[s] for s in FINISHED), infeasible=states["infeasible"],
                       failed=states["failed"], best=fmt(progress["best"]))

        yield show
