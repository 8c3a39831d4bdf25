"""Shared pieces of the command line: the typer app, consoles, common options, table rendering,
the training display and the command line as stored."""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional, TextIO

import typer
import typer.core

from scitune import __version__
from scitune.analysis.table import PlainTable, missing
from scitune.states import FINISHED
from scitune.store import STORE_ENV

if TYPE_CHECKING:  # imported where used: ``scitune status`` prints plain text, without pandas or rich
    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress

app = typer.Typer(
    name="scitune",
    help="Tune deep networks the Deep Learning Tuning Playbook's way: one experiment file states the goal and "
    "the scientific, nuisance and fixed hyperparameters; scitune runs one quasi-random study per scientific value "
    "and keeps every trial and metric point in a store (./scitune.db unless --store or $SCITUNE_STORE says otherwise).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _flag_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """A flag's help shows its switches (``--force/--no-force``), not a ``<bool>`` type."""
    return None if self.is_flag and not self.count else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _print_version(value: bool) -> None:
    if value:
        print(f"scitune {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print scitune's version and exit.")] = False,
) -> None:
    """Tune deep networks the Deep Learning Tuning Playbook's way."""


class LazyConsole:
    """A rich ``Console``, made (and rich imported) when first used: a command that prints plain
    text (``scitune status``) never imports rich. ``console`` is the Console itself."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._options.get("stderr") else sys.stdout
            width = None if stream.isatty() else self._options.pop("piped_width")
            self._console = Console(width=width, **{k: v for k, v in self._options.items() if k != "piped_width"})
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


# Piped output (CI logs, `| less`) gets a wide fixed width instead of rich's 80 columns.
out = LazyConsole(piped_width=200)
err = LazyConsole(stderr=True, piped_width=400)

# Commands that only read: they never create a store, so a mistyped --store is an error naming the path.
READ_ONLY_COMMANDS = frozenset({"status", "trials", "best", "log", "incumbent", "launches", "report", "compare", "show",
                                "next", "export", "dashboard"})


def _check_store(ctx: typer.Context, value: Optional[str]) -> Optional[str]:
    """A bad store URL (``--store ''``, ``sqlite:://x``) is one line before the command starts; a
    read-only command refuses a store that does not exist instead of creating an empty one."""
    if ctx.resilient_parsing:
        return value
    from scitune.store import Store, resolve_url
    from scitune.store.schema import sqlite_path

    url = resolve_url(value)  # raises StoreError for an empty one
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if ctx.info_name in READ_ONLY_COMMANDS and path != ":memory:":
            Store(url, create=False).close()  # raises StoreError naming the missing file
    return value


StoreOption = Annotated[
    Optional[str],
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        callback=_check_store,
        help="Store URL (sqlite:///path.db, postgresql://...) or a SQLite file path. Default ./scitune.db.",
        show_default=False,
    ),
]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def fmt(value: Any) -> str:
    pandas = sys.modules.get("pandas")  # pd.NA exists only where pandas was imported
    if value is None or (isinstance(value, float) and math.isnan(value)) or (pandas is not None and value is pandas.NA):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render(frame: pd.DataFrame, title: str | None = None) -> None:
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    out.print(table)


def emit(table: pd.DataFrame | PlainTable, format: Format, title: str | None = None) -> None:
    """Write a table to stdout as csv, json (records) or a rich table. A plain table's csv is
    written as it is (:func:`write_csv`); its other forms, from its frame."""
    if format is Format.csv:
        if isinstance(table, PlainTable):
            write_csv(table, sys.stdout)
        else:
            sys.stdout.write(table.to_csv(index=False))
        return
    frame = table.frame() if isinstance(table, PlainTable) else table
    if format is Format.json:
        # Not DataFrame.to_json: it rounds floats to 10 digits, and a hyperparameter must round-trip.
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        sys.stdout.write(json.dumps(records, indent=2, default=lambda v: v.item()) + "\n")
    else:
        render(frame, title=title)


def write_csv(table: PlainTable, stream: TextIO) -> None:
    """``table.frame().to_csv(index=False)``, byte for byte, without the frame: pandas' writer is the
    standard library's (minimal quoting, a line ending in ``os.linesep``), which writes a float as its
    repr, as pandas writes a float column; pandas leaves an empty cell (None or NaN) empty, as here."""
    writer = csv.writer(stream, lineterminator=os.linesep, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(table.names)
    # Only a float, text or mixed column can hold NaN; in the others None is already an empty cell.
    isnan = math.isnan
    columns = [[None if isnan(v) else v for v in values] if kind == "float"
               else [None if missing(v) else v for v in values] if kind in ("text", "object") else values
               for values, kind in zip(table.columns, table.kinds)]
    writer.writerows(zip(*columns))


def invocation() -> str | None:
    """This command line as one shell-quoted string (``scitune run exp.yaml``), stored with what it
    records so that it can be reproduced."""
    return shlex.join(["scitune", *sys.argv[1:]]) if sys.argv else None


class TrainingDisplay:
    """What every command that trains shows: before each run, its headline (and any notes on the
    values a derived experiment holds); while it runs, one bar of trials finished of the total,
    infeasible and failed counts, the best objective so far, elapsed time and ETA.

    Pass ``on_plan`` and ``on_progress`` to a step; use it as a context manager so the last bar is
    closed however the step ends."""

    def __init__(self, label: str = "trials") -> None:
        self.label = label
        self._bar: Progress | None = None
        self._task: Any = None

    def on_plan(self, plan: Any) -> None:
        """A run is about to start: ``plan`` has ``headline``, ``total``, ``finished`` and maybe ``notes``."""
        from rich.markup import escape
        from rich.progress import Progress
        from rich.text import Text

        self.close()
        for note in getattr(plan, "notes", ()):
            out.print(f"[dim]- {escape(note)}[/dim]", soft_wrap=True)
        out.print(Text(plan.headline, style="bold"))
        self._bar = Progress(*_columns(), console=out.console)
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=plan.total, completed=plan.finished, infeasible=0,
                                        failed=0, best="-")

    def on_progress(self, progress: dict[str, Any]) -> None:
        if self._bar is None:
            return
        states = progress["states"]
        self._bar.update(self._task, completed=sum(states[s] for s in FINISHED), infeasible=states["infeasible"],
                         failed=states["failed"], best=fmt(progress["best"]))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "TrainingDisplay":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def _columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("infeasible {task.fields[infeasible]}  failed {task.fields[failed]}  best {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


def say(lines: list[str], style: str = "yellow") -> None:
    """Notes and warnings from a step, a line each."""
    from rich.markup import escape

    for line in lines:
        out.print(f"[{style}]- {escape(line)}[/{style}]", soft_wrap=True)
