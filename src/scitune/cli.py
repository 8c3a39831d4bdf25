"""The command line: parse, call the library, render with rich. No logic the Python API lacks."""

from __future__ import annotations

import json
import math
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scitune.analysis import study_summary, trial_table
from scitune.config import load_experiment
from scitune.errors import ScituneError
from scitune.run import load_train, prepare
from scitune.run.local import LocalRunner
from scitune.store import FINISHED, STORE_ENV, Store

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


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _render(frame: pd.DataFrame, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    out.print(table)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The experiment file (YAML).", show_default=False)],
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Trials to train at once, each in its own process.")] = 1,
    store: StoreOption = None,
) -> None:
    """Run every study of an experiment, or resume it: finished trials stay, interrupted and pending
    ones run. Several runners on one experiment and store share the work."""
    experiment, text = load_experiment(file)
    train = load_train(experiment.train, file.parent, str(file))
    db = Store(store)
    command = shlex.join(["scitune", *sys.argv[1:]]) if sys.argv else None
    experiment_id = prepare(db, experiment, text, str(file.resolve()), command)
    total = experiment.budget.trials_per_study * len(experiment.studies())
    already = sum(db.progress(experiment_id, experiment.objective.mode)["states"][s] for s in FINISHED)
    out.print(f"[bold]{experiment.name}[/bold]: {experiment.goal}")
    out.print(
        f"{len(experiment.studies())} studies x {experiment.budget.trials_per_study} trials, {workers} worker(s), "
        f"store {db.url}" + (f" - resuming, {already} of {total} trials already finished" if already else "")
    )
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
        task = bar.add_task("trials", total=total, completed=already, infeasible=0, failed=0, best="-")

        def show(progress: dict[str, Any]) -> None:
            states = progress["states"]
            bar.update(
                task,
                completed=sum(states[s] for s in FINISHED),
                infeasible=states["infeasible"],
                failed=states["failed"],
                best=_fmt(progress["best"]),
            )

        summary = LocalRunner(db, experiment, train, workers=workers, on_progress=show).run(experiment_id)
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
    _render(summary, title=f"{name}: {exp['goal']}")


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
    """One row per trial: study, trial, state, reason, every hyperparameter, best objective, best step, duration."""
    db = Store(store)
    table = trial_table(db.trials(experiment, study))
    if format is Format.csv:
        sys.stdout.write(table.to_csv(index=False))
    elif format is Format.json:
        # Not DataFrame.to_json: it rounds floats to 10 digits, and a hyperparameter must round-trip.
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        sys.stdout.write(json.dumps(records, indent=2, default=lambda v: v.item()) + "\n")
    else:
        _render(table, title=experiment + (f" / {study}" if study else ""))


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit code 2."""
    try:
        app()
    except ScituneError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        err.print(f"error: {error.message}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
