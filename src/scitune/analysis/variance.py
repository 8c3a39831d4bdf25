"""Retrain variance: how far one configuration's objective moves when only its seed changes.

``scitune retrain`` reruns a trial's configuration with other seeds (other initialization and data
order). Those reruns form a sample of the objective, each read at the rerun's own best step, and
this module describes it: mean, standard deviation and a Student-t confidence interval of the mean.

The retrained trial itself is **not** part of the sample. It is usually a study's best trial, picked
from many for having the best objective, so its value carries the luck that picked it (the winner's
curse) and would pull the mean toward looking good. It is kept alongside as ``original``. A trial
without reruns therefore has no variance; its only value is its own objective.

Reruns that ended infeasible or failed are counted, not averaged: a configuration that diverges at
some seeds is unstable, and its mean over the seeds that trained would flatter it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scitune.analysis.ranking import ranked
from scitune.states import UNFINISHED, UNUSABLE, TrialState

DEFAULT_CONFIDENCE = 0.95
VARIANCE_COLUMNS = ["study", "trial", "id", "original", "reruns", "mean", "std", "ci_low", "ci_high", "unstable"]


@dataclass(frozen=True)
class TrialVariance:
    """One retrained configuration: its reruns' objectives and what they say about the noise.

    ``std``, ``ci_low`` and ``ci_high`` are None with fewer than two completed reruns. The interval
    is for the mean objective at ``confidence``."""

    trial_id: int | None
    values: tuple[float, ...]  # completed reruns' objectives, at each rerun's best step
    mean: float | None
    std: float | None  # sample standard deviation (ddof=1)
    ci_low: float | None
    ci_high: float | None
    confidence: float = DEFAULT_CONFIDENCE
    original: float | None = None  # the retrained trial's own objective (not in the sample)
    unstable: int = 0  # reruns that ended infeasible or failed
    unfinished: int = 0  # reruns still pending, running or interrupted
    study: str | None = None
    trial: int | None = None  # the retrained trial's number in its study
    ids: tuple[int, ...] = ()  # the completed reruns' trial ids, in the order of ``values`` (when known)

    @property
    def n(self) -> int:
        return len(self.values)


def describe(values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE) -> tuple[float | None, ...]:
    """``(mean, std, ci_low, ci_high)`` of a sample; the last three are None below two values.
    The interval is Student's t for the mean (zero width when every value is equal)."""
    sample = np.asarray(values, dtype=float)
    if sample.size == 0:
        return None, None, None, None
    mean = float(sample.mean())
    if sample.size < 2:
        return mean, None, None, None
    std = float(sample.std(ddof=1))
    if std == 0.0:
        return mean, 0.0, mean, mean
    from scipy import stats  # here, not at import: `scitune status` should not wait for scipy.stats

    low, high = stats.t.interval(confidence, sample.size - 1, loc=mean, scale=std / math.sqrt(sample.size))
    return mean, std, float(low), float(high)


def trial_variance(
    values: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    trial_id: int | None = None,
    original: float | None = None,
    unstable: int = 0,
    unfinished: int = 0,
    study: str | None = None,
    trial: int | None = None,
    ids: Sequence[int] = (),
) -> TrialVariance:
    """Describe the reruns ``values`` of one configuration (non-finite values are dropped, and
    their ``ids`` with them when given)."""
    keep = [i for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    finite = tuple(float(values[i]) for i in keep)
    kept_ids = tuple(int(ids[i]) for i in keep) if len(ids) == len(values) else ()
    mean, std, low, high = describe(finite, confidence)
    return TrialVariance(trial_id, finite, mean, std, low, high, confidence, original, unstable, unfinished, study,
                         trial, kept_ids)


def trial_variances(
    search: pd.DataFrame | None, retrain: pd.DataFrame | None, confidence: float = DEFAULT_CONFIDENCE
) -> dict[int, TrialVariance]:
    """Every retrained trial's variance, keyed by the retrained trial's id.

    ``retrain``: the retrain trials (``Store.trials(name, kind=StudyKind.RETRAIN)``: state, best_value and
    ``parent_trial_id``); ``search``: the search trials (id, study, trial, best_value), used only to
    name each retrained trial and give its original objective; may be None."""
    if retrain is None or retrain.empty:
        return {}
    parents = {}
    if search is not None and not search.empty:
        parents = {int(r.id): r for r in search.itertuples()}
    out = {}
    for parent_id, group in retrain.groupby("parent_trial_id", sort=False):
        values = pd.to_numeric(group["best_value"], errors="coerce")
        done = group[(group["state"] == TrialState.COMPLETED) & values.notna()]
        parent = parents.get(int(parent_id))
        original = None
        if parent is not None and parent.state == TrialState.COMPLETED and pd.notna(parent.best_value):
            original = float(parent.best_value)
        out[int(parent_id)] = trial_variance(
            pd.to_numeric(done["best_value"]).tolist(),
            ids=[int(i) for i in done["id"]] if "id" in done else (),
            confidence=confidence,
            trial_id=int(parent_id),
            original=original,
            unstable=int(group["state"].isin(UNUSABLE).sum()),
            unfinished=int(group["state"].isin(UNFINISHED).sum()),
            study=None if parent is None else str(parent.study),
            trial=None if parent is None else int(parent.trial),
        )
    return out


def variance_table(variances: Mapping[int, TrialVariance]) -> pd.DataFrame:
    """One row per retrained trial, ordered by study and trial: the original objective, the number
    of completed reruns, their mean, standard deviation and confidence interval, and how many reruns
    were infeasible or failed."""
    rows = [
        {"study": v.study, "trial": v.trial, "id": v.trial_id, "original": v.original, "reruns": v.n,
         "mean": v.mean, "std": v.std, "ci_low": v.ci_low, "ci_high": v.ci_high, "unstable": v.unstable}
        for v in variances.values()
    ]
    table = pd.DataFrame(rows, columns=VARIANCE_COLUMNS)
    for column in ("trial", "id"):
        table[column] = pd.array(table[column], dtype="Int64")
    for column in ("original", "mean", "std", "ci_low", "ci_high"):
        table[column] = pd.to_numeric(table[column]).astype(float)
    return table.sort_values(["study", "trial"], kind="stable", na_position="last").reset_index(drop=True)


def study_noise(variances: Mapping[int, TrialVariance]) -> dict[str, float]:
    """Each study's retrain standard deviation: pooled over its retrained trials with at least two
    completed reruns (the configuration changes between them; the seed noise is assumed not to)."""
    pooled: dict[str, list[float]] = {}
    for v in variances.values():
        if v.study is not None and v.std is not None:
            sums = pooled.setdefault(v.study, [0.0, 0.0])
            sums[0] += (v.n - 1) * v.std**2
            sums[1] += v.n - 1
    return {study: math.sqrt(ss / df) for study, (ss, df) in pooled.items() if df > 0}


# -- study variance: the same study searched again with other quasi-random seeds ---------------------

SEARCH_SEED_MARK = "/search-seed="  # a study rerun is named STUDY/search-seed=SEED


def study_rerun_name(study: str, seed: int) -> str:
    return f"{study}{SEARCH_SEED_MARK}{int(seed)}"


def rerun_of(name: str) -> str | None:
    """The study a study rerun's name reruns, or None for any other study name."""
    head, mark, seed = str(name).rpartition(SEARCH_SEED_MARK)
    return head if mark and seed.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class StudyVariance:
    """How far a study's best objective moves when the whole study is searched again with other
    quasi-random seeds (other points, other training seeds): the playbook's second source of
    variation, beside a trial's retrain variance. ``bests`` holds the original study's best first,
    then each rerun's that has a completed trial; ``std`` is None below two."""

    study: str
    bests: tuple[float, ...]
    mean: float | None
    std: float | None
    unfinished: int = 0  # study reruns with trials still to run

    @property
    def n(self) -> int:
        return len(self.bests)


def study_variances(search: pd.DataFrame, reruns: pd.DataFrame | None, mode: str) -> dict[str, StudyVariance]:
    """Each study searched again at least once: the spread of its best objective over its search
    seeds. ``search``: the search trials; ``reruns``: retrain-kind trials (``Store.trials(name,
    kind="retrain")``), of which the study reruns (named by :func:`study_rerun_name`) are used."""
    if reruns is None or reruns.empty or search is None or search.empty:
        return {}
    names = reruns["study"].map(rerun_of)
    mine = reruns[names.notna()].assign(_of=names[names.notna()])
    out = {}
    for study, group in mine.groupby("_of", sort=False):
        bests = []
        original = ranked(search[search["study"] == study], mode)
        if not original.empty:
            bests.append(float(original.iloc[0]["best_value"]))
        unfinished = 0
        for _, rerun in group.groupby("study", sort=True):
            done = ranked(rerun, mode)
            unfinished += int(rerun["state"].isin(UNFINISHED).any())
            if not done.empty:
                bests.append(float(done.iloc[0]["best_value"]))
        mean, std, _, _ = describe(bests)
        out[str(study)] = StudyVariance(str(study), tuple(bests), mean, std, unfinished)
    return out
