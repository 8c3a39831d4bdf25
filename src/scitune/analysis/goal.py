"""The goal's answer: the best objective at each scientific value, after tuning the nuisance ones.

This is the isolation plot's content (playbook: "Detecting whether a change is useful with isolation plots"): one point per study, its best trial. How
far apart two scientific values are means little without a sense of the noise, so each study also
carries a spread:

- with retrain results (reruns of a study's best trial with other seeds), their
  :class:`~scitune.analysis.variance.TrialVariance`: mean, standard deviation and confidence
  interval, the retrain variance the playbook asks for before adopting a change. The best trial's
  own result is left out of it, since it was selected for being lucky;
- without them, the gap between the study's best and its ``top_k``-th best trial: how much the best
  objective moves between nearby points of the search, a rough proxy for study luck.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scitune.analysis.compare import welch
from scitune.analysis.ranking import oriented, ranked
from scitune.analysis.variance import TrialVariance
from scitune.config import StudySpec


@dataclass(frozen=True)
class StudyBest:
    """One study's best trial, and how much to trust its objective."""

    study: str
    scientific: dict[str, Any]
    completed: int
    best_value: float | None = None
    best_trial: int | None = None
    best_trial_id: int | None = None
    best_step: int | None = None
    spread: float | None = None  # best minus top_k-th best (absolute); None with fewer than 2 completed
    retrain: TrialVariance | None = None  # the best trial's reruns, when it was retrained


@dataclass(frozen=True)
class GoalAnswer:
    """Studies ranked by best objective, and whether the first one's lead is larger than the noise."""

    ranking: list[StudyBest]  # studies with a completed trial, best first
    missing: list[str] = field(default_factory=list)  # studies without any completed trial
    gap: float | None = None  # between the first two (absolute)
    noise: float | None = None  # the spread the gap is compared with
    noise_source: str | None = None  # "retrain" or "top_k"
    p_value: float | None = None  # Welch's t-test on the retrains of the first two, when both have >= 2
    decisive: bool | None = None  # None when there is nothing to compare


def study_bests(
    trials: pd.DataFrame,
    studies: Sequence[StudySpec],
    mode: str,
    top_k: int = 3,
    retrain: Mapping[int, TrialVariance] | None = None,
) -> list[StudyBest]:
    """One :class:`StudyBest` per study (``studies`` in order: anything with ``name`` and
    ``scientific``, such as :class:`~scitune.config.StudySpec` or a store's study records). ``retrain`` maps a trial id to its reruns' variance
    (:func:`scitune.analysis.variance.trial_variances`)."""
    done = ranked(trials, mode)
    out = []
    for study in studies:
        group = done[done["study"] == study.name]
        if group.empty:
            out.append(StudyBest(study.name, dict(study.scientific), 0))
            continue
        best = group.iloc[0]
        top = group["best_value"].to_numpy(float)[:top_k]
        trial_id = int(best["id"]) if "id" in group else None
        out.append(
            StudyBest(
                study=study.name,
                scientific=dict(study.scientific),
                completed=len(group),
                best_value=float(best["best_value"]),
                best_trial=int(best["trial"]),
                best_trial_id=trial_id,
                best_step=None if pd.isna(best["best_step"]) else int(best["best_step"]),
                spread=float(abs(top[-1] - top[0])) if len(top) > 1 else None,
                retrain=(retrain or {}).get(trial_id) if trial_id is not None else None,
            )
        )
    return out


def measured(retrain: TrialVariance | None) -> TrialVariance | None:
    """The retrain variance when at least one rerun completed (reruns that all diverged measure nothing)."""
    return retrain if retrain is not None and retrain.mean is not None else None


def goal_answer(bests: list[StudyBest], mode: str) -> GoalAnswer:
    """Rank the studies and compare the first two: by their retrain means when both were retrained
    and at least one has a standard deviation (two or more completed reruns), with Welch's t-test
    when both have one (decisive at p < 0.05), else decisive when the gap exceeds twice the known
    standard deviation; otherwise by their best objectives against the larger of their top-k
    spreads (decisive when the gap is larger)."""
    have = [b for b in bests if b.best_value is not None]
    missing = [b.study for b in bests if b.best_value is None]
    have.sort(key=lambda b: float(oriented(b.best_value, mode)))  # type: ignore[arg-type]
    if len(have) < 2:
        return GoalAnswer(have, missing)
    first, second = have[0], have[1]
    a, b = measured(first.retrain), measured(second.retrain)
    stds = [r.std for r in (a, b) if r is not None and r.std is not None]
    if a is not None and b is not None and stds:
        assert a.mean is not None and b.mean is not None
        gap, noise = abs(a.mean - b.mean), max(stds)
        p = None
        if a.std is not None and b.std is not None and (a.std > 0 or b.std > 0):
            p = welch(a.values, b.values).p_two_sided
        better = float(oriented(a.mean, mode)) < float(oriented(b.mean, mode))
        decisive = better and (p < 0.05 if p is not None else gap > 2 * noise)
        return GoalAnswer(have, missing, gap, noise, "retrain", p, decisive)
    gap = abs(first.best_value - second.best_value)  # type: ignore[operator]
    spreads = [s for s in (first.spread, second.spread) if s is not None]
    noise = max(spreads) if spreads else None
    return GoalAnswer(have, missing, gap, noise, "top_k", None, None if noise is None else gap > noise)
