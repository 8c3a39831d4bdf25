"""Reading a trial's objective off its curve, and what a single number can resolve.

Playbook ("Saving checkpoints and retrospectively selecting the best checkpoint"): a trial is read
at its best evaluation step. On a clean curve that is the right number. On a noisy one it is the
most optimistic of many noisy draws: the minimum of ``n`` evaluations whose step-to-step noise is
``sigma`` sits about ``sigma * E[max of n standard normals]`` better than the curve's trend there,
and every rerun read the same way reproduces that optimism instead of removing it. So this module
reads each curve two ways:

- ``best``: the raw best evaluation (what the search ranks trials by);
- ``smoothed``: the raw evaluations in a **window around the smoothed curve's best step** (two
  fifths of the evaluations, at least 5; the smoothing is the curve checks' running median),
  averaged by a straight line through them read at that step: the window's mean when the best lies
  mid-window, and no lag when it is the last evaluation of a curve still improving. Averaging ``w``
  evaluations divides the noise by about ``sqrt(w)``, and the window is placed by the smoothed
  curve, so one lucky evaluation cannot choose it. On a clean curve both readings nearly agree.

and estimates, from the curve alone:

- ``noise``: the step-to-step noise over the curve's second half (where the best usually is), a
  robust standard deviation of its second differences (``1.4826 * MAD / sqrt(6)``: second
  differences cancel a smooth trend, the MAD ignores the odd outlier);
- ``optimism``: how much better the raw best is expected to be than the curve's trend at that step:
  ``noise * E[max of k standard normals]``, ``k`` the evaluations whose smoothed value lies within
  two noise widths of the smoothed best (the ones that compete to be the minimum).

:func:`scitune.analysis.noise.metric_quantum` infers the step of a metric that can only take a lattice of values (an error
rate on a validation set of 360 examples moves in steps of 1/360): a set of reruns that all score
the same on such a metric has not shown zero variance, only a variance below what the metric can
resolve. The comparisons (:mod:`scitune.analysis.compare`) floor each side's variance there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from scitune.analysis.curve_shape import smooth
from scitune.analysis.ranking import oriented

BEST, SMOOTHED = "best", "smoothed"
READINGS = (BEST, SMOOTHED)
WINDOW_SHARE = 0.4  # of a curve's evaluations the smoothed reading averages (chosen with benchmarks.calibration_verdicts)
MIN_WINDOW = 5
COMPETE_WIDTHS = 2.0  # evaluations within this many noise widths of the smoothed best compete for the minimum
# The smoothed reading replaces the raw best when a curve's expected optimism exceeds this share of what
# the comparison can resolve (the sides' spread across reruns, or the metric's quantum): below it, the
# best-step optimism is lost in the seed noise and the raw best is the better-known number.
OPTIMISM_SHARE = 0.5


@dataclass(frozen=True)
class Reading:
    """One trial's objective, read two ways, with the curve's noise (see the module docstring).
    ``smoothed``, ``noise`` and ``optimism`` are None without a curve of at least 5 evaluations."""

    best: float
    smoothed: float | None = None
    noise: float | None = None  # step-to-step standard deviation, in the metric's units
    optimism: float | None = None  # how far the raw best is expected to beat the trend (>= 0)
    evaluations: int = 0
    window: int = 0  # evaluations averaged by the smoothed reading
    competing: int = 1  # evaluations that compete to be the raw best
    leverage: float = 0.0  # the smoothed reading's noise, as a multiple of the curve's noise

    def value(self, reading: str) -> float:
        if reading == SMOOTHED and self.smoothed is not None:
            return self.smoothed
        return self.best

    def reading_noise(self, reading: str) -> float:
        """What the curve's noise alone spreads the chosen reading by, at the least: for the
        smoothed reading the noise of a mean of its window (``noise / sqrt(window)``; the line's
        read-out at a window's end spreads more), for the raw best the spread of the best of the
        evaluations competing for it."""
        if not self.noise:
            return 0.0
        if reading == SMOOTHED and self.window:
            return self.noise / math.sqrt(self.window)
        return self.noise * max_normal_moments(max(1, self.competing))[1]


@lru_cache(maxsize=512)
def max_normal_moments(n: int) -> tuple[float, float]:
    """Mean and standard deviation of the largest of ``n`` independent standard normals, by
    numerical integration of its density ``n phi(x) Phi(x)^(n-1)``."""
    from scipy import stats

    x = np.linspace(-8.0, 8.0, 4001)
    density = n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1)
    weights = density / np.trapezoid(density, x)
    mean = float(np.trapezoid(x * weights, x))
    var = float(np.trapezoid((x - mean) ** 2 * weights, x))
    return mean, math.sqrt(max(var, 0.0))


def curve_noise(values: Sequence[float] | np.ndarray) -> float | None:
    """Robust step-to-step noise of a curve: ``1.4826 * MAD(second differences) / sqrt(6)``; None
    below 5 finite points."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 5:
        return None
    d2 = np.diff(v, n=2)
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6))


def read_curve(steps: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, mode: str) -> Reading | None:
    """Read one curve (its evaluations of the objective) both ways; None without a finite point."""
    steps_arr, values_arr = np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=float)
    order = np.argsort(steps_arr, kind="stable")
    v = values_arr[order]
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    key = np.asarray(oriented(v, mode), dtype=float)
    best = float(v[int(np.argmin(key))])
    if v.size < MIN_WINDOW:
        return Reading(best, evaluations=int(v.size))
    trend = smooth(key)
    centre = int(np.argmin(trend))
    window = min(v.size, max(MIN_WINDOW, round(WINDOW_SHARE * v.size)))
    start = min(max(0, centre - window // 2), v.size - window)
    # A straight line through the window's evaluations, read at the smoothed best: the window's mean
    # when the best lies mid-window, and no lag when it sits at the end of a curve still improving.
    x = np.arange(start, start + window, dtype=float) - centre
    y = v[start:start + window]
    sxx = float(np.sum((x - x.mean()) ** 2))
    slope = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx) if sxx > 0 else 0.0
    smoothed = float(y.mean() - slope * x.mean())
    leverage = math.sqrt(1 / window + (x.mean() ** 2 / sxx if sxx > 0 else 0.0))
    late = v[v.size // 2:] if v.size >= 10 else v  # near where the best usually is, past the steep start
    noise = curve_noise(late) or 0.0
    competing = int(np.sum(trend <= trend[centre] + COMPETE_WIDTHS * noise)) if noise else 1
    optimism = noise * max(0.0, max_normal_moments(max(1, competing))[0])
    return Reading(best, smoothed, noise, optimism, int(v.size), window, max(1, competing), leverage)


def read_trials(metrics: pd.DataFrame, metric: str, mode: str, trial_ids: Iterable[int] | None = None) -> dict[int, Reading]:
    """Each trial's :class:`Reading` of ``metric`` from metric points (trial_id, name, step, value)."""
    points = metrics[metrics["name"] == metric] if len(metrics) else metrics
    if trial_ids is not None and len(points):
        points = points[points["trial_id"].isin(list(trial_ids))]
    out: dict[int, Reading] = {}
    for trial_id, group in points.groupby("trial_id", sort=False):
        reading = read_curve(group["step"].to_numpy(), pd.to_numeric(group["value"]).to_numpy(float), mode)
        if reading is not None:
            out[int(trial_id)] = reading
    return out


def choose_reading(sides: Sequence[Sequence[Reading]], resolution: float) -> str:
    """``smoothed`` when some compared trial's curve is noisy enough for its best-step optimism to
    matter (larger than ``OPTIMISM_SHARE`` of ``resolution``: what the comparison can resolve, the
    sides' seed noise, else the metric's quantum, else the gap itself) and every compared trial has
    a curve to smooth; else ``best``."""
    readings = [r for side in sides for r in side]
    if not readings or any(r.smoothed is None for r in readings):
        return BEST
    worst = max(r.optimism or 0.0 for r in readings)
    return SMOOTHED if worst > 0 and worst > OPTIMISM_SHARE * resolution else BEST
