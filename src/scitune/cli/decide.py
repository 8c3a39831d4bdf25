"""Deciding with evidence: retrain, compare, launch, launches, incumbent, log, note."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from scitune.analysis.compare import ADOPT, DEFAULT_ALPHA, WORSE
from scitune.analysis.variance import variance_table
from scitune.cli._app import Format, StoreOption, app, emit, err, fmt, out, render, trial_progress
from scitune.errors import NotFoundError
from scitune.run.retrain import plan_retrain, run_plan
from scitune.store import Store, decisions

TRIAL_HELP = ("The trial: STUDY/NUMBER (e.g. width=64/3), a study name for its best trial, best, or the trial's id "
              "(the id column of scitune trials).")
SIDE_HELP = "EXPERIMENT/STUDY/NUMBER, EXPERIMENT/STUDY (its best trial), EXPERIMENT (its best), a trial id, or @incumbent."
AlphaOption = Annotated[
    float,
    typer.Option("--alpha", min=0.001, max=0.25,
                 help="One-sided level of the decision: the chance of adopting a change that is no better."),
]


@app.command()
def retrain(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    trial: Annotated[str, typer.Option("--trial", "-t", help=TRIAL_HELP, show_default=False)],
    seeds: Annotated[int, typer.Option("--seeds", "-n", min=1, help="Reruns in total (more are added, none repeated).")] = 5,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Reruns to train at once.")] = 1,
    store: StoreOption = None,
) -> None:
    """Rerun one trial's configuration with other seeds to measure its retrain variance. The reruns
    are kept apart from the search results; run again to resume or to add seeds."""
    db = Store(store)
    plan = plan_retrain(db, experiment, trial, seeds)
    ref = plan.trial
    result = f"{ref.best_value:.4g} at step {ref.best_step}" if ref.best_value is not None else ref.state
    out.print(f"[bold]{ref.label}[/bold] (id {ref.id}, seed {ref.seed}, objective {result}): "
              f"{seeds} reruns with other seeds, {plan.finished} already finished")
    with trial_progress("reruns", seeds, plan.finished) as show:
        done = run_plan(db, plan, workers=workers, on_progress=show)
    render(variance_table({ref.id: done.variance}), title=f"{ref.label}: retrain variance (95% interval of the mean)")
    if done.run.interrupted:
        err.print("stopped: run the same command again to resume")
        raise typer.Exit(130)
    if done.variance.n < 2:
        err.print("fewer than two reruns completed: no variance yet")
    out.print(f"compare it with another trial: scitune compare OTHER {ref.label}")


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help=f"The baseline: {SIDE_HELP}", show_default=False)],
    b: Annotated[str, typer.Argument(help=f"The candidate: {SIDE_HELP}", show_default=False)],
    alpha: AlphaOption = DEFAULT_ALPHA,
    format: Annotated[Format, typer.Option("--format", "-f", help="table (in words), csv (one row) or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Does B beat A beyond the retrain noise? The difference of their reruns' means, its interval
    (Welch's t) and a verdict: adopt, not enough evidence (with the reruns that would settle it), or worse."""
    db = Store(store)
    evidence = decisions.compare_trials(db, decisions.resolve_side(db, a), decisions.resolve_side(db, b), alpha)
    if format is Format.json:
        sys.stdout.write(json.dumps(evidence.as_record(), indent=2) + "\n")
        return
    if format is Format.csv:
        emit(decisions.comparison_row(evidence), format)
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
    force: Annotated[bool, typer.Option("--force", help="Launch even without an adopt verdict (recorded as forced).")] = False,
    alpha: AlphaOption = DEFAULT_ALPHA,
    store: StoreOption = None,
) -> None:
    """Adopt a trial's configuration as the new incumbent. It must beat the current incumbent beyond
    the retrain noise (verdict adopt); the launch records the configuration, that evidence, the note and
    the command that reproduces it."""
    db = Store(store)
    done = decisions.launch(db, experiment, trial, note, against=against, force=force, alpha=alpha)
    evidence = done["evidence"]
    out.print(f"launch {done['id']}: {experiment}/{done['study']}/{done['trial']} is the incumbent", highlight=False)
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
    history = decisions.launch_history(db)
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
    current = decisions.incumbent(db)
    if current is None:
        raise NotFoundError("there is no incumbent yet", hint="adopt one with: scitune launch EXPERIMENT --trial ...")
    if format is IncumbentFormat.yaml:
        sys.stdout.write(decisions.incumbent_yaml(current))
    elif format is IncumbentFormat.json:
        keep = ("id", "experiment", "study", "trial", "trial_id", "config", "objective", "evidence", "note", "command",
                "created_at")
        sys.stdout.write(json.dumps({k: current[k] for k in keep}, indent=2) + "\n")
    else:
        out.print(f"launch {current['id']}: {current['experiment']}/{current['study']}/{current['trial']} "
                  f"(trial id {current['trial_id']}), {current['note']}", markup=False, highlight=False)
        for name, value in current["config"].items():
            out.print(f"  {name}: {fmt(value)}", markup=False, highlight=False)


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
    table = decisions.experiment_log(db, experiment)
    if table.empty and format is Format.table:
        out.print(f"no experiments in {db.url} yet; start one with: scitune run EXPERIMENT.yaml")
        return
    if format is Format.table:
        render(table[LOG_TABLE], title=f"experiment log ({db.url})")
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
    number = decisions.add_note(db, experiment, text, study)
    out.print(f"note {number} added to {experiment}" + (f" / {study}" if study else ""), highlight=False)
