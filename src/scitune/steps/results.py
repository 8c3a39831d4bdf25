"""What a run left in the store: per-study status, the trial table, and each study's best trial
with the checkpoint to use.

Playbook ("Saving checkpoints and retrospectively selecting the best checkpoint"; "Setting up
experiment tracking"): a trial's result is its best evaluation, read retrospectively, and each
study's best trial is one command away. ``scitune status`` is :func:`status`, ``scitune trials`` is
:func:`trial_rows`, ``scitune best`` is :func:`best_trials`. "Best" is
:func:`scitune.analysis.ranking.ranked`'s first, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scitune.analysis.summary import best_per_study, study_summary, trial_table
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
        mode = record.objective.mode
        # Counted and narrowed in the database: a status of 100,000 trials reads a few rows.
        summary = study_summary(store.best_candidates(record.name, mode), mode, names, store.state_counts(record.id))
        out.append(Status(record, summary, variance_table(retrain_variances(store, record.name))))
    return out


def trial_rows(store: Store, experiment: str, study: str | None = None) -> pd.DataFrame:
    """One row per search trial (``study``'s only, when given): study, trial, state, reason, every
    hyperparameter, best objective and step, duration, id, and a retrained trial's reruns."""
    return trial_table(store.trials(experiment, study), retrain_variances(store, experiment))


def best_trials(store: Store, experiment: str) -> pd.DataFrame:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the kept checkpoint of that step (or the nearest kept one)."""
    mode = store.experiment(experiment).objective.mode
    trials = store.trials(experiment)
    return best_per_study(trials, store.checkpoints(trials["id"].tolist()), mode)
