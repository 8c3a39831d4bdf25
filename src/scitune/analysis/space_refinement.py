"""A narrower search space for the Bayesian round, read from an exploration's results.

Playbook ("After exploration concludes"): once exploration has shown where the good
region is, and the boundary check says the space is wide enough, Bayesian optimization runs on a
refined space. Each range shrinks to the region around the best trials, with room to spare:

- the best trials are the ``top_k`` best completed trials of each study, or its best
  ``best_fraction`` (20%) if that is more (a handful of points is a thin basis for a range);
- on the parameter's own scale (log ranges in log space), the range becomes
  ``[lowest - pad, highest + pad]`` of those trials, where ``pad`` is ``margin`` (half) of their
  spread, and at least ``min_pad`` (10%) of the old width, clipped to the old range. So a range
  never widens (exploration did not look outside it) and always keeps a margin around the region;
- bounds are rounded outward to three significant digits, int ranges to whole numbers;
- lists of values (discrete and categorical) are kept whole: a few best trials are not evidence
  against a value. Conditions are kept as they are.

Refinement is refused while a study's best trials sit near an edge of a range
(:func:`scitune.analysis.boundaries.edge_hits`, the report's check): the optimum may lie outside,
so the space must be widened and explored first, not narrowed. As in the report, the evidence is
strong when at least two of the top trials lie in the edge band, or the objective improves toward
the edge over all completed trials (Spearman, p < 0.05). A best trial alone at an edge with no such
trend is weak evidence (a parameter that barely matters puts its best trial anywhere, edges
included): refinement goes on, keeps that edge, and names it in ``weak_edges``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scitune.analysis.boundaries import EdgeHit, edge_hits, effect_beyond_noise, strong_edge, widened_bound
from scitune.analysis.ranking import ranked
from scitune.errors import RefineRefused
from scitune.space import RangeParam, SearchSpace

BEST_FRACTION = 0.2
MARGIN = 0.5
MIN_PAD = 0.1
DIGITS = 3


@dataclass(frozen=True)
class RefinedRange:
    """One range parameter before and after refinement."""

    param: str
    scale: str
    old_low: float
    old_high: float
    low: float
    high: float
    best_low: float  # the lowest value among the best trials
    best_high: float  # the highest
    trials: int  # how many of the best trials have the parameter (conditional ones may not)

    @property
    def kept(self) -> float:
        """The share of the old range, on the parameter's own scale, that the new one keeps."""
        if self.scale == "log":
            return math.log(self.high / self.low) / math.log(self.old_high / self.old_low)
        return (self.high - self.low) / (self.old_high - self.old_low)


@dataclass(frozen=True)
class Refinement:
    """The refined nuisance space: ``nuisance`` as it would be written in an experiment file, and
    what changed (``ranges``); ``best`` counts the best trials per study the ranges are built on."""

    nuisance: dict[str, Any]
    ranges: list[RefinedRange]
    best: dict[str, int] = field(default_factory=dict)
    weak_edges: list[EdgeHit] = field(default_factory=list)


def best_trials(trials: pd.DataFrame, mode: str, top_k: int, best_fraction: float = BEST_FRACTION) -> pd.DataFrame:
    """Each study's best completed trials: ``max(top_k, round(best_fraction * completed))`` of them."""
    done = ranked(trials, mode)
    parts = []
    for study in dict.fromkeys(trials["study"]):
        group = done[done["study"] == study]
        parts.append(group.head(max(top_k, round(best_fraction * len(group)))))
    return pd.concat(parts) if parts else done.head(0)


def _round_outward(value: float, down: bool, digits: int = DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits, down or up."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    scale = 10.0**exponent
    quotient = value / scale
    if abs(quotient - round(quotient)) < 1e-6:  # 0.30000000000000004 is 0.3, not 0.301
        quotient = round(quotient)
    rounded = (math.floor if down else math.ceil)(quotient) * scale
    return float(f"{rounded:.{digits}g}")


def refine_range(
    param: RangeParam, values: list[float], margin: float = MARGIN, min_pad: float = MIN_PAD
) -> tuple[float, float]:
    """The refined ``(low, high)`` of one range around the best trials' ``values``."""
    positions = np.array([param.position(float(v)) for v in values])
    lo, hi = float(positions.min()), float(positions.max())
    pad = max(margin * (hi - lo), min_pad)
    low = param.at(max(0.0, lo - pad))
    high = param.at(min(1.0, hi + pad))
    if param.integer:
        low, high = max(math.floor(low), param.low), min(math.ceil(high), param.high)
        if high <= low:  # a single integer: keep a neighbour, so the range stays a range
            low, high = (low, low + 1) if low + 1 <= param.high else (high - 1, high)
        return float(low), float(high)
    low, high = max(_round_outward(low, True), param.low), min(_round_outward(high, False), param.high)
    return float(low), float(high)


def refine_space(
    trials: pd.DataFrame,
    space: SearchSpace,
    mode: str,
    *,
    top_k: int = 3,
    edge_fraction: float = 0.1,
    best_fraction: float = BEST_FRACTION,
    margin: float = MARGIN,
    min_pad: float = MIN_PAD,
) -> Refinement:
    """The refined space around each study's best trials (module docstring), or
    :class:`RefineRefused` when a study has fewer than ``top_k`` completed trials or its best trial
    lies within ``edge_fraction`` of a range's edge. ``trials`` has the store's columns (study,
    trial, state, params, best_value)."""
    done = ranked(trials, mode)
    few = [
        f"study '{s}' has {int((done['study'] == s).sum())} completed trial(s), fewer than the {top_k} "
        "best trials a refined space is built on"
        for s in dict.fromkeys(trials["study"])
        if (done["study"] == s).sum() < top_k
    ]
    if trials.empty or few:
        raise RefineRefused(few or ["the exploration has no trials"])
    hits = edge_hits(trials, space, mode, top_k, edge_fraction)
    # The report's rule (findings.search_checks.boundary_findings): a strong edge toward which the
    # objective improves significantly. refine reads no curves, so it has no noise floor to add.
    strong = [h for h in hits if strong_edge(h) and effect_beyond_noise(h.gain, h.gain_p, 0.0, 0.0)]
    if strong:
        raise RefineRefused([_edge_reason(h, space, edge_fraction) for h in strong], strong)
    best = best_trials(trials, mode, top_k, best_fraction)
    nuisance: dict[str, Any] = {}
    ranges = []
    for param in space.params:
        if not isinstance(param, RangeParam):
            nuisance[param.name] = param.to_dict()
            continue
        values = [p[param.name] for p in best["params"] if isinstance(p, dict) and param.name in p]
        if len(values) < 2:  # a conditional parameter few best trials have: nothing to narrow on
            nuisance[param.name] = param.to_dict()
            continue
        low, high = refine_range(param, values, margin, min_pad)
        refined = RangeParam(param.name, low, high, param.scale, param.integer, param.when, param.domain)
        nuisance[param.name] = refined.to_dict()
        ranges.append(RefinedRange(
            param.name, param.scale, param.low, param.high, low, high, min(values), max(values), len(values)
        ))
    counts = {str(s): int((best["study"] == s).sum()) for s in dict.fromkeys(trials["study"])}
    return Refinement(nuisance, ranges, counts, [h for h in hits if h not in strong])


def _edge_reason(hit: EdgeHit, space: SearchSpace, edge_fraction: float) -> str:
    param = space[hit.param]
    assert isinstance(param, RangeParam)
    side = "lowest" if hit.edge == "low" else "highest"
    widened = widened_bound(param, hit.edge, 0.5)
    return (
        f"study '{hit.study}': the best trial ({hit.trial}) has {hit.param} = {hit.value:.4g}, in the {side} "
        f"{edge_fraction:.0%} of its range [{param.low:g}, {param.high:g}] ({hit.near} of the top {hit.considered} "
        f"there); widen it (e.g. {hit.edge}: {widened:g}) and explore again"
    )
