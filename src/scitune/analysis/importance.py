"""Parameter importance: which nuisance hyperparameters decide whether a trial reaches the good
part of the objective, and which barely matter and could be fixed next round.

Playbook ("Extracting insight from experimental results": which hyperparameters the validation
error is most sensitive to; "Choosing the search space": a nuisance hyperparameter that barely
matters can become a fixed one). Per study, over its completed trials with a finite objective, the
importance is Optuna's PED-ANOVA (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently Quantifying
Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023): how far the distribution of each
hyperparameter among the best ``target_quantile`` of trials departs from its distribution among all
of them, normalised to sum to 1. Its uncertainty is a bootstrap: the same evaluation refitted on
``resamples`` resamples of the trials, drawn with replacement; ``low``/``high`` are the 5th and 95th
percentiles. Very large studies are subsampled to ``max_trials`` trials first (the estimate needs
hundreds, not a hundred thousand). Needs Optuna (the ``bayes`` extra); without it, nothing is computed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scitune.analysis.ranking import ranked
from scitune.space import SearchSpace

MIN_TRIALS = 20  # completed trials a study needs before its importance means anything
TARGET_QUANTILE = 0.1
RESAMPLES = 20
MAX_TRIALS = 1000


@dataclass(frozen=True)
class ParamImportance:
    name: str
    importance: float  # PED-ANOVA on all of the study's completed trials, normalised over its parameters
    low: float  # 5th percentile over the bootstrap refits
    high: float  # 95th percentile


@dataclass(frozen=True)
class StudyImportance:
    study: str
    trials: int  # completed trials the estimate used
    resamples: int
    params: list[ParamImportance]  # most important first

    def as_record(self) -> dict[str, Any]:
        return {"study": self.study, "trials": self.trials, "resamples": self.resamples,
                "params": [vars(p) for p in self.params]}


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        return None
    return optuna


class _CompletedTrials:
    """The little of a Study that PED-ANOVA reads (its direction and completed trials), without a
    storage: ``Study.add_trials`` deep-copies every trial, which costs 40x the evaluation itself
    when a bootstrap refits twenty times. If an Optuna release reads more of a study than this, the
    evaluation falls back to a real in-memory study (same numbers, slower)."""

    def __init__(self, optuna: Any, trials: list[Any], direction: str) -> None:
        self._trials = trials
        self.directions = [optuna.study.StudyDirection.MINIMIZE if direction == "minimize"
                           else optuna.study.StudyDirection.MAXIMIZE]
        self.direction = self.directions[0]

    def _is_multi_objective(self) -> bool:
        return False

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[Any]:
        return self._trials


def _evaluate(optuna: Any, frozen: list[Any], names: list[str], direction: str) -> dict[str, float]:
    """PED-ANOVA over ``frozen`` (each trial's id unique), normalised to sum to 1."""
    evaluator = optuna.importance.PedAnovaImportanceEvaluator(target_quantile=TARGET_QUANTILE)
    try:
        raw = optuna.importance.get_param_importances(_CompletedTrials(optuna, frozen, direction),
                                                      evaluator=evaluator, params=names, normalize=True)
    except (AttributeError, TypeError):
        study = optuna.create_study(direction=direction)
        study.add_trials(frozen)
        raw = optuna.importance.get_param_importances(study, evaluator=evaluator, params=names, normalize=True)
    return {n: float(raw.get(n, 0.0)) for n in names}


def _numbered(trials: list[Any]) -> list[Any]:
    """Shallow copies with ids 0..n-1: a bootstrap draws a trial more than once, and PED-ANOVA tells
    trials apart by id."""
    out = []
    for i, trial in enumerate(trials):
        cls = type(trial)
        if cls.__reduce_ex__ is object.__reduce_ex__ and not hasattr(cls, "__copy__") and hasattr(trial, "__dict__"):
            twin = cls.__new__(cls)  # what copy.copy does for a plain object, without its generic protocol
            twin.__dict__.update(trial.__dict__)
        else:
            twin = copy.copy(trial)
        twin._trial_id = i
        out.append(twin)
    return out


def study_importance(
    trials: pd.DataFrame,
    space: SearchSpace,
    mode: str,
    study: str = "",
    resamples: int = RESAMPLES,
    seed: int = 0,
    max_trials: int = MAX_TRIALS,
) -> StudyImportance | None:
    """The importance of each nuisance hyperparameter in one study's trials (columns state, params,
    best_value, trial), or None: fewer than :data:`MIN_TRIALS` completed trials, fewer than two
    hyperparameters present in every one of them, or no Optuna."""
    optuna = _optuna()
    done = ranked(trials, mode) if len(trials) else trials
    if optuna is None or len(done) < MIN_TRIALS:
        return None
    from scitune.search.bayes import distributions

    dists = distributions(space)
    params = done["params"].tolist()
    names = [n for n in space.names if all(n in p for p in params)]  # conditional ones are left out
    if len(names) < 2:
        return None
    rng = np.random.default_rng(seed)
    if len(done) > max_trials:
        done = done.iloc[np.sort(rng.choice(len(done), max_trials, replace=False))]
        params = done["params"].tolist()
    values = done["best_value"].astype(float).tolist()
    frozen = [
        optuna.trial.create_trial(params={n: p[n] for n in names}, distributions={n: dists[n] for n in names},
                                  value=v)
        for p, v in zip(params, values)
    ]
    from scitune.search.bayes import _quiet  # Optuna's logging and experimental warnings, silenced

    direction = "minimize" if mode == "min" else "maximize"
    with _quiet(optuna):
        point = _evaluate(optuna, _numbered(frozen), names, direction)
        draws = np.array([
            [fit[n] for n in names]
            for fit in (_evaluate(optuna, _numbered([frozen[i] for i in rng.integers(0, len(frozen), len(frozen))]),
                                  names, direction) for _ in range(resamples))
        ]) if resamples else np.array([[point[n] for n in names]])
    low, high = np.percentile(draws, 5, axis=0), np.percentile(draws, 95, axis=0)
    out = [ParamImportance(n, point[n], float(lo), float(hi)) for n, lo, hi in zip(names, low, high)]
    out.sort(key=lambda p: -p.importance if math.isfinite(p.importance) else 0.0)
    return StudyImportance(study, len(done), resamples, out)


def importances(trials: pd.DataFrame, space: SearchSpace, mode: str, studies: Sequence[str],
                resamples: int = RESAMPLES, seed: int = 0) -> list[StudyImportance]:
    """:func:`study_importance` of each study that has enough completed trials, in ``studies``' order."""
    out = []
    for i, name in enumerate(studies):
        mine = trials[trials["study"] == name] if len(trials) else trials
        found = study_importance(mine, space, mode, name, resamples, seed + i)
        if found is not None:
            out.append(found)
    return out


def barely_matters(found: Sequence[StudyImportance], share: float) -> dict[str, list[ParamImportance]]:
    """The hyperparameters whose bootstrap 95th percentile stays below ``share`` of an equal share
    (1 / number of parameters) in every study that has an estimate: {name: its estimate per study}."""
    if not found:
        return {}
    out: dict[str, list[ParamImportance]] = {}
    names = set.intersection(*({p.name for p in s.params} for s in found))
    for name in sorted(names):
        mine = [next(p for p in s.params if p.name == name) for s in found]
        if all(p.high < share / len(s.params) for p, s in zip(mine, found)):
            out[name] = mine
    return out
