"""Shared pieces of the command line: the typer app, consoles, common options, table rendering."""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from typing import Annotated, Any, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from scitune.store import STORE_ENV

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
