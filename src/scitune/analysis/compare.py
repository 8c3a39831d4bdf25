"""Comparing a candidate B with a baseline A, each a sample of objective values, against the noise.

The decision rule (playbook: "Determining whether to adopt a training pipeline change or hyperparameter
configuration": adopt only what beats the incumbent after both sides' retrain
variance). Let the **gain** be how much B's mean objective beats A's (positive: B is better, whatever
the objective's direction). With Welch's t-test (scipy's ``ttest_ind(equal_var=False)``), whose
``1 - 2*alpha`` confidence interval for the gain is two one-sided bounds at level ``alpha``:

- ``adopt``: the whole interval is above zero, i.e. a one-sided test that B is better rejects "no
  gain" at ``alpha`` (default 5%). When B is in truth no better than A, the rule adopts it in at
  most ``alpha`` of comparisons: the nominal false-adopt rate.
- ``worse``: the whole interval is below zero (B is worse beyond the noise, same level).
- ``not enough evidence``: otherwise. A power estimate says how many reruns per side would make a
  gain the size of the one observed decisive: the smallest ``n`` with
  ``n >= 2 * (t[1-alpha] + t[power])**2 * sd**2 / gain**2`` (t quantiles at ``2n - 2`` degrees of
  freedom, ``sd**2`` the mean of the two sides' variances, ``power`` 80% by default).

Samples are reruns of one configuration (:mod:`scitune.analysis.variance`). When only one side has
two or more values, the other side's single value is given the same variance (the seed noise is a
property of the training pipeline more than of one point in it) and the interval uses that side's
degrees of freedom; the comparison says so. With no variance on either side, nothing can separate a
difference from noise: the verdict is ``not enough evidence``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

ADOPT, NOT_ENOUGH, WORSE = "adopt", "not enough evidence", "worse"
VERDICTS = (ADOPT, NOT_ENOUGH, WORSE)
DEFAULT_ALPHA = 0.05
DEFAULT_POWER = 0.8
MAX_RERUNS = 100  # per side; beyond it the gain is too small next to the noise to chase


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label and its sample of objective values."""

    label: str
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @cached_property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @cached_property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else None


@dataclass(frozen=True)
class Comparison:
    """B (the candidate) against A (the baseline): numbers and a verdict in words."""

    baseline: Side
    candidate: Side
    mode: str  # the objective's direction: "min" or "max"
    alpha: float
    difference: float  # mean of B minus mean of A, in the objective's units
    gain: float  # how much B beats A: positive when B is better (the difference, oriented)
    low: float | None  # the gain's 1 - 2*alpha interval; None without any variance
    high: float | None
    p_value: float | None  # one-sided, against "B is no better than A"
    verdict: str  # adopt, not enough evidence, or worse
    accounts_for_variance: bool  # both sides have reruns (two or more values)
    assumption: str | None = None  # how a side without reruns was treated
    reruns_needed: int | None = None  # per side, in total, to settle it; None when unknown or too many
    power: float = DEFAULT_POWER

    @property
    def confidence(self) -> float:
        return 1 - 2 * self.alpha

    def more_reruns(self) -> dict[str, int]:
        """Reruns still to add per side (by label) to reach ``reruns_needed``."""
        if self.reruns_needed is None:
            return {}
        return {s.label: max(0, self.reruns_needed - s.n) for s in (self.baseline, self.candidate)}

    def as_record(self) -> dict[str, Any]:
        """Plain data (JSON-ready): what a launch stores as its evidence."""
        record = asdict(self)
        for key in ("baseline", "candidate"):
            side = getattr(self, key)
            record[key] = {"label": side.label, "values": list(side.values), "n": side.n, "mean": side.mean,
                           "std": side.std}
        record["confidence"] = self.confidence
        return record


def _sample(values: Sequence[float], label: str) -> Side:
    finite = tuple(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if not finite:
        raise ValueError(f"{label} has no finite objective value to compare")
    return Side(label, finite)


def compare_samples(
    baseline: Sequence[float],
    candidate: Sequence[float],
    mode: str,
    *,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    labels: tuple[str, str] = ("A", "B"),
) -> Comparison:
    """Compare candidate B's objective values with baseline A's (see the module's decision rule).
    ``mode`` is the objective's direction; non-finite values are dropped."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must be between 0 and 0.5")
    a, b = _sample(baseline, labels[0]), _sample(candidate, labels[1])
    sign = 1.0 if mode == "max" else -1.0
    difference = b.mean - a.mean
    gain = sign * difference
    low = high = p_value = sd = None
    assumption = None
    if a.n > 1 and b.n > 1:
        sd = math.sqrt((a.std**2 + b.std**2) / 2)  # type: ignore[operator]
        if sd > 0:
            better, other = (b.values, a.values) if mode == "max" else (a.values, b.values)
            result = welch(better, other, alpha)  # better - other is the gain
            low, high, p_value = result.low, result.high, result.p_greater
    elif a.n > 1 or b.n > 1:
        measured, single = (a, b) if a.n > 1 else (b, a)
        sd = measured.std
        assumption = (f"{single.label} has no reruns: its trial variance is taken to equal {measured.label}'s, so this "
                      "verdict cannot fully account for trial variance")
        if sd:
            low, high, p_value = _t_bounds(gain, sd * math.sqrt(1 / a.n + 1 / b.n), measured.n - 1, alpha)
    else:
        assumption = ("neither side has reruns, so this verdict cannot account for trial variance: a difference "
                      "this size may be seed noise")
    if sd == 0:  # every rerun on both sides gave one value: a deterministic pipeline, no noise to beat
        low = high = gain
    verdict = NOT_ENOUGH
    if low is not None and low > 0:
        verdict = ADOPT
    elif high is not None and high < 0:
        verdict = WORSE
    needed = reruns_to_settle(gain, sd, alpha, power) if verdict == NOT_ENOUGH and sd else None
    return Comparison(a, b, mode, alpha, difference, gain, low, high, p_value, verdict,
                      a.n > 1 and b.n > 1, assumption, needed, power)


@dataclass(frozen=True)
class Welch:
    """Welch's t-test of mean(x) - mean(y): the difference, its ``1 - 2*alpha`` interval (two
    one-sided bounds at ``alpha``), the one-sided p-value of "x is no greater" and the two-sided one."""

    difference: float
    low: float
    high: float
    p_greater: float
    p_two_sided: float
    df: float


def welch(x: Sequence[float], y: Sequence[float], alpha: float = DEFAULT_ALPHA) -> Welch:
    """Welch's unequal-variances t-test (Welch 1947) through scipy's ``ttest_ind(equal_var=False)``,
    the one implementation every comparison of two samples uses. Both samples need two values and
    some spread between them."""
    from scipy import stats  # imported when a comparison is made, not with the store

    two_sided = stats.ttest_ind(x, y, equal_var=False)
    greater = stats.ttest_ind(x, y, equal_var=False, alternative="greater")
    interval = two_sided.confidence_interval(confidence_level=1 - 2 * alpha)
    return Welch(float(np.mean(x) - np.mean(y)), float(interval.low), float(interval.high), float(greater.pvalue),
                 float(two_sided.pvalue), float(two_sided.df))


def _t_bounds(gain: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    """The gain's two one-sided ``alpha`` bounds and the one-sided p-value of "no gain", from
    Student's t with ``df`` degrees of freedom: the comparison of a single value with a sample
    whose variance it borrows."""
    from scipy import stats  # imported when a comparison is made, not with the store

    half = float(stats.t.ppf(1 - alpha, df)) * se
    return gain - half, gain + half, float(stats.t.sf(gain / se, df))


def reruns_to_settle(
    gain: float, sd: float | None, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER, most: int = MAX_RERUNS
) -> int | None:
    """Reruns per side that would likely make a true gain of ``|gain|`` decisive, given seed noise
    ``sd``: the smallest n with ``n >= 2 (t[1-alpha] + t[power])^2 sd^2 / gain^2`` at 2n-2 degrees
    of freedom. None when it would take more than ``most`` (or the gain is zero)."""
    if not sd or not gain or not math.isfinite(gain):
        return None
    n, factor = _power_factors(alpha, power, most)
    enough = n >= factor * (sd / abs(gain)) ** 2
    return int(n[enough.argmax()]) if enough.any() else None


@lru_cache(maxsize=16)
def _power_factors(alpha: float, power: float, most: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` from 2 to ``most`` and ``2 (t[1-alpha] + t[power])^2`` at ``2n - 2`` degrees of freedom."""
    n = np.arange(2, most + 1)
    df = 2 * n - 2
    from scipy import stats

    return n, 2 * (stats.t.ppf(1 - alpha, df) + stats.t.ppf(power, df)) ** 2


def describe_comparison(c: Comparison, metric: str) -> list[str]:
    """The comparison in words, a line each: the two sides, the gain with its interval, the verdict
    and why, and any caveat."""

    def num(x: float) -> str:
        return f"{x:.4g}"

    def side(s: Side) -> str:
        spread = f" ± {num(s.std)} (sd)" if s.std is not None else ""
        what = f"mean of {s.n} reruns" if s.n > 1 else "one run"
        return f"{s.label}: {metric} {num(s.mean)}{spread}, {what}"

    a, b = c.baseline.label, c.candidate.label
    direction = "better" if c.gain > 0 else "worse" if c.gain < 0 else "no different"
    gain = f"{b} is {direction} than {a} by {num(abs(c.gain))} {metric} ({c.mode})" if c.gain else \
        f"{b} and {a} have the same mean {metric}"
    if c.low is not None:
        gain += f"; {round(100 * c.confidence)}% interval of the gain [{num(c.low)}, {num(c.high)}]"  # type: ignore[arg-type]
    if c.p_value is not None:  # for the direction observed: B better, or B worse
        gain += f", one-sided p = {(c.p_value if c.gain >= 0 else 1 - c.p_value):.2g}"
    lines = [side(c.baseline), side(c.candidate), gain]
    level = f"{round(100 * c.alpha)}%"
    if c.verdict == ADOPT:
        lines.append(f"verdict: adopt - {b} beats {a} by more than the noise (one-sided, at {level})")
    elif c.verdict == WORSE:
        lines.append(f"verdict: worse - {b} is worse than {a} by more than the noise (one-sided, at {level})")
    elif c.low is None:
        lines.append("verdict: not enough evidence - no measured trial variance to judge the difference against")
    elif c.reruns_needed is not None:
        more = ", ".join(f"{k} {v} more" for k, v in c.more_reruns().items() if v)
        lines.append(f"verdict: not enough evidence - the interval includes no gain; about {c.reruns_needed} reruns "
                     f"per side ({more or 'none more'}) would likely settle a gain this size "
                     f"({round(100 * c.power)}% power)")
    else:
        lines.append(f"verdict: not enough evidence - the gain is small next to the noise: more than {MAX_RERUNS} "
                     "reruns per side would be needed; treat the two as equivalent")
    if c.assumption:
        lines.append(f"note: {c.assumption}")
    return lines
