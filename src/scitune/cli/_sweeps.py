"""Options shared by the commands that run a learning-rate sweep (steps sweep, warmup) or hold
hyperparameters at one value (batch-size throughput), and their parsing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from scitune.errors import UsageError
from scitune.steps.step_budget import LearningRates

FileArg = Annotated[Path, typer.Argument(help="The experiment file to start from (YAML).", show_default=False)]
SetOption = Annotated[list[str], typer.Option("--set", help="Hold NAME at VALUE (repeatable), e.g. --set weight_decay=0.",
                                              show_default=False)]
WorkersOption = Annotated[int, typer.Option("--workers", "-w", min=1, help="Trials to train at once.")]
GridOption = Annotated[Optional[str], typer.Option("--grid", help="Learning rates, comma-separated (instead of a log grid).",
                                                   show_default=False)]
LrMin = Annotated[Optional[float], typer.Option("--lr-min", help="Lowest rate of the log grid (default: the file's range).",
                                                show_default=False)]
LrMax = Annotated[Optional[float], typer.Option("--lr-max", help="Highest rate of the log grid.", show_default=False)]
PointsOption = Annotated[Optional[int], typer.Option("--points", min=2, help="Points of the log grid (default: 2 per decade).",
                                                     show_default=False)]
LrName = Annotated[Optional[str], typer.Option("--lr-name", help="The learning-rate hyperparameter (default: found by name).",
                                               show_default=False)]
SaveOption = Annotated[Optional[Path], typer.Option("--save", help="Also write the generated experiment file here.",
                                                    show_default=False)]


def overrides(items: list[str] | None) -> dict[str, Any]:
    """``--set NAME=VALUE`` flags as a dict (values read as YAML scalars: 0, 1e-3, true, relu)."""
    values = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--set {item}: write NAME=VALUE, e.g. --set weight_decay=0")
        values[name.strip()] = yaml.safe_load(raw)
    return values


def numbers(text: str | None, flag: str) -> list[float] | None:
    """A comma-separated list of numbers (``--grid 0.001,0.01``), or None when not given."""
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{flag} {text}: give numbers separated by commas") from None


def rates(grid: str | None, low: float | None, high: float | None, points: int | None, name: str | None) -> LearningRates:
    return LearningRates(numbers(grid, "--grid"), low, high, points, name)
