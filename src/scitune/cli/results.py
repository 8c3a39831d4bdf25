"""``scitune status``, ``trials`` and ``best``: the face of :mod:`scitune.steps.results`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from scitune.analysis.summary import RERUN_COLUMNS, SUMMARY_COLUMNS
from scitune.cli._app import Format, StoreOption, app, emit, fmt
from scitune.cli._table import Rows, print_fitted, sparkline, terminal_width
from scitune.states import STATES, UNUSABLE
from scitune.steps import results
from scitune.store import Store

if TYPE_CHECKING:  # imported where used: ``scitune status`` prints plain rows without it
    import pandas as pd

# Short headers, so that a 100-column terminal holds the columns that matter.
STATUS_HEADERS = {"completed": "done", "infeasible": "infeas", "interrupted": "intr", "pending": "pend",
                  "running": "run", "best_trial": "trial", "best_step": "step"}
TRIAL_HEADERS = {"best_objective": "best", "best_step": "step", "duration_s": "secs", "reruns": "reruns",
                 "rerun_mean": "mean", "rerun_std": "sd", "rerun_ci_low": "ci_lo", "rerun_ci_high": "ci_hi"}


def print_status(db: Store, name: str | None = None) -> None:
    """Render :func:`scitune.steps.results.status` as one table per experiment (and its retrain variance)."""
    shown = results.status(db, name)
    if not shown:
        sys.stdout.write(f"no experiments in {db.safe_url} yet; start one with: scitune run EXPERIMENT.yaml\n")
    for item in shown:
        objective = item.record.stored_objective
        best = f"best {objective.metric} ({objective.mode})"
        columns = [best if c == "best_objective" else c for c in SUMMARY_COLUMNS]
        rows = [{(best if k == "best_objective" else k): v for k, v in row.items()} for row in item.rows]
        idle = [str(s) for s in STATES if not any(row[str(s)] for row in rows)]  # states no trial is in: first to go
        print_fitted(Rows(columns, rows), f"{item.record.name}: {item.record.goal}", headers=STATUS_HEADERS,
                     drop_order=[*idle, "best_step"])
        # Retrained trials: their reruns' spread, the noise a comparison must beat.
        if item.retrained is not None and len(item.retrained):
            print_fitted(item.retrained, f"{item.record.name}: retrain variance of {objective.metric} (reruns with "
                         "other seeds; 95% interval of the mean)", drop_order=list(item.retrained.columns[::-1][:-2]))


def trial_view(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str | None]:
    """The columns of ``scitune trials`` worth a terminal's width: hyperparameters that vary (the
    constant ones go into a note), rerun columns only when a trial was retrained, the reason last
    (and only when a trial has one). Returns the view, the columns to leave out first when it does
    not fit, and the note."""
    fixed_columns = ["study", "trial", "state", "reason", "best_objective", "best_step", "duration_s", "id", "reruns",
                     *RERUN_COLUMNS]
    params = [c for c in table.columns if c not in fixed_columns]
    text = table[params].astype(str)
    constant = [c for c in params if len(table) > 1 and text[c].nunique() == 1]
    # A scientific hyperparameter is spelt out in the study's name already.
    per_study = text.groupby(table["study"].to_numpy()).nunique() if len(table) else text.head(0)
    by_study = [c for c in params if c not in constant and table["study"].duplicated().any()
                and (per_study[c] == 1).all()]
    varying = [c for c in params if c not in constant and c not in by_study]
    reruns = list(RERUN_COLUMNS) if "reruns" in table and (table["reruns"] > 0).any() else []
    reason = ["reason"] if table["reason"].notna().any() else []
    view = table[["study", "trial", "state", *varying, "best_objective", "best_step", "duration_s", "id",
                  *(["reruns", *reruns] if reruns else []), *reason]]
    drop = ["rerun_ci_low", "rerun_ci_high", "rerun_std", "duration_s", "id", *varying[::-1], "best_step"]
    note = ("same in every row: " + ", ".join(f"{c}={table[c].iloc[0]}" for c in constant)) if constant else None
    return view, [c for c in drop if c in view.columns], note


@app.command()
def status(
    experiment: Annotated[Optional[str], typer.Argument(help="Experiment name; all experiments when omitted.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Per study: trials by state, the best objective, its trial and its best step."""
    print_status(Store(store), experiment)


@app.command()
def trials(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    study: Annotated[Optional[str], typer.Option("--study", help="Only this study (e.g. width=64).", show_default=False)] = None,
    state: Annotated[Optional[list[str]], typer.Option(
        "--state", help="Only trials in this state (repeat, or comma-separated), e.g. failed: with their reasons.",
        show_default=False)] = None,
    sort: Annotated[Optional[str], typer.Option(
        "--sort", help="Order by a column (-COLUMN: descending), or best: the ranking every command uses.",
        show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option(
        "--top", min=1, metavar="N", show_default=False,
        help="Only the first N rows: the N best unless --sort says otherwise.")] = None,
    columns: Annotated[Optional[str], typer.Option(
        "--columns", help="Comma-separated columns to show, in order (names as in --format csv).",
        show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """One row per trial: study, trial, state, reason, every hyperparameter, best objective, best step, duration,
    its id, and for a retrained trial its reruns' count, mean, standard deviation and 95% interval. The table
    fits the terminal: hyperparameters the same in every row, and what does not fit, are named below it."""
    states = [s.strip() for part in state or [] for s in part.split(",") if s.strip()]
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    plain = results.trial_plain_rows(Store(store), experiment, study, states=states, sort=sort, top=top, columns=chosen)
    title = experiment + (f" / {study}" if study else "")
    if format is not Format.table:
        emit(plain, format, title=title)  # csv: written from the plain table, without pandas
        return
    table = plain.frame()
    if chosen:
        print_fitted(table, title, headers=TRIAL_HEADERS, free="reason")
        return
    view, drop, note = trial_view(table)
    if table.empty:
        note = f"no trial is {' or '.join(states)}" if states else "no trial yet"
    unusable = bool(states) and set(states) <= set(map(str, UNUSABLE))  # asking why trials failed
    print_fitted(view, title, headers=TRIAL_HEADERS, drop_order=drop, free="reason", free_last=unusable, note=note)


@app.command()
def best(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="table, csv or json.")] = Format.table,
    store: StoreOption = None,
) -> None:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the checkpoint saved there."""
    emit(results.best_trials(Store(store), experiment), format, title=f"{experiment}: best trial of each study")


@app.command()
def show(
    trial: Annotated[str, typer.Argument(
        help="The trial: EXPERIMENT/STUDY/NUMBER (e.g. digits-width/width=64/3, as scitune trials lists it), "
        "its id, EXPERIMENT/STUDY (that study's best) or EXPERIMENT (the best).", show_default=False)],
    lines: Annotated[int, typer.Option("--lines", min=0, help="Last lines of each log file to show.")] = 10,
    store: StoreOption = None,
) -> None:
    """Everything stored about one trial: its parameters, state and reason, the traceback of a crash,
    the last lines its program printed, its checkpoints, its best step and its objective's curve."""
    detail = results.trial_detail(Store(store), trial, log_lines=lines)
    ref, width = detail.ref, terminal_width()
    say = sys.stdout.write
    say(f"{ref.label} (id {ref.id}): {ref.state}\n")
    if detail.reason:
        say(f"reason: {detail.reason}\n")
    took = f", {detail.duration:.1f} s" if detail.duration is not None else ""
    host = f", host {detail.host}" if detail.host else ""
    say(f"seed {ref.seed}, attempt(s) {detail.attempts}{took}{host}\n")
    say("parameters:\n" + "".join(f"  {k} = {fmt(v)}\n" for k, v in ref.params.items()))
    if ref.best_step is not None:
        say(f"best {detail.metric} ({detail.mode}): {fmt(ref.best_value)} at step {ref.best_step} "
            f"of {detail.max_train_steps}\n")
    if len(detail.curve):
        values = detail.curve["value"].tolist()
        steps = detail.curve["step"].tolist()
        say(f"curve of {detail.metric}, steps {steps[0]}..{steps[-1]} ({len(steps)} evaluations, "
            f"{fmt(min(values))}..{fmt(max(values))}):\n  {sparkline(values, max(10, width - 4))}\n")
        picks = {round(i * (len(steps) - 1) / 7) for i in range(8)} if len(steps) > 8 else set(range(len(steps)))
        best = steps.index(ref.best_step) if ref.best_step in steps else None
        say("".join(f"  step {steps[i]:>8}  {fmt(values[i])}{'  <- best' if i == best else ''}\n"
                    for i in sorted(picks | ({best} if best is not None else set()))))
    else:
        say(f"curve: {detail.metric} was never reported\n")
    if detail.last_values:
        say("other metrics, last value: " + ", ".join(f"{k} {fmt(v)}" for k, v in detail.last_values.items()) + "\n")
    if detail.checkpoints:
        say("checkpoints:\n" + "".join(f"  step {s}: {p}{'' if ok else ' (file missing)'}\n"
                                      for s, p, ok in detail.checkpoints))
    else:
        say("checkpoints: none kept\n")
    if detail.directory:
        say(f"folder: {detail.directory}\n")
    for name, text in detail.logs.items():
        say(f"{name}, last {len(text)} line(s):\n" + "".join(f"  {line}\n" for line in text))
    if detail.traceback:
        say("traceback:\n" + "".join(f"  {line}\n" for line in detail.traceback.rstrip().splitlines()))
