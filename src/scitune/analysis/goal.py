"""The goal's answer: the best objective at each scientific value, after tuning the nuisance ones.

This is the isolation plot's content (playbook: "Detecting whether a change is useful with isolation
plots"): one point per study, its best trial. Whether the first value's lead is real is decided by
the **same** comparison ``scitune compare`` makes (:func:`scitune.analysis.compare.compare_readings`):
one method, one verdict, the same words in the report and on the command line (playbook:
"Determining whether to adopt a training pipeline change or hyperparameter configuration"). Each
side is the study's best trial's reruns (retrain variance, the best trial's own result left out
since it was selected for being lucky), or, without reruns, the best trial's own value. A side
without reruns of its own can never make the answer decisive; the best of a search is picked for
its luck (the winner's curse) and the answer says so.

Each study also carries the gap between its best and its ``top_k``-th best trial, shown as context
(how much the best moves between nearby points of the search), never as the test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from scitune.analysis.compare import ADOPT, DEFAULT_ALPHA, Comparison, compare_readings
from scitune.analysis.ranking import oriented, ranked
from scitune.analysis.readings import Reading
from scitune.analysis.variance import StudyVariance, TrialVariance
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
    readings: tuple[Reading, ...] = ()  # the side the goal compares: its reruns' readings, or the best trial's
    reading: Reading | None = None  # the best trial's own reading of its curve


@dataclass(frozen=True)
class GoalAnswer:
    """Studies ranked by best objective, and whether the first one's lead is larger than the noise."""

    ranking: list[StudyBest]  # studies with a completed trial, best first
    missing: list[str] = field(default_factory=list)  # studies without any completed trial
    gap: float | None = None  # between the first two (absolute)
    noise: float | None = None  # the spread the gap is compared with
    noise_source: str | None = None  # "retrain" or "top_k"
    p_value: float | None = None  # the comparison's one-sided p-value that the first beats the second
    decisive: bool | None = None  # the comparison says adopt; None when there is nothing to compare
    comparison: Comparison | None = None  # the second (baseline) against the first (candidate)
    study_variance: dict[str, StudyVariance] = field(default_factory=dict)  # studies searched again, by name


def study_bests(
    trials: pd.DataFrame,
    studies: Sequence[StudySpec],
    mode: str,
    top_k: int = 3,
    retrain: Mapping[int, TrialVariance] | None = None,
    readings: Mapping[int, Reading] | None = None,
) -> list[StudyBest]:
    """One :class:`StudyBest` per study (``studies`` in order: anything with ``name`` and
    ``scientific``, such as :class:`~scitune.config.StudySpec` or a store's study records). ``retrain`` maps a trial id to its reruns' variance
    (:func:`scitune.analysis.variance.trial_variances`); ``readings`` maps trial ids (search trials
    and reruns) to their curves' readings (:func:`scitune.analysis.readings.read_trials`)."""
    done = ranked(trials, mode)
    readings = readings or {}
    out = []
    for study in studies:
        group = done[done["study"] == study.name]
        if group.empty:
            out.append(StudyBest(study.name, dict(study.scientific), 0))
            continue
        best = group.iloc[0]
        top = group["best_value"].to_numpy(float)[:top_k]
        trial_id = int(best["id"]) if "id" in group else None
        reruns = measured((retrain or {}).get(trial_id)) if trial_id is not None else None
        if reruns is not None and len(reruns.ids) == reruns.n:
            side = tuple(readings.get(i) or Reading(v) for i, v in zip(reruns.ids, reruns.values))
        elif reruns is not None:
            side = tuple(Reading(v) for v in reruns.values)
        else:
            side = ((readings.get(trial_id) if trial_id is not None else None) or Reading(float(best["best_value"])),)
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
                readings=side,
                reading=readings.get(trial_id) if trial_id is not None else None,
            )
        )
    return out


def measured(retrain: TrialVariance | None) -> TrialVariance | None:
    """The retrain variance when at least one rerun completed (reruns that all diverged measure nothing)."""
    return retrain if retrain is not None and retrain.mean is not None else None


def _side(b: StudyBest) -> tuple[Reading, ...]:
    if b.readings:
        return b.readings
    reruns = measured(b.retrain)
    return tuple(Reading(v) for v in reruns.values) if reruns else (Reading(float(b.best_value)),)  # type: ignore[arg-type]


def _selected(b: StudyBest) -> int | None:
    """Trials the side's only value was picked from, when it is the search's best (no reruns)."""
    return b.completed if measured(b.retrain) is None and b.completed > 1 else None


def _compare(second: StudyBest, first: StudyBest, mode: str, alpha: float, extra: Sequence[float]) -> Comparison:
    return compare_readings(_side(second), _side(first), mode, alpha=alpha, labels=(second.study, first.study),
                            selected=(_selected(second), _selected(first)), extra_values=extra)


def _search_value(b: StudyBest, reading: str) -> float:
    """The study's best trial read as the comparison reads (its smoothed reading on noisy curves)."""
    return b.reading.value(reading) if b.reading is not None else float(b.best_value)  # type: ignore[arg-type]


def goal_answer(bests: list[StudyBest], mode: str, alpha: float = DEFAULT_ALPHA,
                extra_values: Sequence[float] = (), study_variance: Mapping[str, StudyVariance] | None = None) -> GoalAnswer:
    """Rank the studies by their best objectives and settle the first two with ``compare``'s core:
    the second as the baseline, the first as the candidate, each side its best trial's reruns (or
    its own value). Decisive means the comparison says adopt.

    Which study comes first is decided by the **search** (each study's best trial, read the way the
    comparison reads: smoothed on noisy curves), never by the reruns that then test it: the test
    is one-sided at ``alpha`` in a direction chosen before looking at them, so on a scientific value
    with no effect the answer is decisive in at most ``alpha`` of experiments. Only when the search
    cannot order the two (equal values, as on a coarse metric) do the reruns' means order them.
    When the reruns contradict the search (the comparison says ``worse``), the answer is not
    decisive and says so. ``extra_values``: other values of the objective (curves) to infer its
    quantum from; ``study_variance``: the studies searched again with other seeds
    (:func:`scitune.analysis.variance.study_variances`), shown beside the trial variance."""
    shown = dict(study_variance or {})
    have = [b for b in bests if b.best_value is not None]
    missing = [b.study for b in bests if b.best_value is None]
    have.sort(key=lambda b: float(oriented(b.best_value, mode)))  # type: ignore[arg-type]
    if len(have) < 2:
        return GoalAnswer(have, missing, study_variance=shown)
    first, second = have[0], have[1]
    probe = _compare(second, first, mode, alpha, extra_values)
    ahead = float(oriented(_search_value(second, probe.reading), mode)) - float(
        oriented(_search_value(first, probe.reading), mode))
    if ahead < 0 or (ahead == 0 and probe.gain < 0):
        first, second = second, first
        have[0], have[1] = first, second
    comparison = _compare(second, first, mode, alpha, extra_values)
    if comparison.accounts_for_variance:
        a, b = comparison.baseline, comparison.candidate
        noise = max(max(a.std or 0.0, comparison.floor), max(b.std or 0.0, comparison.floor))
        source = "retrain"
    else:
        spreads = [s for s in (first.spread, second.spread) if s is not None]
        noise, source = (max(spreads) if spreads else None), "top_k"
    p = comparison.p_value
    return GoalAnswer(have, missing, abs(comparison.gain), noise, source, p, comparison.verdict == ADOPT, comparison,
                      shown)
