"""``python -m benchmarks [--quick|--full] [--only NAME,...] [--json PATH] [--workdir DIR]``

Runs the benchmarks one after another (never two at once: they time each other otherwise), prints
each one's figures and then every goal, and writes everything, with the machine and the date, as
JSON (after each benchmark, so an interrupted run keeps what it measured). Exit code 1 when a
benchmark crashed; a goal not met is a result, not an error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shlex
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks import BENCHMARKS
from benchmarks._common import REPO, machine

console = Console()


def _number(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _met(met: bool | None) -> str:
    return {True: "[green]met[/green]", False: "[red]not met[/red]", None: "recorded"}[met]


def _print(record: dict[str, Any]) -> None:
    for name, result in record["benchmarks"].items():
        if "error" in result:
            console.print(f"[red]{name} crashed[/red]\n{result['error']}")
            continue
        table = Table(title=f"{name}: {result['title']}", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for figure, value in result["figures"].items():
            table.add_row(figure, _number(value), result["units"].get(figure, ""))
        console.print(table)
        sizes = ", ".join(f"{k}={v}" for k, v in result["sizes"].items())
        console.print(f"  sizes: {sizes}; {result['seconds']:.1f} s; load average {result['load_average']}")
        for note in result["notes"]:
            console.print(f"  note: {note}")
    goals = Table(title="goals", title_justify="left")
    for column in ("benchmark", "goal", "measured", "target", "result"):
        goals.add_column(column, justify="right" if column in ("measured", "target") else "left")
    for name, result in record["benchmarks"].items():
        for goal in result.get("goals", []):
            target = "" if goal["target"] is None else f"{goal['comparison']} {_number(goal['target'])}"
            goals.add_row(name, goal["goal"], _number(goal["measured"]), target, _met(goal["met"]))
    console.print(goals)


def _strict(value: Any) -> Any:
    """NaN (a figure that could not be measured) as JSON null: strict JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, a smoke test of about a minute (default)")
    mode.add_argument("--full", action="store_true", help="the sizes of record: 10-20 minutes on two cores")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, help="results file (default benchmarks/results-quick.json or -full.json)")
    parser.add_argument("--workdir", type=Path, help="keep every store here (default: temporary folders, removed)")
    args = parser.parse_args(argv)
    quick = not args.full
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    path = args.json or REPO / "benchmarks" / f"results-{'quick' if quick else 'full'}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]),
        "mode": "quick" if quick else "full",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": {},
    }
    crashed = []
    for name in names:
        console.print(f"[bold]{name}[/bold] ({record['mode']}) ...")
        before, start = os.getloadavg()[0], time.perf_counter()
        try:
            result = importlib.import_module(f"benchmarks.{name}").run(quick, args.workdir)
        except Exception:  # noqa: BLE001 - record it, run the others
            result = {"error": traceback.format_exc()}
            crashed.append(name)
        result["seconds"] = time.perf_counter() - start
        # A busy machine slows every timing: the 1-minute load average before and after says how busy.
        result["load_average"] = [round(before, 2), round(os.getloadavg()[0], 2)]
        record["benchmarks"][name] = result
        path.write_text(json.dumps(_strict(record), indent=2, default=str, allow_nan=False) + "\n")
    _print(record)
    console.print(f"results: {path}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
