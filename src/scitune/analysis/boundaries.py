"""Is the search space wide enough? Best trials at a range's edge, and infeasible regions.

Playbook ("Identifying bad search space boundaries"): when a study's best trials sit near the edge of a
nuisance range, the optimum may lie outside it; widen the range in that direction until they
don't. The playbook gives no number for "near"; ours is the outer ``edge_fraction`` of the range
measured on the parameter's own scale (log ranges in log space), so 10% of [1e-4, 1e-1] is the top
0.3 decade. When every trial past some value diverged and the best trial sits just below it, the
edge is one of stability, not of the range (the playbook's cue for learning-rate warmup).

Each edge carries an **effect size**: the gain widening could plausibly bring, read from the trend
of the objective along the parameter (a least-squares fit of the objective on the positions, own
scale, of every range parameter, over the completed trials but the best) extrapolated over the
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
    name, number = param.name, (int, float)
    values = [p.get(name) if isinstance(p, dict) else None for p in frame["params"].tolist()]
    keep = np.fromiter((type(v) is not bool and isinstance(v, number) for v in values), dtype=bool, count=len(values))
    # RangeParam.position's arithmetic, inlined (the same float operations, without a call per trial)
    if param.scale == "log":
        low, width = math.log(param.low), math.log(param.high) - math.log(param.low)
        log = math.log
        pos = [(log(float(v)) - low) / width for v, k in zip(values, keep) if k]
    else:
        low, width = param.low, param.high - param.low
        pos = [(float(v) - low) / width for v, k in zip(values, keep) if k]
    return keep, np.array(pos, dtype=float)


def _trend(closeness: np.ndarray, objective: np.ndarray, mode: str) -> tuple[float | None, float | None]:
    """Spearman rho between closeness to an edge and improvement (positive: better toward the edge)."""
    if len(closeness) < 4 or np.ptp(closeness) == 0 or np.ptp(objective) == 0:
        return None, None
    result = stats.spearmanr(closeness, -np.asarray(oriented(objective, mode)))
    return float(result.statistic), float(result.pvalue)


def slope_gain(
    positions: np.ndarray,
    objective: np.ndarray,
    mode: str,
    toward: Edge,
    span: float,
    covariates: np.ndarray | None = None,
) -> tuple[float | None, float | None]:
    """``(gain, p)``: the improvement a least-squares fit of the objective on ``positions`` predicts
    over ``span`` further toward ``toward`` (0 when the fit points away; objective units), and the
    one-sided p-value of its slope pointing that way. ``covariates`` (one column per other
    parameter's position) enter the fit too, so the variation they cause is not read as noise. None
    with too few points for the fit or no spread."""
    x, y = np.asarray(positions, dtype=float), np.asarray(oriented(np.asarray(objective, dtype=float), mode), dtype=float)
    if len(x) < 4:
        return None, None
    others = np.empty((len(x), 0)) if covariates is None else np.asarray(covariates, dtype=float).reshape(len(x), -1)
    others = others[:, np.ptp(others, axis=0) > 0] if others.size else others
    if len(x) < others.shape[1] + 4 or np.ptp(x) == 0:
        return None, None
    if np.ptp(y) == 0:
        return 0.0, 1.0
    design = np.column_stack([np.ones_like(x), x, others])
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < design.shape[1]:
        return None, None
    df = len(x) - design.shape[1]
    residual = y - design @ coef
    sigma2 = float(residual @ residual) / df
    stderr = math.sqrt(sigma2 * float(np.linalg.inv(design.T @ design)[1, 1]))
    improving = -coef[1] if toward == "high" else coef[1]  # lower y is better
    t = improving / stderr if stderr > 0 else (math.inf if improving > 0 else -math.inf)
    return float(max(0.0, improving) * span), float(stats.t.sf(t, df))


def _covariates(rows: pd.DataFrame, space: SearchSpace, exclude: str) -> np.ndarray:
    """The positions of the other range parameters that every row has, one column each."""
    columns = []
    for other in space.params:
        if isinstance(other, RangeParam) and other.name != exclude:
            keep, pos = _positions(rows, other)
            if keep.all() and len(pos):
                columns.append(pos)
    return np.column_stack(columns) if columns else np.empty((len(rows), 0))


def _edge_gain(
    pos: np.ndarray, objective: np.ndarray, mode: str, edge: Edge, widen_by: float, covariates: np.ndarray
) -> tuple[float | None, float | None]:
    """The objective's linear trend along the parameter (the other range parameters fitted too),
    extrapolated over ``widen_by``. ``pos`` and ``objective`` are best first; the best trial is left
    out: it is why the edge was looked at, and the best value sitting at the extreme position would
    bias the slope toward the edge even where the objective is flat."""
    return slope_gain(pos[1:], objective[1:], mode, edge, widen_by, covariates[1:])


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
            gain, gain_p = _edge_gain(pos, objective, mode, edge, widen_by, _covariates(rows, space, param.name))
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
    (a log range of 3 decades widened by 0.5 gains 1.5 decades); int ranges round outward; never
    past the parameter's domain (:func:`clip_to_domain`)."""
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
    return float(clip_to_domain(param, bound))


def clip_to_domain(param: RangeParam, value: float) -> float:
    """``value`` moved into the parameter's domain (``RangeParam.domain``; unchanged without one).
    On a log scale a domain starting at 0 is no limit: the log range never reaches 0."""
    if param.domain is None:
        return value
    lo, hi = param.domain
    if lo is not None and value < lo:
        value = lo if not (param.scale == "log" and lo <= 0) else value
    if hi is not None and value > hi:
        value = hi
    return value


def at_domain_end(param: RangeParam, edge: Edge) -> bool:
    """Whether the range already reaches its domain's end on ``edge`` (no widening is possible)."""
    bound = param.low if edge == "low" else param.high
    return widened_bound(param, edge, 0.5) == bound


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
    the gain of one ``edge_fraction`` more, from the trend over the completed trials (the other range
    parameters fitted too, the best trial left out, as for an edge).
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
            elif bad_pos.max() < good_pos.min():
                side = "low"
                gap = best - bad_pos.max()
                threshold_row = bad[bad_keep].iloc[int(np.argmax(bad_pos))]
                nearest_row = good[good_keep].iloc[int(np.argmin(good_pos))]
            else:
                continue
            best_value = float(good[good_keep].iloc[0]["params"][param.name])
            border = float(threshold_row["params"][param.name])
            distance = abs(math.log10(border) - math.log10(best_value)) if param.scale == "log" else abs(border - best_value)
            close = gap <= edge_fraction and (param.scale != "log" or distance <= border_decades)
            objective = good[good_keep]["best_value"].to_numpy(float)
            covariates = _covariates(good[good_keep], space, param.name)
            # The best trial left out, as for an edge (_edge_gain).
            gain, gain_p = slope_gain(good_pos[1:], objective[1:], mode, side, edge_fraction, covariates[1:])
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
