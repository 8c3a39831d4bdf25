"""How many trials were enough: the expected best objective as a function of the trial budget.

The playbook's answer (FAQ "How many trials are needed to get good results with quasi-random search?") is a bootstrap: draw ``k`` of a study's
finished trials with replacement, many times, and look at the distribution of the best objective
among the ``k``, for each budget ``k``. Its median falls and its spread narrows as ``k`` grows; how
fast it still falls at the study's own size says whether more trials would likely help.

Infeasible and failed trials take part in the draws: they used a slot of the budget and gave
nothing (a draw of only such trials has no best). Pending and running trials do not.

"More trials would likely still help" when the last doubling of the budget (``n // 2`` to ``n``
trials) still improved the median best by more than a threshold: the study's retrain standard
deviation when it is known (a smaller improvement could not be told from seed noise), otherwise
``min_gain_fraction`` (5%) of the gain the whole study made over its median trial. The next doubling
usually gains less than the last one, so this errs toward "enough". Budgets beyond the study's own
size are not extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    last_doubling_gain: float | None  # median best at n//2 minus at n, oriented: > 0 means it still improved
    threshold: float | None
    threshold_source: str | None  # "retrain" or "study gain"
    more_would_help: bool | None  # None when the study is too small to tell (fewer than 4 finished trials)
    message: str


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
) -> BudgetCurve:
    """Bootstrap the best objective over budgets. ``values``: one per finished trial, NaN (or
    None) for a trial without a result (infeasible, failed). ``noise``: the retrain standard
    deviation, when measured. ``seed`` makes the draws reproducible."""
    raw = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    n, finite = raw.size, np.isfinite(raw)
    keyed = np.where(finite, oriented(raw, mode), np.inf)  # lower is better; no result never wins
    budgets = sorted({int(k) for k in (budgets or default_budgets(n)) if 1 <= int(k)})
    rng = np.random.default_rng(seed)
    quantiles: dict[int, np.ndarray] = {}
    for k in budgets:
        if n == 0:
            break
        best = oriented(keyed[rng.integers(0, n, size=(resamples, k))].min(axis=1), mode)  # objective units
        quantiles[k] = np.quantile(best, [0.05, 0.25, 0.5, 0.75, 0.95], method="nearest")

    def column(i: int) -> list[float | None]:
        out = []
        for k in budgets:
            q = quantiles.get(k)
            out.append(None if q is None or not math.isfinite(q[i]) else float(q[i]))
        return out

    q05, q25, median, q75, q95 = (column(i) for i in range(5))
    gain = threshold = source = helps = None
    if n >= 4 and finite.any():
        half, full = _median_best(keyed, n // 2, resamples, rng), _median_best(keyed, n, resamples, rng)
        if math.isfinite(full):
            gain = (half - full) if math.isfinite(half) else math.inf
            if noise is not None and noise > 0:
                threshold, source = float(noise), "retrain"
            else:
                spread = float(np.median(keyed[finite])) - float(keyed[finite].min())
                threshold, source = min_gain_fraction * spread, "study gain"
            helps = bool(gain > threshold) if threshold > 0 else False
    message = _message(study, n, gain, threshold, source, helps, min_gain_fraction)
    return BudgetCurve(study, n, int(finite.sum()), budgets, median, q25, q75, q05, q95,
                       None if gain is None else float(gain), threshold, source, helps, message)


def _median_best(keyed: np.ndarray, k: int, resamples: int, rng: np.random.Generator) -> float:
    return float(np.median(keyed[rng.integers(0, keyed.size, size=(resamples, k))].min(axis=1)))


def _message(study: str, n: int, gain: float | None, threshold: float | None, source: str | None,
             helps: bool | None, fraction: float) -> str:
    name = f"{study}: " if study else ""
    if helps is None or gain is None or threshold is None:
        return f"{name}too few finished trials ({n}) to tell whether more would help"
    if math.isinf(gain):
        return f"{name}{n // 2} trials usually found no feasible point, {n} did: more trials would likely still help"
    against = (f"the retrain noise (sd {threshold:.3g})" if source == "retrain"
               else f"{fraction:.0%} of the study's gain over its median trial ({threshold:.3g})")
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
) -> list[BudgetCurve]:
    """:func:`budget_curve` for each study of a trial frame (study, state, best_value), in
    ``studies`` order. ``noise`` maps a study to its retrain standard deviation
    (:func:`scitune.analysis.variance.study_noise`)."""
    order = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    out = []
    for study in order:
        group = trials[(trials["study"] == study) & trials["state"].isin(FINISHED)]
        values = pd.to_numeric(group["best_value"], errors="coerce").where(group["state"] == TrialState.COMPLETED)
        out.append(budget_curve(values.tolist(), mode, study=study, resamples=resamples,
                                noise=(noise or {}).get(study), seed=seed))
    return out


def budget_table(curves: Sequence[BudgetCurve]) -> pd.DataFrame:
    """The curves as one long table: study, budget, median, q25, q75, q05, q95."""
    rows = [
        {"study": c.study, "budget": k, "median": c.median[i], "q25": c.q25[i], "q75": c.q75[i],
         "q05": c.q05[i], "q95": c.q95[i]}
        for c in curves for i, k in enumerate(c.budgets)
    ]
    return pd.DataFrame(rows, columns=["study", "budget", "median", "q25", "q75", "q05", "q95"])
