"""What a run left in the store: per-study status, the trial table, and each study's best trial
with the checkpoint to use.

Playbook ("Saving checkpoints and retrospectively selecting the best checkpoint"; "Setting up
experiment tracking"): a trial's result is its best evaluation, read retrospectively, and each
study's best trial is one command away. ``scitune status`` is :func:`status`, ``scitune trials`` is
:func:`trial_rows`, ``scitune best`` is :func:`best_trials`. "Best" is
:func:`scitune.analysis.ranking.ranked`'s first, everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from scitune.analysis.ranking import ranked
from scitune.analysis.summary import best_per_study, study_summary, trial_table
from scitune.errors import UsageError
from scitune.states import STATES
from scitune.analysis.variance import variance_table
from scitune.steps.retrain import retrain_variances
from scitune.store import ExperimentRecord, Store


@dataclass(frozen=True)
class Status:
    """One experiment's studies: trials by state, the best objective, its trial and step; and the
    retrain variance of each retrained trial (the noise a comparison must beat)."""

    record: ExperimentRecord
    studies: pd.DataFrame  # analysis.summary.study_summary's columns
    variance: pd.DataFrame  # analysis.variance.variance_table's columns; empty without retrains


def status(store: Store, experiment: str | None = None) -> list[Status]:
    """The status of ``experiment``, or of every experiment in the store (oldest first)."""
    records = [store.experiment(experiment)] if experiment else store.experiments()
    out = []
    for record in records:
        names = [s.name for s in store.studies(record.id)]
        summary = study_summary(store.trials(record.name), record.objective.mode, names)
        out.append(Status(record, summary, variance_table(retrain_variances(store, record.name))))
    return out


def trial_rows(
    store: Store,
    experiment: str,
    study: str | None = None,
    *,
    states: Sequence[str] | None = None,
    sort: str | None = None,
    top: int | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per search trial (``study``'s only, when given): study, trial, state, reason, every
    hyperparameter, best objective and step, duration, id, and a retrained trial's reruns.

    ``states`` keeps the trials in those states (e.g. ``["failed"]``, with their reasons);
    ``sort`` orders rows by a column, ascending (``-COLUMN``: descending; empty cells last), or
    ``best`` for the ranking every command uses (:func:`scitune.analysis.ranking.ranked`; trials
    without a usable objective after); ``top`` keeps the first ``top`` rows (the best, unless
    ``sort`` says otherwise); ``columns`` keeps those columns, in that order."""
    frame = store.trials(experiment, study)
    if states:
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise UsageError(f"--state {unknown[0]!r} is not a trial state", hint=f"states: {', '.join(STATES)}")
        frame = frame[frame["state"].isin(list(states))]
    table = trial_table(frame, retrain_variances(store, experiment))
    if top is not None and top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    sort = sort or ("best" if top is not None else None)
    if sort == "best":
        order = ranked(frame, store.experiment(experiment).objective.mode)["id"].tolist()
        rank = {trial_id: i for i, trial_id in enumerate(order)}
        key = table["id"].map(lambda i: rank.get(i, len(rank)))
        table = table.iloc[key.argsort(kind="stable")]
    elif sort:
        name = sort.lstrip("-")
        if name not in table.columns:
            raise UsageError(f"--sort {sort!r}: no such column", hint=f"columns: best, {', '.join(table.columns)}")
        table = table.sort_values(name, ascending=not sort.startswith("-"), kind="stable", na_position="last")
    if top is not None:
        table = table.head(top)
    if columns:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise UsageError(f"--columns: no column {missing[0]!r}", hint=f"columns: {', '.join(table.columns)}")
        table = table[list(columns)]
    return table.reset_index(drop=True)


def best_trials(store: Store, experiment: str) -> pd.DataFrame:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the kept checkpoint of that step (or the nearest kept one)."""
    mode = store.experiment(experiment).objective.mode
    trials = store.trials(experiment)
    return best_per_study(trials, store.checkpoints(trials["id"].tolist()), mode)
