"""Is the search space wide enough? Best trials at a range's edge, and infeasible regions.

Playbook ("Identifying bad search space boundaries"): when a study's best trials sit near the edge of a
nuisance range, the optimum may lie outside it; widen the range in that direction until they
don't. The playbook gives no number for "near"; ours is the outer ``edge_fraction`` of the range
measured on the parameter's own scale (log ranges in log space), so 10% of [1e-4, 1e-1] is the top
0.3 decade. When every trial past some value diverged and the best trial sits just below it, the
edge is one of stability, not of the range (the playbook's cue for learning-rate warmup).

Each edge carries an **effect size**: the gain widening could plausibly bring, read from the trend
of the objective over the half of the range next to the edge (a least-squares line of the objective
on the parameter's position, own scale, over the completed trials there) extrapolated over the
widening (``widen_by`` of the range's width). ``gain_p`` is the one-sided p-value of that line's
slope pointing toward the edge. The same trend, measured toward a region of divergence, is the
evidence that instability limits the best trial (:func:`border_effect`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from scitune.analysis.ranking import oriented, ranked
from scitune.space import RangeParam, SearchSpace
from scitune.states import TrialState

Edge = Literal["low", "high"]


@dataclass(frozen=True)
class EdgeHit:
    """A study's best trial lies in the outer band of a nuisance range."""

    study: str
    param: str
    edge: Edge
    bound: float  # the range's bound on that side
    value: float  # the best trial's value of the parameter
    position: float  # where that value sits: 0 at low, 1 at high, on the parameter's scale
    trial: int  # the best trial's number
    near: int  # how many of the top-k trials lie in the same band (the best included)
    considered: int  # how many of the top-k trials have the parameter (conditional ones may not)
    trend: float | None  # Spearman rho of closeness to the edge vs improvement, all completed trials
    trend_p: float | None
    gain: float | None = None  # the improvement widening by widen_by could plausibly bring (objective units)
    gain_p: float | None = None  # one-sided p-value of the improving slope behind ``gain``


@dataclass(frozen=True)
class InfeasibleRegion:
    """Every infeasible trial of a study lies beyond a value that no completed trial passes."""

    study: str
    param: str
    side: Edge  # "high": infeasible above ``threshold``
    threshold: float  # the least extreme infeasible value
    infeasible: int  # infeasible trials that have the parameter
    nearest_feasible: float  # the completed trial closest to the region
    best_at_border: bool  # the best trial is near the region (edge_fraction, at most border_decades on a log
    # scale) and the objective improves toward it beyond the noise (set by :func:`border_effect`'s caller)
    distance: float | None = None  # best trial to the region: decades on a log scale, else the parameter's units
    gain: float | None = None  # improvement per the best trial's distance to the region, extrapolated to it
    gain_p: float | None = None


def _positions(frame: pd.DataFrame, param: RangeParam) -> tuple[np.ndarray, np.ndarray]:
    """The rows that have the parameter, and where their values sit in its range."""
    values = [p.get(param.name) if isinstance(p, dict) else None for p in frame["params"]]
    keep = np.array([isinstance(v, (int, float)) and not isinstance(v, bool) for v in values], dtype=bool)
    pos = np.array([param.position(float(v)) for v, k in zip(values, keep) if k], dtype=float)
    return keep, pos


def _trend(closeness: np.ndarray, objective: np.ndarray, mode: str) -> tuple[float | None, float | None]:
    """Spearman rho between closeness to an edge and improvement (positive: better toward the edge)."""
    if len(closeness) < 4 or np.ptp(closeness) == 0 or np.ptp(objective) == 0:
        return None, None
    result = stats.spearmanr(closeness, -np.asarray(oriented(objective, mode)))
    return float(result.statistic), float(result.pvalue)


def slope_gain(positions: np.ndarray, objective: np.ndarray, mode: str, toward: Edge, span: float) -> tuple[float | None, float | None]:
    """``(gain, p)``: the improvement a least-squares line of the objective on ``positions``
    predicts over ``span`` further toward ``toward`` (0 when the line points away; objective units),
    and the one-sided p-value of its slope pointing that way. None with fewer than 4 points or no
    spread."""
    x, y = np.asarray(positions, dtype=float), np.asarray(oriented(np.asarray(objective, dtype=float), mode), dtype=float)
    if len(x) < 4 or np.ptp(x) == 0:
        return None, None
    if np.ptp(y) == 0:
        return 0.0, 1.0
    fit = stats.linregress(x, y)
    improving = -fit.slope if toward == "high" else fit.slope  # lower y is better
    t = improving / fit.stderr if fit.stderr > 0 else (math.inf if improving > 0 else -math.inf)
    p = float(stats.t.sf(t, len(x) - 2))
    return float(max(0.0, improving) * span), p


def _edge_gain(pos: np.ndarray, objective: np.ndarray, mode: str, edge: Edge, widen_by: float) -> tuple[float | None, float | None]:
    """The trend over the half of the range next to ``edge`` (all of it when that half holds fewer
    than 4 trials), extrapolated over ``widen_by``."""
    half = pos >= 0.5 if edge == "high" else pos <= 0.5
    if half.sum() < 4:
        half = np.ones_like(pos, dtype=bool)
    return slope_gain(pos[half], objective[half], mode, edge, widen_by)


def edge_hits(
    trials: pd.DataFrame, space: SearchSpace, mode: str, top_k: int = 3, edge_fraction: float = 0.1,
    widen_by: float = 0.5,
) -> list[EdgeHit]:
    """For every study and range parameter whose best trial lies within ``edge_fraction`` of an
    edge (own scale): one :class:`EdgeHit`, with how many of the ``top_k`` trials lie there too and
    the objective's trend toward that edge over all completed trials (the strength of the evidence)."""
    hits = []
    done = ranked(trials, mode)
    for study in dict.fromkeys(trials["study"]):
        group = done[done["study"] == study]
        for param in space.params:
            if not isinstance(param, RangeParam):
                continue
            keep, pos = _positions(group, param)
            if not len(pos):
                continue
            best_pos, top = pos[0], pos[:top_k]
            if best_pos <= edge_fraction:
                edge: Edge = "low"
                near, closeness = int(np.sum(top <= edge_fraction)), 1 - pos
            elif best_pos >= 1 - edge_fraction:
                edge, near, closeness = "high", int(np.sum(top >= 1 - edge_fraction)), pos
            else:
                continue
            rows = group[keep]
            objective = rows["best_value"].to_numpy(float)
            trend, p = _trend(closeness, objective, mode)
            gain, gain_p = _edge_gain(pos, objective, mode, edge, widen_by)
            hits.append(
                EdgeHit(
                    study=study,
                    param=param.name,
                    edge=edge,
                    bound=param.low if edge == "low" else param.high,
                    value=float(rows.iloc[0]["params"][param.name]),
                    position=float(best_pos),
                    trial=int(rows.iloc[0]["trial"]),
                    near=near,
                    considered=len(top),
                    trend=trend,
                    trend_p=p,
                    gain=gain,
                    gain_p=gain_p,
                )
            )
    return hits


def effect_beyond_noise(gain: float | None, p: float | None, floor: float, margin: float, alpha: float = 0.05) -> bool:
    """Whether a trend's predicted gain is an effect: its slope significant (one-sided ``p`` below
    ``alpha``) and the gain above ``margin`` noise floors."""
    return gain is not None and p is not None and p < alpha and gain > margin * floor


def strong_edge(hit: EdgeHit, alpha: float = 0.05) -> bool:
    """Whether an edge hit is strong evidence that the range is too narrow: two or more of the top
    trials in the edge band, or the objective improving toward the edge over all completed trials
    (Spearman's rho positive with p < ``alpha``). A best trial alone at an edge with no such trend is weak
    evidence: a parameter that barely matters puts its best trial anywhere, edges included."""
    toward = hit.trend is not None and hit.trend > 0 and hit.trend_p is not None and hit.trend_p < alpha
    return hit.near >= 2 or toward


def widened_bound(param: RangeParam, edge: Edge, widen_by: float) -> float:
    """The bound moved outward by ``widen_by`` of the range's width, on the parameter's own scale
    (a log range of 3 decades widened by 0.5 gains 1.5 decades); int ranges round outward."""
    if param.scale == "log":
        factor = (param.high / param.low) ** widen_by
        bound = param.low / factor if edge == "low" else param.high * factor
    else:
        step = widen_by * (param.high - param.low)
        bound = param.low - step if edge == "low" else param.high + step
    if param.integer:
        bound = math.floor(bound) if edge == "low" else math.ceil(bound)
        if param.scale == "log":
            bound = max(bound, 1)
    return float(bound)


def infeasible_regions(
    trials: pd.DataFrame,
    space: SearchSpace,
    mode: str,
    edge_fraction: float = 0.1,
    min_infeasible: int = 2,
    *,
    border_decades: float = 0.5,
    floors: Mapping[str, float] | None = None,
    noise_margin: float = 2.0,
) -> list[InfeasibleRegion]:
    """Range parameters that separate a study's infeasible trials cleanly from its completed ones:
    all (at least ``min_infeasible``) infeasible trials on one side of a value, all completed trials
    on the other. Diverging at high learning rates looks exactly like this.

    The best trial "borders" the region only when it is close in absolute terms (within
    ``edge_fraction`` of the range and, on a log scale, ``border_decades`` decades) **and** the
    objective improves toward the region beyond ``noise_margin`` noise floors (``floors`` by study):
    the gain of one ``edge_fraction`` more, from the trend over the completed half nearest the region.
    Sitting near the border of a flat objective is not being limited by it."""
    regions = []
    done = ranked(trials, mode)
    for study in dict.fromkeys(trials["study"]):
        bad = trials[(trials["study"] == study) & (trials["state"] == TrialState.INFEASIBLE)]
        good = done[done["study"] == study]
        if len(bad) < min_infeasible or good.empty:
            continue
        for param in space.params:
            if not isinstance(param, RangeParam):
                continue
            bad_keep, bad_pos = _positions(bad, param)
            good_keep, good_pos = _positions(good, param)
            if len(bad_pos) < min_infeasible or not len(good_pos):
                continue
            best = good_pos[0]
            if bad_pos.min() > good_pos.max():
                side: Edge = "high"
                gap = bad_pos.min() - best
                threshold_row = bad[bad_keep].iloc[int(np.argmin(bad_pos))]
                nearest_row = good[good_keep].iloc[int(np.argmax(good_pos))]
                nearest_half = good_pos >= (good_pos.min() + good_pos.max()) / 2
            elif bad_pos.max() < good_pos.min():
                side = "low"
                gap = best - bad_pos.max()
                threshold_row = bad[bad_keep].iloc[int(np.argmax(bad_pos))]
                nearest_row = good[good_keep].iloc[int(np.argmin(good_pos))]
                nearest_half = good_pos <= (good_pos.min() + good_pos.max()) / 2
            else:
                continue
            best_value = float(good[good_keep].iloc[0]["params"][param.name])
            border = float(threshold_row["params"][param.name])
            distance = abs(math.log10(border) - math.log10(best_value)) if param.scale == "log" else abs(border - best_value)
            close = gap <= edge_fraction and (param.scale != "log" or distance <= border_decades)
            if nearest_half.sum() < 4:
                nearest_half = np.ones_like(good_pos, dtype=bool)
            objective = good[good_keep]["best_value"].to_numpy(float)
            gain, gain_p = slope_gain(good_pos[nearest_half], objective[nearest_half], mode, side, edge_fraction)
            floor = float((floors or {}).get(study) or 0.0)
            at_border = close and effect_beyond_noise(gain, gain_p, floor, noise_margin)
            regions.append(
                InfeasibleRegion(
                    study=study,
                    param=param.name,
                    side=side,
                    threshold=border,
                    infeasible=len(bad_pos),
                    nearest_feasible=float(nearest_row["params"][param.name]),
                    best_at_border=bool(at_border),
                    distance=float(distance),
                    gain=gain,
                    gain_p=gain_p,
                )
            )
    return regions
