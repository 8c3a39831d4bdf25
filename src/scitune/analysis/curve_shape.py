"""Training curves: overfitting, step-to-step noise, and whether training ran long enough.

Playbook ("Examining the training curves"; "Determining the number of steps for each training run"). Each curve is reduced to a few numbers measured against the
curve's own **improvement**: how much its smoothed value improved from the end of the initial
transient (the first evaluation at or after 10% of ``max_train_steps``) to its smoothed best. The
drop from a random initialization is left out on purpose: it would dwarf everything that happens
later. One threshold then serves a loss that falls from 2.3 to 0.3 and an error rate near 0.03:

- ``rise``: how far the curve ends from its best, in the worse direction, as a share of the
  improvement (at least 20% of the curve's level, so a flat curve does not divide by 0). Read on the
  **raw** curve: the median of its last evaluations (an eighth, at least 3) against its raw best, and
  0 when the last evaluation is back at the best. (A running median can turn a tail of 7, 8, 8, 8, 7
  errors into a rise although the run ends at its best.) The overfitting check also wants the rise
  beyond a noise allowance of a few step-to-step sds. A validation objective that gives back a clear
  share of its improvement overfits.
- ``noise``: the step-to-step standard deviation over the second half of training, estimated from
  second differences (which cancel the curve's own trend, so a clean decay reads as nearly zero), as
  a share of the improvement or of the curve's level, whichever is larger (so ±0.001 on a flat 0.1
  is 1%, not noise).
- ``late_gain``: how much the curve still improved within the last ``late_fraction`` of
  ``max_train_steps``, as a share of the improvement: the least-squares trend of the raw values
  there (with the evaluation just before), times the stretch's length, and 0 unless that drop
  exceeds twice its standard error. (The drop from a smoothed curve's value to its minimum is
  biased upward by noise: the minimum of noisy points is optimistic.) With the best step there
  too, training was cut short.

Smoothing is a centered running median (window about an eighth of the points, at least 5), which
ignores single outliers without shifting where a curve turns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scitune.analysis.ranking import oriented

TRAINING_PREFIXES = ("train",)
VALIDATION_PREFIXES = ("val", "valid", "eval", "dev", "test")


TRANSIENT = 0.1  # the share of training whose improvement the checks leave out
LEVEL_FLOOR = 0.2  # rise and late gain: the improvement counts as at least this share of the level


@dataclass(frozen=True)
class CurveDiagnosis:
    """A curve's shape in numbers; see the module docstring for each."""

    points: int
    best_step: int | None  # the step of the raw best value
    best_value: float | None
    improvement: float  # smoothed, from the end of the transient to the best, in the metric's units
    level: float  # the median magnitude of the second half of the curve
    rise: float  # share of the improvement; 0 when the curve ends at its best
    rise_abs: float  # the same in the metric's units
    after_best: int  # evaluations after the raw best
    sigma: float | None  # step-to-step noise in the metric's units; None with too few points
    noise: float | None  # sigma as a share of max(improvement, level)
    late_gain: float  # share of the improvement gained within the last late_fraction of the run


def metric_role(name: str, objective: str) -> str:
    """ "objective", "validation", "training" or "other", from the metric's name."""
    if name == objective:
        return "objective"
    lowered = name.lower()
    if lowered.startswith(TRAINING_PREFIXES):
        return "training"
    if lowered.startswith(VALIDATION_PREFIXES):
        return "validation"
    return "other"


def metric_mode(name: str, objective: str, objective_mode: str) -> str:
    """Which direction is better for a metric: the objective's own mode, ``max`` for accuracies
    and scores, ``min`` for everything else (losses, errors)."""
    if name == objective:
        return objective_mode
    lowered = name.lower()
    return "max" if any(word in lowered for word in ("acc", "score", "auc", "f1", "precision", "recall")) else "min"


def ordered_metrics(names: list[str], objective: str) -> list[str]:
    """The objective first, then validation, training and other metrics, each alphabetically."""
    rank = {"objective": 0, "validation": 1, "training": 2, "other": 3}
    return sorted(dict.fromkeys(names), key=lambda n: (rank[metric_role(n, objective)], n))


def smooth(values: np.ndarray) -> np.ndarray:
    """A centered running median, window about an eighth of the points (odd, at least 5)."""
    window = max(5, len(values) // 8)
    window += 1 - window % 2
    return pd.Series(values).rolling(window, center=True, min_periods=1).median().to_numpy()


def diagnose_curve(
    steps: np.ndarray | list[int],
    values: np.ndarray | list[float],
    mode: str = "min",
    max_train_steps: int | None = None,
    late_fraction: float = 0.25,
) -> CurveDiagnosis:
    """Reduce one metric curve to the numbers the report's curve checks compare with thresholds."""
    steps = np.asarray(steps, dtype=float)
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    order = np.argsort(steps[finite], kind="stable")
    steps, values = steps[finite][order], values[finite][order]
    n = len(values)
    if n == 0:
        return CurveDiagnosis(0, None, None, 0.0, 0.0, 0.0, 0.0, 0, None, None, 0.0)
    total = float(max_train_steps or steps[-1])
    turned = np.asarray(oriented(values, mode), dtype=float)
    smoothed = smooth(turned)
    low = int(np.argmin(smoothed))
    anchor = int(np.argmax(steps >= TRANSIENT * total)) if (steps >= TRANSIENT * total).any() else 0
    improvement = max(0.0, float(smoothed[anchor] - smoothed[low]))
    level = float(np.median(np.abs(values[n // 2 :])))
    scale = max(improvement, LEVEL_FLOOR * level, 1e-12)
    raw_best = int(np.argmin(turned))
    tail = turned[-max(3, n // 8) :]
    rise_abs = 0.0 if turned[-1] <= turned[raw_best] else max(0.0, float(np.median(tail) - turned[raw_best]))

    late = turned[n // 2 :]
    sigma = float(np.std(np.diff(late, n=2)) / math.sqrt(6)) if len(late) >= 6 else None

    late_gain = 0.0
    start = (1 - late_fraction) * total
    before, inside = np.nonzero(steps <= start)[0], steps > start
    if len(before) and inside.any():
        window = np.r_[before[-1], np.nonzero(inside)[0]]
        late_gain = _trend_drop(steps[window], turned[window], late_fraction * total) / scale

    return CurveDiagnosis(
        points=n,
        best_step=int(steps[raw_best]),
        best_value=float(values[raw_best]),
        improvement=improvement,
        level=level,
        rise=rise_abs / scale,
        rise_abs=rise_abs,
        after_best=n - 1 - raw_best,
        sigma=sigma,
        noise=None if sigma is None else sigma / max(improvement, level, 1e-12),
        late_gain=late_gain,
    )


def _trend_drop(steps: np.ndarray, values: np.ndarray, span: float) -> float:
    """How much a least-squares line through ``(steps, values)`` falls over ``span`` steps, or 0 when
    it rises or the fall is within twice its standard error (lower values are better)."""
    if len(steps) < 2 or np.ptp(steps) == 0:
        return 0.0
    if len(steps) == 2:
        return max(0.0, float(values[0] - values[1]) / float(steps[1] - steps[0]) * span)
    slope, intercept = np.polyfit(steps, values, 1)
    residual = values - (slope * steps + intercept)
    stderr = math.sqrt(float(residual @ residual) / (len(steps) - 2) / float(np.sum((steps - steps.mean()) ** 2)))
    drop = -float(slope) * span
    return drop if drop > 2 * stderr * span else 0.0


def diagnose_trials(
    metrics: pd.DataFrame, objective: str, mode: str, max_train_steps: int, late_fraction: float = 0.25
) -> dict[tuple[int, str], CurveDiagnosis]:
    """Every curve in a long frame of points (``trial_id, name, step, value``), keyed by
    ``(trial_id, metric)``."""
    out = {}
    for (trial_id, name), group in metrics.groupby(["trial_id", "name"], sort=False):
        out[(int(trial_id), str(name))] = diagnose_curve(
            group["step"].to_numpy(),
            group["value"].to_numpy(),
            metric_mode(str(name), objective, mode),
            max_train_steps,
            late_fraction,
        )
    return out


def late_gains(diagnoses: Mapping[tuple[int, str], CurveDiagnosis], metric: str) -> dict[int, float]:
    """Each trial's :attr:`CurveDiagnosis.late_gain` on ``metric`` (the objective), by trial id."""
    return {trial_id: d.late_gain for (trial_id, name), d in diagnoses.items() if name == metric}
