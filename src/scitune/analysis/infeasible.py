"""Which trials count against their point when a sampler learns from a study.

The playbook ("After exploration concludes") asks that Bayesian optimization handle
divergent trials properly: a NaN loss, or a loss many standard deviations worse than the study's
typical trials, is marked infeasible (constrained Bayesian optimization, Gelbart et al. 2014)
instead of being fed to the model as an enormous loss. This module decides, per trial, what the
sampler is told; it never changes a trial's recorded state.

"Many standard deviations" is ours to choose. A search's objective values are far from normal:
most trials cluster near the good region and a long tail trained badly, so the mean and standard
deviation are dragged by the very trials we want to spot. We measure on a robust scale instead:

    centre = median of the feasible objective values
    spread = 1.4826 * median(|value - centre|)        (MAD; equals the standard deviation for normal data)
    outlier: (value - centre) / spread > sigma         (on the worse side only; default sigma = 6)

When more than half the values are equal the MAD is 0; then the spread is 1.2533 times the mean
absolute deviation from the median (also the standard deviation for normal data), and when every
value is equal nothing is an outlier. With fewer than ``MIN_VALUES`` feasible values there is no
"typical" to speak of and nothing is flagged.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import numpy as np
import pandas as pd
from scitune.states import UNFINISHED, TrialState

DEFAULT_SIGMA = 6.0
MIN_VALUES = 5
MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD of normal data times this is its standard deviation
MEAN_ABS_TO_SIGMA = 1.2533  # sqrt(pi / 2): the same for the mean absolute deviation



class SamplerVerdict(StrEnum):
    """What the sampler is told about a trial (never the trial's recorded state)."""

    FEASIBLE = "feasible"  # a real objective value
    VIOLATED = "violated"  # a constraint violation: diverged, crashed because of its point, or an outlier
    UNKNOWN = "unknown"  # not finished (pending, running, interrupted): its point is taken, its value unknown
    IGNORED = "ignored"  # failed for a reason that says nothing about its point


# Failure reasons written by scitune's runners that are not the configuration's doing: the trial was
# killed from outside, ran out of time, or never started. Every other failure (an exception in
# the training code, a non-zero exit, an objective never reported) is held against the point.
UNRELATED_FAILURES = (
    "timeout:",  # budget.trial_timeout expired (run/command.py)
    "killed by ",  # a command-mode program ended by a signal (run/command.py)
    "its worker process died",  # the worker was killed (run/local.py)
    "its runner was lost",  # the runner vanished (store.reap_lost)
    "the runner was stopped",  # Ctrl-C or SIGTERM
    "cannot start ",  # the program could not be started at all (run/command.py)
)


def robust_scale(values: Iterable[float]) -> tuple[float, float] | None:
    """``(centre, spread)`` of finite values as described in the module docstring, or None when
    there are fewer than ``MIN_VALUES`` of them or they are all equal."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(finite) < MIN_VALUES:
        return None
    centre = float(np.median(finite))
    deviation = np.abs(finite - centre)
    spread = MAD_TO_SIGMA * float(np.median(deviation))
    if spread <= 0:
        spread = MEAN_ABS_TO_SIGMA * float(np.mean(deviation))
    if spread <= 0:
        return None
    return centre, spread


def outlier_threshold(values: Iterable[float], mode: str, sigma: float = DEFAULT_SIGMA) -> float | None:
    """The objective value past which a trial is "many standard deviations worse" than typical:
    ``centre + sigma * spread`` for ``min`` objectives, ``centre - sigma * spread`` for ``max``.
    None when the values do not allow a judgement."""
    scale = robust_scale(values)
    if scale is None:
        return None
    centre, spread = scale
    return centre + sigma * spread if mode == "min" else centre - sigma * spread


def outliers(values: Iterable[float], mode: str, sigma: float = DEFAULT_SIGMA) -> np.ndarray:
    """A boolean mask over ``values``: True where a value is more than ``sigma`` robust standard
    deviations worse than the median (the outer side for ``mode``); NaN never counts as an
    outlier here (it is infeasible on its own)."""
    array = np.asarray(list(values), dtype=float)
    threshold = outlier_threshold(array, mode, sigma)
    if threshold is None:
        return np.zeros(len(array), dtype=bool)
    with np.errstate(invalid="ignore"):
        return array > threshold if mode == "min" else array < threshold


def failure_counts_against_point(reason: str | None) -> bool:
    """Whether a failed trial failed because of its configuration (an exception in the training
    code, a non-zero exit, an objective never reported) rather than because it was killed, timed
    out or never started."""
    return not (reason or "").startswith(UNRELATED_FAILURES)


def sampler_verdicts(trials: pd.DataFrame, mode: str, sigma: float | None = DEFAULT_SIGMA) -> pd.Series:
    """What a sampler should learn from each trial: a :class:`SamplerVerdict`, indexed like
    ``trials`` (columns ``state``, ``reason``, ``best_value``).

    Completed trials are feasible unless their objective is an outlier by :func:`outliers` over all
    the completed trials given (``sigma`` None turns that rule off); infeasible trials and failures
    that count against their point (:func:`failure_counts_against_point`) violate the constraint;
    trials not yet finished are unknown; other failures are ignored."""
    verdicts = pd.Series(SamplerVerdict.IGNORED, index=trials.index, dtype=object)
    state = trials["state"]
    values = pd.to_numeric(trials["best_value"], errors="coerce")
    completed = (state == TrialState.COMPLETED) & np.isfinite(values)
    verdicts[completed] = SamplerVerdict.FEASIBLE
    if sigma is not None and completed.any():
        bad = outliers(values[completed].to_numpy(float), mode, sigma)
        verdicts[completed[completed].index[bad]] = SamplerVerdict.VIOLATED
    verdicts[state == TrialState.INFEASIBLE] = SamplerVerdict.VIOLATED
    failed = state == TrialState.FAILED
    if failed.any():
        against = trials.loc[failed, "reason"].map(failure_counts_against_point).astype(bool)
        verdicts[against[against].index] = SamplerVerdict.VIOLATED
    verdicts[state.isin(UNFINISHED)] = SamplerVerdict.UNKNOWN
    return verdicts
