"""What a run left in the store: per-study status, the trial table, and each study's best trial
with the checkpoint to use.

Playbook ("Saving checkpoints and retrospectively selecting the best checkpoint"; "Setting up
experiment tracking"): a trial's result is its best evaluation, read retrospectively, and each
study's best trial is one command away. ``scitune status`` is :func:`status`, ``scitune trials`` is
:func:`trial_plain_rows` (plain columns, written as csv without pandas; :func:`trial_rows`: its frame),
``scitune best`` is :func:`best_trials`, ``scitune show`` is :func:`trial_detail`. "Best" is
:func:`scitune.analysis.ranking.ranked`'s first, everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scitune.analysis.ranking import rank_key
from scitune.analysis.summary import SUMMARY_COLUMNS, best_per_study, study_summary_rows, trial_plain_table
from scitune.analysis.table import PlainTable
from scitune.errors import UsageError
from scitune.states import STATES, StudyKind
from scitune.store import ExperimentRecord, Store

if TYPE_CHECKING:  # imported where used: ``scitune status`` needs neither pandas nor the runner
    import pandas as pd

    from scitune.steps.naming import TrialRef


@dataclass(frozen=True)
class Status:
    """One experiment's studies: trials by state, the best objective, its trial and step; and the
    retrain variance of each retrained trial (the noise a comparison must beat)."""

    record: ExperimentRecord
    rows: list[dict[str, Any]]  # one per study, analysis.summary.study_summary's columns: plain data
    retrained: pd.DataFrame | None = None  # analysis.variance.variance_table's rows; None without retrains

    @property
    def studies(self) -> pd.DataFrame:
        """:attr:`rows` as a frame (analysis.summary.study_summary's)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)

    @property
    def variance(self) -> pd.DataFrame:
        """analysis.variance.variance_table's columns; empty without retrains."""
        from scitune.analysis.variance import variance_table

        return self.retrained if self.retrained is not None else variance_table({})


def status(store: Store, experiment: str | None = None) -> list[Status]:
    """The status of ``experiment``, or of every experiment in the store (oldest first)."""
    records = [store.experiment(experiment)] if experiment else store.experiments()
    out = []
    for record in records:
        names = [s.name for s in store.studies(record.id)]
        mode = record.stored_objective.mode
        # Counted and narrowed in the database: a status of 100,000 trials reads a few rows, as
        # plain data (no pandas on this path: ``scitune status`` starts in a fraction of a second).
        rows = study_summary_rows(store.best_candidate_rows(record.name, mode), mode, names,
                                  store.state_count_rows(record.id))
        retrained = None
        if store.studies(record.id, kind=StudyKind.RETRAIN):  # most experiments: none
            from scitune.analysis.variance import variance_table
            from scitune.steps.retrain import retrain_variances

            retrained = variance_table(retrain_variances(store, record.name))
        out.append(Status(record, rows, retrained))
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
    ``sort`` says otherwise); ``columns`` keeps those columns, in that order. :func:`trial_plain_rows`
    as a frame."""
    return trial_plain_rows(store, experiment, study, states=states, sort=sort, top=top, columns=columns).frame()


def trial_plain_rows(
    store: Store,
    experiment: str,
    study: str | None = None,
    *,
    states: Sequence[str] | None = None,
    sort: str | None = None,
    top: int | None = None,
    columns: Sequence[str] | None = None,
) -> PlainTable:
    """:func:`trial_rows` as a plain table, read and ordered without pandas (``scitune trials
    --format csv`` of 100,000 trials writes it as it is)."""
    trials = store.trial_columns(experiment, study)
    if states:
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise UsageError(f"--state {unknown[0]!r} is not a trial state", hint=f"states: {', '.join(STATES)}")
        keep = [i for i, state in enumerate(trials["state"]) if state in states]
        trials = {name: [values[i] for i in keep] for name, values in trials.items()}
    record = store.experiment(experiment)
    variances = {}
    if store.studies(record.id, kind=StudyKind.RETRAIN):  # most experiments: none (and no runner imported)
        from scitune.steps.retrain import retrain_variances

        variances = retrain_variances(store, experiment)
    table = trial_plain_table(trials, variances)
    if top is not None and top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    sort = sort or ("best" if top is not None else None)
    if sort == "best":
        # ranked()'s order (the one rule, on plain rows), then the trials that do not rank, as they were.
        mode = record.objective.mode
        keys = [rank_key({"state": state, "best_value": value, "trial": number}, mode)
                for state, value, number in zip(trials["state"], trials["best_value"], trials["trial"])]
        ranking = sorted((i for i, key in enumerate(keys) if key is not None), key=keys.__getitem__)
        table = table.rows(ranking + [i for i, key in enumerate(keys) if key is None])
    elif sort:
        name = sort.lstrip("-")
        if name not in table.names:
            raise UsageError(f"--sort {sort!r}: no such column", hint=f"columns: best, {', '.join(table.names)}")
        try:
            table = table.sorted_by(name, descending=sort.startswith("-"))
        except TypeError:  # e.g. numbers and text in one column: no order between them
            raise UsageError(f"--sort {sort!r}: the column's values cannot be ordered (they mix numbers, text or "
                             "objects)", hint="sort by another column, or keep one kind of trial with --state or --study") from None
    if top is not None:
        table = table.rows(range(min(top, len(table))))
    if columns:
        missing = [c for c in columns if c not in table.names]
        if missing:
            raise UsageError(f"--columns: no column {missing[0]!r}", hint=f"columns: {', '.join(table.names)}")
        table = table.select(list(columns))
    return table


def best_trials(store: Store, experiment: str) -> pd.DataFrame:
    """Retrospective checkpoint selection: per study, the best trial, its best step and objective,
    and the kept checkpoint of that step (or the nearest kept one)."""
    mode = store.experiment(experiment).objective.mode
    trials = store.trials(experiment)
    return best_per_study(trials, store.checkpoints(trials["id"].tolist()), mode)


LOG_FILES = ("stdout.log", "stderr.log")  # what a command-mode trial's program printed, in its folder


@dataclass(frozen=True)
class TrialDetail:
    """Everything stored about one trial: how it ended and why, its traceback, its objective's
    curve and best point, its other metrics' last values, its kept checkpoints (and whether each
    file is still there), and the last lines its program printed."""

    ref: TrialRef
    metric: str
    mode: str
    reason: str | None
    traceback: str | None
    attempts: int
    host: str | None
    duration: float | None  # seconds
    directory: str | None
    max_train_steps: int
    curve: pd.DataFrame  # step, value: the objective at each evaluation
    last_values: dict[str, float]  # every other metric's value at its last step
    checkpoints: list[tuple[int, str, bool]]  # step, path, the file exists
    logs: dict[str, list[str]]  # file name -> its last lines


def _tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.rstrip().splitlines()[-lines:]


def trial_detail(store: Store, ref: str, log_lines: int = 10) -> TrialDetail:
    """The trial ``ref`` names anywhere in the store (``EXPERIMENT/STUDY/NUMBER``, an id, or the
    other spellings of :mod:`scitune.steps.naming`), with all that is stored about it."""
    import pandas as pd

    from scitune.steps.naming import resolve_side

    trial = resolve_side(store, ref)
    record = store.experiment(trial.experiment)
    trials = store.trials(trial.experiment)
    row = trials[trials["id"] == trial.id].iloc[0]
    points = store.metrics([trial.id])
    objective = record.objective
    mine = points[points["name"] == objective.metric].sort_values("step")
    others = points[points["name"] != objective.metric].sort_values("step")
    last = {str(name): float(group["value"].iloc[-1]) for name, group in others.groupby("name")}
    kept = store.checkpoints([trial.id])
    checkpoints = [(int(r.step), str(r.path), Path(r.path).is_file()) for r in kept.itertuples()]
    directory = row["directory"] if isinstance(row["directory"], str) else None
    logs = {name: _tail(Path(directory) / name, log_lines) for name in LOG_FILES} if directory else {}
    started, finished = pd.to_numeric(row["started_at"]), pd.to_numeric(row["finished_at"])
    return TrialDetail(
        ref=trial, metric=objective.metric, mode=objective.mode,
        reason=row["reason"] if isinstance(row["reason"], str) else None,
        traceback=row["traceback"] if isinstance(row["traceback"], str) else None,
        attempts=int(row["attempts"]), host=row["host"] if isinstance(row["host"], str) else None,
        duration=float(finished - started) if pd.notna(started) and pd.notna(finished) else None,
        directory=directory, max_train_steps=record.experiment.budget.max_train_steps,
        curve=mine[["step", "value"]].reset_index(drop=True), last_values=last, checkpoints=checkpoints,
        logs={name: lines for name, lines in logs.items() if lines},
    )
