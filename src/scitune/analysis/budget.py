"""How many trials were enough: the expected best objective as a function of the trial budget.

The playbook's answer (FAQ "How many trials are needed to get good results with quasi-random search?") is a bootstrap: draw ``k`` of a study's
finished trials with replacement, many times, and look at the distribution of the best objective
among the ``k``, for each budget ``k``. Its median falls and its spread narrows as ``k`` grows; how
fast it still falls at the study's own size says whether more trials would likely help.

Infeasible and failed trials take part in the draws: they used a slot of the budget and gave
nothing (a draw of only such trials has no best). Pending and running trials do not.

"More trials would likely still help" when the last doubling of the budget (``n // 2`` to ``n``
trials) still improved the **expected** best by more than a threshold. The expected best of ``k``
trials is the unbiased estimator of the expected maximum of ``k`` draws without replacement (Dodge
et al. 2019, "Show your work"; the unbiased form of Tang et al. 2020, "Showing your work doesn't
always work"): ``E[best of k] = sum_i C(n - i, k - 1) / C(n, k) * v_(i)``, over the ``n`` values
sorted best first. It uses every value, depends on no tie order and no random draw, and at ``k = n``
is the study's best. (The bootstrap median above is a plot: its median at ``n // 2`` is simply the
second-best trial at ``n``, so read as a gain it is the top-two gap.) A trial without a result counts
as the study's worst result in the estimator: it used a slot of the budget and found nothing.

The threshold is the larger of ``noise_margin`` noise floors (:mod:`scitune.analysis.noise`: the
retrain sd, else the curves' noise or the metric's quantum; a smaller gain cannot be told from seed
noise) and ``min_gain_fraction`` (5%) of the gain the whole study made over its median trial. The
next doubling usually gains less than the last one, so this errs toward "enough". Budgets beyond
the study's own size are not extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scitune.analysis.ranking import oriented
from scitune.states import FINISHED, TrialState

DEFAULT_RESAMPLES = 2000
MIN_GAIN_FRACTION = 0.05


@dataclass(frozen=True)
class BudgetCurve:
    """One study's bootstrap: for each budget, the best objective's median and spread over draws.

    Lists run in parallel with ``budgets``; a None entry means that most draws of that size held no
    completed trial. ``q25``/``q75`` and ``q05``/``q95`` are the interquartile and 90% ranges."""

    study: str
    trials: int  # finished trials drawn from
    completed: int
    budgets: list[int]
    median: list[float | None]
    q25: list[float | None]
    q75: list[float | None]
    q05: list[float | None]
    q95: list[float | None]
    last_doubling_gain: float | None  # expected best at n//2 minus at n, oriented: > 0 means it still improved
    threshold: float | None
    threshold_source: str | None  # "retrain", "curve", "quantum" (the noise floor's source) or "study gain"
    more_would_help: bool | None  # None when the study is too small to tell (fewer than 4 finished trials)
    message: str
    expected: list[float | None] = field(default_factory=list)  # the unbiased expected best, per budget


def expected_best(values: Sequence[float], k: int, mode: str = "min") -> float | None:
    """The expected best of ``k`` of the ``values`` drawn without replacement (the unbiased
    estimator of the module docstring); NaN entries count as the worst finite value. None when no
    value is finite or ``k`` is outside 1..n."""
    return _ExpectedBest(values, mode).of(k)


class _ExpectedBest:
    """:func:`expected_best` of one set of values for many ``k``: the values are sorted once and
    ``lgamma`` of 1..n+1 tabled once (the same ``math.lgamma`` numbers the formula reads, so every
    ``k`` gives exactly what a call of its own would), instead of per ``k`` and per element."""

    def __init__(self, values: Sequence[float], mode: str) -> None:
        raw = np.asarray(values, dtype=float)
        finite = np.isfinite(raw)
        self.n, self.mode, self.any = raw.size, mode, bool(finite.any())
        if self.any:
            keyed = np.asarray(oriented(raw, mode), dtype=float)
            self.keyed = np.sort(np.where(finite, keyed, keyed[finite].max()))  # best (lowest) first
            self.table = np.concatenate([[np.inf], _lgamma(np.arange(1, self.n + 2))])  # [0] never read

    def of(self, k: int) -> float | None:
        n = self.n
        if not self.any or not 1 <= k <= n:
            return None
        lg = self.table
        i = np.arange(1, n + 1)
        # C(n - i, k - 1) / C(n, k) via log-gamma, 0 where n - i < k - 1.
        ok = n - i >= k - 1
        logw = np.full(n, -np.inf)
        j = i[ok]
        logw[ok] = lg[n - j + 1] - lg[k] - lg[n - j - k + 2] - (lg[n + 1] - lg[k + 1] - lg[n - k + 1])
        weights = np.exp(logw)
        return float(oriented(float(np.dot(weights / weights.sum(), self.keyed)), self.mode))


def _lowest_of(rng: np.random.Generator, n: int, k: int, resamples: int) -> np.ndarray:
    """For each of ``resamples`` draws of ``k`` indices uniform on 0..n-1 with replacement, the
    lowest index drawn, sampled directly rather than by drawing all ``k``: the lowest of ``k``
    uniforms on [0, 1) is ``1 - (1 - u) ** (1 / k)`` for one uniform ``u``, and ``floor(n * x)``
    keeps the order, so the lowest index is ``floor(n * that)`` -- the same distribution as the
    minimum of ``k`` drawn indices, in ``resamples`` numbers instead of ``resamples * k`` (which
    at 50,000 trials a study was 800 MB of indices for the largest budget alone)."""
    u = rng.random(resamples)
    lowest = -np.expm1(np.log1p(-u) / k)  # 1 - (1 - u) ** (1 / k), accurate for large k
    return np.minimum(np.floor(n * lowest).astype(np.int64), n - 1)


def _lgamma(x: np.ndarray | int) -> np.ndarray:
    return np.vectorize(math.lgamma, otypes=[float])(np.asarray(x, dtype=float))


def default_budgets(n: int, most: int = 24) -> list[int]:
    """Every budget up to ``n`` when there are few, else a geometric grid; always with n//2 and n."""
    if n <= most:
        return list(range(1, n + 1))
    grid = np.unique(np.round(np.geomspace(1, n, most)).astype(int))
    return sorted({*grid.tolist(), n // 2, n})


def budget_curve(
    values: Sequence[float],
    mode: str,
    *,
    study: str = "",
    budgets: Sequence[int] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    noise: float | None = None,
    min_gain_fraction: float = MIN_GAIN_FRACTION,
    seed: int = 0,
    noise_source: str = "retrain",
    noise_margin: float = 1.0,
) -> BudgetCurve:
    """Bootstrap the best objective over budgets, and the expected best (:func:`expected_best`).
    ``values``: one per finished trial, NaN (or None) for a trial without a result (infeasible,
    failed). ``noise``: the noise floor (by default the retrain standard deviation, as
    ``noise_source`` says), multiplied by ``noise_margin`` for the threshold. ``seed`` makes the
    bootstrap's draws reproducible; the verdict does not depend on it."""
    raw = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    n, finite = raw.size, np.isfinite(raw)
    keyed = np.where(finite, oriented(raw, mode), np.inf)  # lower is better; no result never wins
    budgets = sorted({int(k) for k in (budgets or default_budgets(n)) if 1 <= int(k)})
    rng = np.random.default_rng(seed)
    quantiles: dict[int, np.ndarray] = {}
    ordered = np.sort(keyed)  # best first: the best of a draw is the value at its lowest index
    for k in budgets:
        if n == 0:
            break
        best = oriented(ordered[_lowest_of(rng, n, k, resamples)], mode)  # objective units
        quantiles[k] = np.quantile(best, [0.05, 0.25, 0.5, 0.75, 0.95], method="nearest")

    def column(i: int) -> list[float | None]:
        out = []
        for k in budgets:
            q = quantiles.get(k)
            out.append(None if q is None or not math.isfinite(q[i]) else float(q[i]))
        return out

    q05, q25, median, q75, q95 = (column(i) for i in range(5))
    gain = threshold = source = helps = None
    estimator = _ExpectedBest(raw, mode)
    if n >= 4 and finite.any():
        half, full = estimator.of(n // 2), estimator.of(n)
        assert half is not None and full is not None
        gain = float(oriented(half, mode) - oriented(full, mode))
        spread = float(np.median(keyed[finite])) - float(keyed[finite].min())
        threshold, source = min_gain_fraction * spread, "study gain"
        if noise is not None and noise > 0 and noise_margin * noise >= threshold:
            threshold, source = float(noise_margin * noise), noise_source
        helps = bool(gain > threshold) if threshold > 0 else False
    message = _message(study, n, gain, threshold, source, helps, min_gain_fraction)
    expected = [estimator.of(k) if k <= n else None for k in budgets]
    return BudgetCurve(study, n, int(finite.sum()), budgets, median, q25, q75, q05, q95,
                       None if gain is None else float(gain), threshold, source, helps, message, expected)


def _message(study: str, n: int, gain: float | None, threshold: float | None, source: str | None,
             helps: bool | None, fraction: float) -> str:
    name = f"{study}: " if study else ""
    if helps is None or gain is None or threshold is None:
        return f"{name}too few finished trials ({n}) to tell whether more would help"
    against = {
        "retrain": f"the noise allowance from retrain variance ({threshold:.3g})",
        "curve": f"the noise allowance from the curves' step-to-step noise ({threshold:.3g})",
        "quantum": f"the noise allowance from the metric's resolution ({threshold:.3g})",
    }.get(source or "", f"{fraction:.0%} of the study's gain over its median trial ({threshold:.3g})")
    change = f"going from {n // 2} to {n} trials improved the expected best by {gain:.3g}"
    if helps:
        return f"{name}{change}, more than {against}: more trials would likely still help"
    return f"{name}{change}, not more than {against}: {n} trials were likely enough"


def budget_curves(
    trials: pd.DataFrame,
    mode: str,
    studies: Sequence[str] | None = None,
    noise: Mapping[str, float] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    noise_sources: Mapping[str, str] | None = None,
    noise_margin: float = 1.0,
) -> list[BudgetCurve]:
    """:func:`budget_curve` for each study of a trial frame (study, state, best_value), in
    ``studies`` order. ``noise`` maps a study to its noise floor (by default its retrain standard
    deviation, :func:`scitune.analysis.variance.study_noise`; ``noise_sources`` names other sources)."""
    order = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    out = []
    for study in order:
        group = trials[(trials["study"] == study) & trials["state"].isin(FINISHED)]
        values = pd.to_numeric(group["best_value"], errors="coerce").where(group["state"] == TrialState.COMPLETED)
        out.append(budget_curve(values.tolist(), mode, study=study, resamples=resamples,
                                noise=(noise or {}).get(study), seed=seed, noise_margin=noise_margin,
                                noise_source=(noise_sources or {}).get(study, "retrain")))
    return out


def budget_table(curves: Sequence[BudgetCurve]) -> pd.DataFrame:
    """The curves as one long table: study, budget, median, q25, q75, q05, q95."""
    rows = [
        {"study": c.study, "budget": k, "median": c.median[i], "q25": c.q25[i], "q75": c.q75[i],
         "q05": c.q05[i], "q95": c.q95[i]}
        for c in curves for i, k in enumerate(c.budgets)
    ]
    return pd.DataFrame(rows, columns=["study", "budget", "median", "q25", "q75", "q05", "q95"])
