"""Per-study summaries and the flat trial table, from a frame of trials.

The input frame has one row per trial with at least: ``study``, ``trial``, ``state``, ``reason``,
``params`` (a dict), ``best_step``, ``best_value``, ``started_at``, ``finished_at``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scitune.analysis.ranking import best_row, ranked, study_order
from scitune.analysis.table import PlainTable, kind_of, missing
from scitune.states import STATES

if TYPE_CHECKING:  # imported where used: ``scitune status`` summarizes plain rows without it
    import pandas as pd

SUMMARY_COLUMNS = ["study", "trials", *map(str, STATES), "best_objective", "best_trial", "best_step"]
RERUN_COLUMNS = {"rerun_mean": "mean", "rerun_std": "std", "rerun_ci_low": "ci_low", "rerun_ci_high": "ci_high"}


def study_summary(trials: pd.DataFrame, mode: str, studies: list[str] | None = None,
                  counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per study: trials by state, and the best completed trial's objective, number and
    best step. ``studies`` fixes the row order (and lists studies with no trial yet).

    ``counts`` (columns study, state, count: the store's ``state_counts``) gives the trials by
    state instead of counting ``trials``, which then need only hold each study's best candidates
    (the store's ``best_candidates``): the summary of 100,000 trials without reading them all.
    The frame of :func:`study_summary_rows`."""
    import pandas as pd

    if counts is None:
        counts = trials.groupby(["study", "state"], sort=False).size().rename("count").reset_index()
    firsts = ranked(trials, mode).drop_duplicates("study")  # each study's best, by the one rule
    rows = study_summary_rows(firsts.to_dict("records"), mode, studies,
                              list(counts[["study", "state", "count"]].itertuples(index=False, name=None)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def study_summary_rows(candidates: Sequence[Mapping[str, Any]], mode: str, studies: Sequence[str] | None,
                       counts: Sequence[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """:func:`study_summary` as plain rows (dicts with :data:`SUMMARY_COLUMNS`), from plain data:
    ``candidates``, trial rows (study, trial, state, best_value, best_step) holding at least each
    study's best trial, ranked by :func:`scitune.analysis.ranking.best_row`; ``counts``,
    (study, state, count) triples. ``scitune status`` reads these from the store without pandas."""
    by_study: dict[str, dict[str, int]] = {}
    for study, state, count in counts:
        by_study.setdefault(study, {})[str(state)] = int(count)
    mine: dict[str, list[Mapping[str, Any]]] = {}
    for row in candidates:
        mine.setdefault(row["study"], []).append(row)
    rows = []
    for study in (list(studies) if studies is not None else list(by_study)):
        mine_counts = by_study.get(study, {})
        row: dict[str, Any] = {"study": study, "trials": int(sum(mine_counts.values())),
                               **{str(s): int(mine_counts.get(s, 0)) for s in STATES}}
        best = best_row(mine.get(study, ()), mode)
        if best is None:
            row.update(best_objective=None, best_trial=None, best_step=None)
        else:
            row.update(best_objective=float(best["best_value"]), best_trial=int(best["trial"]),
                       best_step=int(best["best_step"]))
        rows.append(row)
    return rows


TRIAL_FIELDS = ("study", "trial", "state", "reason", "params", "best_step", "best_value", "started_at", "finished_at",
                "id")  # the trial columns the trial table is made of
_TRIAL_KINDS = {"best_step": "Int64", "id": "Int64", "reruns": "Int64", **{column: "float" for column in RERUN_COLUMNS}}


def trial_table(trials: pd.DataFrame, variances: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """One row per trial with every hyperparameter as its own column (absent conditional
    parameters are empty), its best objective and step, its duration in seconds, its global id, and
    for a retrained trial its reruns' count, mean, standard deviation and confidence interval
    (``variances``: :func:`scitune.analysis.variance.trial_variances`, keyed by trial id).
    :func:`trial_plain_table` as a frame."""
    columns = {name: trials[name].tolist() if name in trials else [None] * len(trials) for name in TRIAL_FIELDS}
    return trial_plain_table(columns, variances).frame()


def trial_plain_table(trials: Mapping[str, Sequence[Any]], variances: Mapping[int, Any] | None = None) -> PlainTable:
    """:func:`trial_table` from plain columns (``trials``: :data:`TRIAL_FIELDS`, a list each, params
    as dicts), as a plain table: the hyperparameter columns of the kinds pandas would give them."""
    params = list(trials["params"])
    names = list(dict.fromkeys(name for p in params for name in p))
    columns: dict[str, Sequence[Any]] = {"study": list(trials["study"]), "trial": [int(t) for t in trials["trial"]],
                                         "state": list(trials["state"]), "reason": list(trials["reason"])}
    for name in names:
        columns[name] = [p.get(name) for p in params]
    kinds = {name: kind_of(values) for name, values in columns.items()}
    columns["best_objective"] = _numbers(trials["best_value"])
    steps = list(trials["best_step"])
    if not set(map(type, steps)) <= {int, type(None)}:  # the store's: ints, None where there is none
        steps = [None if missing(s) else int(s) for s in _numbers(steps)]
    columns["best_step"] = steps
    columns["duration_s"] = _durations(_numbers(trials["started_at"]), _numbers(trials["finished_at"]))
    ids = list(trials["id"])
    columns["id"] = [None if i is None else int(i) for i in ids]
    found = [(variances or {}).get(i) for i in ids]
    columns["reruns"] = [v.n if v else 0 for v in found]
    for column, field in RERUN_COLUMNS.items():
        columns[column] = [getattr(v, field) if v else None for v in found]
    # Floats (ints where every one is, as pandas reads them); a hyperparameter called like one of
    # these columns is overwritten by it, in its place.
    kinds.update(best_objective=kind_of(columns["best_objective"]), duration_s=kind_of(columns["duration_s"]),
                 **_TRIAL_KINDS)
    return PlainTable.of(columns, kinds)


def _numbers(values: Sequence[Any]) -> list[float | int]:
    """A column of stored numbers as ``pd.to_numeric(errors="coerce")`` reads it: an int stays one,
    anything else is a float (NaN where there is none)."""
    if set(map(type, values)) <= {float, type(None)}:  # what the store holds: a pass over 100,000 in C
        return [math.nan if v is None else v for v in values]
    return [_numeric(v) for v in values]


def _numeric(value: Any) -> float | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def _durations(starts: list[float | int], ends: list[float | int]) -> list[float | int]:
    """Seconds from each start to its end, to the millisecond as numpy rounds (multiply, round half
    to even, divide): the digits of the frame's ``.round(3)``; a difference of two ints stays one."""
    return [d if isinstance(d := end - start, int) else round(d * 1000.0, 0) / 1000.0
            for start, end in zip(starts, ends)]


def best_per_study(trials: pd.DataFrame, checkpoints: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Retrospective selection, one row per study: its best completed trial, the step where that
    trial's objective was best, the objective there, and the checkpoint to use.

    ``checkpoints`` has one row per kept checkpoint (trial_id, step, path). The checkpoint is the one
    saved at the best step; when none was saved exactly there, the kept checkpoint of that trial
    whose step is closest to it (and its step, so the difference is visible)."""
    import pandas as pd

    columns = ["study", "trial", "best_step", "best_objective", "checkpoint_step", "checkpoint"]
    rows = []
    done = ranked(trials, mode)
    for study in study_order(trials):
        group = done[done["study"] == study]
        if group.empty:
            continue
        best = group.iloc[0]
        mine = checkpoints[checkpoints["trial_id"] == best["id"]]
        ckpt_step, ckpt_path = None, None
        if not mine.empty:
            nearest = mine.loc[(mine["step"] - best["best_step"]).abs().idxmin()]
            ckpt_step, ckpt_path = int(nearest["step"]), str(nearest["path"])
        rows.append(
            {"study": study, "trial": int(best["trial"]), "best_step": int(best["best_step"]),
             "best_objective": float(best["best_value"]), "checkpoint_step": ckpt_step, "checkpoint": ckpt_path}
        )
    return pd.DataFrame(rows, columns=columns)
