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

Samples are reruns of one configuration (:mod:`scitune.analysis.variance`), each read off its
curve (:mod:`scitune.analysis.readings`: the raw best, or a smoothed reading on noisy curves, whose
best evaluation flatters them). The false adopts that matter come from how values are selected, not
from the t-test, so:

- each side's sd is floored at what the data can resolve (``floor``: half the metric's quantum, the
  reading's own noise from its curve): identical reruns are not certainty;
- a side with fewer than two values has no variance of its own and is never adopted nor called
  worse, unless the caller borrows the other side's (``borrow_variance``, the CLI's
  ``--borrow-variance``); the interval then uses the measured side's degrees of freedom;
- a side whose only value is the best of a search (``selected``) is named as such (the winner's
  curse), and when borrowed it is first taken back by ``sd * E[max of N standard normals]``.

With no variance on either side, nothing can separate a difference from noise: the verdict is
``not enough evidence``. :func:`compare_readings` is the one core ``scitune compare``, ``launch``
and the report's answer share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from scitune.analysis.noise import metric_quantum
from scitune.analysis.readings import SMOOTHED, Reading, choose_reading, max_normal_moments

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
    floor: float = 0.0  # the larger side's smallest sd the data resolve (quantum, curve noise)
    reading: str = "best"  # how each value was read off its curve (scitune.analysis.readings)
    reading_note: str | None = None  # why, when it is not the raw best
    borrowed: bool = False  # a side without reruns took the other's variance, as the user asked

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
    floor: float | tuple[float, float] = 0.0,
    borrow_variance: bool = False,
    selected: tuple[int | None, int | None] = (None, None),
    reading: str = "best",
    reading_note: str | None = None,
) -> Comparison:
    """Compare candidate B's objective values with baseline A's (see the module's decision rule).
    ``mode`` is the objective's direction; non-finite values are dropped.

    ``floor``: the smallest standard deviation the data can resolve (a metric's quantum, the curves'
    noise), one for both sides or one each: a side whose reruns spread less is given it. ``borrow_variance``: let a side with
    fewer than two values take the other side's variance (without it such a side is never adopted
    nor called worse). ``selected``: for each side whose only value is the best of a search, the
    number of trials it was picked from (the winner's curse: it says so)."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must be between 0 and 0.5")
    a, b = _sample(baseline, labels[0]), _sample(candidate, labels[1])
    sign = 1.0 if mode == "max" else -1.0
    difference = b.mean - a.mean
    gain = sign * difference
    fa, fb = (floor, floor) if isinstance(floor, (int, float)) else floor
    fa, fb = (float(f) if f and math.isfinite(f) else 0.0 for f in (fa, fb))
    low = high = p_value = sd = None
    notes: list[str] = []
    if a.n > 1 and b.n > 1:
        sa, sb = max(a.std, fa), max(b.std, fb)  # type: ignore[type-var]
        sd = math.sqrt((sa**2 + sb**2) / 2)
        if sd > 0:
            if sa == a.std and sb == b.std:  # no floor needed: scipy's Welch on the data itself
                better, other = (b.values, a.values) if mode == "max" else (a.values, b.values)
                result = welch(better, other, alpha)  # better - other is the gain
            else:
                result = welch_from_stats(gain, sb if mode == "max" else sa, (b.n if mode == "max" else a.n),
                                          sa if mode == "max" else sb, (a.n if mode == "max" else b.n), alpha)
                floored = [f"{side.label}'s to {used:.3g}" for side, used in ((a, sa), (b, sb)) if used != side.std]
                notes.append(f"reruns spread less than the data can resolve, so the sd is raised to what it can "
                             f"(half the metric's step, or the curves' own noise): {', '.join(floored)}")
            low, high, p_value = result.low, result.high, result.p_greater
        else:
            notes.append("every rerun on both sides gave the same value and nothing tells how finely the metric "
                         "resolves: zero spread is not certainty")
    elif a.n > 1 or b.n > 1:
        measured, single = (a, b) if a.n > 1 else (b, a)
        sd = max(measured.std, fa if measured is a else fb)  # type: ignore[type-var]
        if borrow_variance:
            notes.append(f"{single.label} has no reruns of its own: its trial variance is borrowed from "
                         f"{measured.label}'s (as asked), so this verdict cannot fully account for trial variance")
            picked = selected[0] if single is a else selected[1]
            tested = gain
            if sd and picked and picked > 1:
                # The best of `picked` trials is expected to beat its own mean by sd * E[max of picked normals]:
                # a value chosen for its luck is judged after taking that luck back.
                luck = sd * max_normal_moments(int(picked))[0]
                tested = gain - luck if single is b else gain + luck
                notes.append(f"{single.label}'s value is taken back by {luck:.3g} for the luck that picked it (the "
                             f"expected best of {picked} draws of the borrowed noise) before it is tested")
            if sd:
                low, high, p_value = _t_bounds(tested, sd * math.sqrt(1 / a.n + 1 / b.n), measured.n - 1, alpha)
        else:
            notes.append(f"{single.label} has no reruns of its own, so this verdict cannot fully account for trial "
                         f"variance: retrain it, or borrow {measured.label}'s variance explicitly (--borrow-variance)")
    else:
        notes.append("neither side has reruns, so this verdict cannot account for trial variance: a difference "
                     "this size may be seed noise")
    for side, picked in zip((a, b), selected):
        if picked and picked > 1 and side.n == 1:
            notes.append(f"{side.label}'s only value is the best of {picked} trials of a search: picked for its "
                         "luck (the winner's curse), it overstates how good it is and cannot prove anything by itself")
    verdict = NOT_ENOUGH
    if low is not None and low > 0:
        verdict = ADOPT
    elif high is not None and high < 0:
        verdict = WORSE
    needed = reruns_to_settle(gain, sd, alpha, power) if verdict == NOT_ENOUGH and sd else None
    return Comparison(a, b, mode, alpha, difference, gain, low, high, p_value, verdict,
                      a.n > 1 and b.n > 1, "; ".join(notes) or None, needed, power, max(fa, fb), reading, reading_note,
                      borrow_variance and (a.n < 2 or b.n < 2))


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


def welch_from_stats(difference: float, sx: float, nx: int, sy: float, ny: int, alpha: float = DEFAULT_ALPHA) -> Welch:
    """Welch's test of a difference of means ``difference = mean(x) - mean(y)`` from each sample's
    standard deviation and size: what :func:`welch` gives, when a floor replaced a spread."""
    from scipy import stats

    vx, vy = sx**2 / nx, sy**2 / ny
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (nx - 1) + vy**2 / (ny - 1))
    half = float(stats.t.ppf(1 - alpha, df)) * se
    t = difference / se
    return Welch(difference, difference - half, difference + half, float(stats.t.sf(t, df)),
                 float(2 * stats.t.sf(abs(t), df)), float(df))


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


def verdict_line(c: Comparison) -> str:
    """The verdict and why, in the words every face uses (``compare``, ``launch`` and the report's
    answer print this same line)."""
    a, b = c.baseline.label, c.candidate.label
    level = f"{round(100 * c.alpha)}%"
    if c.verdict == ADOPT:
        return f"verdict: adopt - {b} beats {a} by more than the noise (one-sided, at {level})"
    if c.verdict == WORSE:
        return f"verdict: worse - {b} is worse than {a} by more than the noise (one-sided, at {level})"
    if c.low is None:
        if (c.baseline.n < 2) != (c.candidate.n < 2) and not c.borrowed:
            lone = a if c.baseline.n < 2 else b
            return f"verdict: not enough evidence - {lone} has no reruns of its own to measure its trial variance"
        return "verdict: not enough evidence - no measured trial variance to judge the difference against"
    if c.reruns_needed is not None:
        more = ", ".join(f"{k} {v} more" for k, v in c.more_reruns().items() if v)
        return (f"verdict: not enough evidence - the interval includes no gain; about {c.reruns_needed} reruns "
                f"per side ({more or 'none more'}) would likely settle a gain this size "
                f"({round(100 * c.power)}% power)")
    return (f"verdict: not enough evidence - the gain is small next to the noise: more than {MAX_RERUNS} "
            "reruns per side would be needed; treat the two as equivalent")


def describe_comparison(c: Comparison, metric: str) -> list[str]:
    """The comparison in words, a line each: the two sides, the gain with its interval, the verdict
    and why, and any caveat."""

    def num(x: float) -> str:
        return f"{x:.4g}"

    read = " (smoothed reading)" if c.reading != "best" else ""

    def side(s: Side) -> str:
        spread = f" ± {num(s.std)} (sd)" if s.std is not None else ""
        what = f"mean of {s.n} reruns" if s.n > 1 else "one run"
        return f"{s.label}: {metric}{read} {num(s.mean)}{spread}, {what}"

    a, b = c.baseline.label, c.candidate.label
    direction = "better" if c.gain > 0 else "worse" if c.gain < 0 else "no different"
    gain = f"{b} is {direction} than {a} by {num(abs(c.gain))} {metric} ({c.mode})" if c.gain else \
        f"{b} and {a} have the same mean {metric}"
    if c.low is not None:
        gain += f"; {round(100 * c.confidence)}% interval of the gain [{num(c.low)}, {num(c.high)}]"  # type: ignore[arg-type]
    if c.p_value is not None:  # for the direction observed: B better, or B worse
        gain += f", one-sided p = {(c.p_value if c.gain >= 0 else 1 - c.p_value):.2g}"
    lines = [side(c.baseline), side(c.candidate), gain, verdict_line(c)]
    if c.reading_note:
        lines.append(f"note: {c.reading_note}")
    if c.assumption:
        lines.append(f"note: {c.assumption}")
    return lines


def compare_readings(
    baseline: Sequence[Reading],
    candidate: Sequence[Reading],
    mode: str,
    *,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    labels: tuple[str, str] = ("A", "B"),
    borrow_variance: bool = False,
    selected: tuple[int | None, int | None] = (None, None),
    extra_values: Sequence[float] = (),
) -> Comparison:
    """The one comparison of two trials' readings that ``compare``, ``launch`` and the report's
    answer make: each side is its reruns' :class:`~scitune.analysis.readings.Reading` (or its own,
    without reruns). It

    1. infers the metric's quantum from every value seen (curves included via ``extra_values``);
    2. reads each value at its raw best, or at its smoothed reading when the curves are noisy enough
       for the best-step optimism to matter (:func:`~scitune.analysis.readings.choose_reading`);
    3. floors each side's sd at what the data can resolve: half the quantum, and the chosen
       reading's own noise from its curve (the median over the side's trials);
    4. decides with :func:`compare_samples`."""
    # The one quantum rule (the findings' floor uses it too); two distinct values are enough here.
    quantum = metric_quantum([*(r.best for r in (*baseline, *candidate)), *extra_values], min_distinct=2) or 0.0
    raw_sds = [float(np.std([r.best for r in side], ddof=1)) for side in (baseline, candidate) if len(side) > 1]
    resolution = max([quantum, *raw_sds])
    if not resolution:  # no seed noise measured and a continuous metric: the gap is the scale that matters
        resolution = abs(float(np.mean([r.best for r in candidate]) - np.mean([r.best for r in baseline])))
    reading = choose_reading([baseline, candidate], resolution)
    note = None
    if reading == SMOOTHED:
        worst = max(r.optimism or 0.0 for r in (*baseline, *candidate))
        note = (f"the curves are noisy: a trial's best evaluation flatters it by about {worst:.3g} (its step-to-step "
                "noise times the expected maximum of the evaluations competing for the best), so each trial is read "
                "as the mean of its evaluations around its smoothed curve's best step")
    floors = tuple(max(quantum / 2, float(np.median([r.reading_noise(reading) for r in side])))
                   for side in (baseline, candidate))
    return compare_samples([r.value(reading) for r in baseline], [r.value(reading) for r in candidate], mode,
                           alpha=alpha, power=power, labels=labels, floor=floors, borrow_variance=borrow_variance,
                           selected=selected, reading=reading, reading_note=note)
