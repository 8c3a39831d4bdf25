"""Tables that fit a terminal: plain text, fast, never a cell cut into pieces.

rich's tables fold a cell that does not fit into two-letter pieces and take seconds for thousands
of rows. Here a table is fitted to the terminal's width instead: headers are abbreviated, the one
free-text column (a trial's reason) is shortened with an ellipsis, and what still does not fit is
left out, lowest priority first, and named below the table (``--columns`` or ``--format csv`` show
it). Every other cell is printed whole.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scitune.cli._app import fmt

if TYPE_CHECKING:  # imported where used: ``scitune status`` fits plain rows without it
    import pandas as pd

GAP = "  "
MIN_FREE = 16  # the free-text column is never shortened below this


def terminal_width() -> int:
    """``$COLUMNS`` when set, else the terminal's width; 200 for output that is not a terminal."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return 200


@dataclass(frozen=True)
class Fitted:
    lines: list[str]
    hidden: list[str]  # columns left out to fit


@dataclass(frozen=True)
class Rows:
    """A table as plain data, for :func:`fit` without pandas: its columns, and a mapping per row."""

    columns: Sequence[str]
    rows: Sequence[Mapping[str, Any]]


def _cells(values: Sequence[Any]) -> list[str]:
    return [fmt(v).replace("\n", " ") for v in values]


def _columns(frame: pd.DataFrame | Rows) -> dict[str, tuple[list[Any], bool]]:
    """Each column's values, and whether it is numeric (right-aligned), as pandas would type it:
    numbers (bools included) with or without empty cells, not a column of empty cells only."""
    if isinstance(frame, Rows):
        out = {}
        for c in frame.columns:
            values = [row.get(c) for row in frame.rows]
            present = [v for v in values if v is not None]
            out[str(c)] = (values, bool(present) and all(isinstance(v, (int, float)) for v in present))
        return out
    import pandas as pd

    return {str(c): (frame[c].tolist(), pd.api.types.is_numeric_dtype(frame[c])) for c in frame.columns}


def fit(
    frame: pd.DataFrame | Rows,
    width: int,
    *,
    headers: Mapping[str, str] | None = None,
    drop_order: Sequence[str] = (),
    free: str | None = None,
    free_last: bool = False,
) -> Fitted:
    """Lay ``frame`` out in at most ``width`` columns. ``headers`` abbreviates column names;
    ``drop_order`` lists the columns that may be left out, first to go first; ``free`` is the
    column whose cells may be shortened (with an ellipsis, never below ``MIN_FREE``): before any
    column is left out, or after every droppable one is (``free_last``, when it is what matters)."""
    headers = dict(headers or {})
    typed = _columns(frame)
    columns = list(typed)
    cells = {c: _cells(typed[c][0]) for c in columns}
    names = {c: headers.get(c, c) for c in columns}
    numeric = {c: typed[c][1] for c in columns}
    widths = {c: max([len(names[c]), *map(len, cells[c])]) for c in columns}
    shown = list(columns)
    hidden: list[str] = []

    def total() -> int:
        return sum(widths[c] for c in shown) + len(GAP) * (len(shown) - 1)

    droppable = [c for c in drop_order if c in shown]
    while total() > width:
        if free in shown and widths[free] > max(MIN_FREE, len(names[free])) and not (free_last and droppable):
            widths[free] = max(MIN_FREE, len(names[free]), widths[free] - (total() - width))
            continue
        long_header = [c for c in shown if len(names[c]) > max(map(len, cells[c]), default=0) and len(names[c]) > 5]
        if long_header:  # a header wider than every value of its column: abbreviate it to them
            c = long_header[-1]
            names[c] = names[c][: max(5, max(map(len, cells[c]), default=0)) - 1] + "…"
            widths[c] = max([len(names[c]), *map(len, cells[c])])
            continue
        if not droppable:
            break
        gone = droppable.pop(0)
        shown.remove(gone)
        hidden.append(gone)

    def cell(c: str, text: str) -> str:
        w = widths[c]
        if len(text) > w:
            text = text[: w - 1] + "…"
        return text.rjust(w) if numeric[c] else text.ljust(w)

    lines = [GAP.join(cell(c, names[c]) if not numeric[c] else names[c].rjust(widths[c]) for c in shown).rstrip()]
    lines.append(GAP.join("-" * widths[c] for c in shown))
    rows = zip(*(cells[c] for c in shown)) if shown else iter(())
    lines += [GAP.join(cell(c, t) for c, t in zip(shown, row)).rstrip() for row in rows]
    return Fitted(lines, hidden)


def print_fitted(
    frame: pd.DataFrame | Rows,
    title: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    drop_order: Sequence[str] = (),
    free: str | None = None,
    free_last: bool = False,
    width: int | None = None,
    note: str | None = None,
) -> None:
    """Print ``frame`` fitted to the terminal (see :func:`fit`), with its title and what was left out."""
    width = width or terminal_width()
    fitted = fit(frame, width, headers=headers, drop_order=drop_order, free=free, free_last=free_last)
    after = [note] if note else []
    if fitted.hidden:
        after.insert(0, f"(not shown to fit {width} columns: {', '.join(fitted.hidden)}; "
                     "--columns or --format csv show them)")
    wrapped = [w for line in after for w in textwrap.wrap(line, width)]
    text = [*textwrap.wrap(title or "", width), *fitted.lines, *wrapped]
    sys.stdout.write("\n".join(text) + "\n")
    sys.stdout.flush()


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """A curve as one line of block characters (at most ``width``, evenly sampled; NaN as a space)."""
    series = [float(v) for v in values]
    if len(series) > width:
        series = [series[round(i * (len(series) - 1) / (width - 1))] for i in range(width)]
    finite = [v for v in series if math.isfinite(v)]
    if not finite:
        return " " * len(series)
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(
        BARS[min(len(BARS) - 1, int((v - low) / span * len(BARS)))] if math.isfinite(v) else " " for v in series
    )
