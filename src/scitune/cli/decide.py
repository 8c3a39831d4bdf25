"""``scitune compare``, ``launch``, ``launches`` and ``incumbent``: the face of :mod:`scitune.steps.decide`."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from scitune.analysis.compare import ADOPT, DEFAULT_ALPHA, WORSE
from scitune.cli._app import Format, StoreOption, app, emit, err, fmt, out
from scitune.cli.retrain import TRIAL_HELP
from scitune.errors import NotFoundError
from scitune.steps import decide
from scitune.steps.naming import resolve_side
from scitune.store import Store

SIDE_HELP = "EXPERIMENT/STUDY/NUMBER, EXPERIMENT/STUDY (its best trial), EXPERIMENT (its best), a trial id, or @incumbent."
AlphaOption = Annotated[
    float,
    typer.Option("--alpha", min=0.001, max=0.25,
                 help="One-sided level of the decision: the chance of adopting a change that is no better."),
]


BorrowOption = Annotated[
    bool,
    typer.Option("--borrow-variance", help="Let a side without reruns of its own take the other side's trial "
                 "variance (off: such a side is never adopted)."),
]


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help=f"The baseline: {SIDE_HELP}", show_default=False)],
    b: Annotated[str, typer.Argument(help=f"The candidate: {SIDE_HELP}", show_default=False)],
    alpha: AlphaOption = DEFAULT_ALPHA,
    borrow_variance: BorrowOption = False,
    format: Annotated[Format, typer.Option("--format", "-f", help="table (in words), csv (one row) or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Does B beat A beyond the retrain noise? The difference of their reruns' means, its interval
    (Welch's t) and a verdict: adopt, not enough evidence (with the reruns that would settle it), or worse."""
    db = Store(store)
    evidence = decide.compare_trials(db, resolve_side(db, a), resolve_side(db, b), alpha, borrow_variance)
    if format is Format.json:
        sys.stdout.write(json.dumps(evidence.as_record(), indent=2) + "\n")
        return
    if format is Format.csv:
        emit(decide.comparison_row(evidence), format)
        return
    colour = {ADOPT: "green", WORSE: "red"}.get(evidence.comparison.verdict, "yellow")
    for line in evidence.lines():
        if line.startswith("verdict:"):
            out.print(f"[bold {colour}]{line}[/]", highlight=False)
        else:
            out.print(line, markup=False, highlight=False)


@app.command()
def launch(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    trial: Annotated[str, typer.Option("--trial", "-t", help=TRIAL_HELP, show_default=False)],
    note: Annotated[str, typer.Option("--note", "-m", help="Why: what changed and what it costs.", show_default=False)],
    against: Annotated[str | None, typer.Option(
        "--against", help=f"Compare with this instead of the incumbent: {SIDE_HELP}", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Launch even without an adopt verdict (recorded as forced).")] = False,
    alpha: AlphaOption = DEFAULT_ALPHA,
    borrow_variance: BorrowOption = False,
    store: StoreOption = None,
) -> None:
    """Adopt a trial's configuration as the new incumbent. It must beat the current incumbent beyond
    the retrain noise (verdict adopt); the launch records the configuration, that evidence, the note and
    the command that reproduces it."""
    db = Store(store)
    done = decide.launch(db, experiment, trial, note, against=against, force=force, alpha=alpha,
                         borrow_variance=borrow_variance)
    evidence = done.evidence
    out.print(f"launch {done.id}: {experiment}/{done.study}/{done.trial} is the incumbent", highlight=False)
    for line in evidence.get("summary") or ["first incumbent: no earlier launch to beat"]:
        out.print(f"  {line}", markup=False, highlight=False)
    if evidence.get("forced"):
        err.print("recorded as forced: the evidence did not say adopt")
    out.print("its configuration: scitune incumbent --format yaml")


@app.command()
def launches(
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Every launch, oldest first: the incumbent it made, when, the evidence, the note."""
    db = Store(store)
    history = decide.launch_history(db)
    if history.empty and format is Format.table:
        out.print("no launches yet; adopt an incumbent with: scitune launch EXPERIMENT --trial ... --note ...")
        return
    emit(history.drop(columns=["command"]) if format is Format.table else history, format, title="launches")


class IncumbentFormat(str, Enum):
    yaml = "yaml"
    json = "json"
    table = "table"


@app.command()
def incumbent(
    format: Annotated[IncumbentFormat, typer.Option("--format", "-f", help="yaml (fixed values for the next "
                                                    "experiment file), json or table.")] = IncumbentFormat.table,
    store: StoreOption = None,
) -> None:
    """The current incumbent's configuration (the latest launch)."""
    db = Store(store)
    current = decide.incumbent(db)
    if current is None:
        raise NotFoundError("there is no incumbent yet", hint="adopt one with: scitune launch EXPERIMENT --trial ...")
    if format is IncumbentFormat.yaml:
        sys.stdout.write(decide.incumbent_yaml(current))
    elif format is IncumbentFormat.json:
        keep = ("id", "experiment", "study", "trial", "trial_id", "config", "objective", "evidence", "note", "command",
                "created_at")
        sys.stdout.write(json.dumps({k: getattr(current, k) for k in keep}, indent=2) + "\n")
    else:
        out.print(f"launch {current.id}: {current.experiment}/{current.study}/{current.trial} "
                  f"(trial id {current.trial_id}), {current.note}", markup=False, highlight=False)
        for name, value in current.config.items():
            out.print(f"  {name}: {fmt(value)}", markup=False, highlight=False)
