"""Parallel coordinates: every finished trial of a study as one line across its nuisance
hyperparameters and the objective, coloured by the objective.

Playbook ("Extracting insight from experimental results"): look at where the good trials sit in
the search space and where the infeasible ones do. Infeasible and failed trials stay visible, on
a grey row above the worst finite objective; a top-k filter keeps only the best k completed trials
(plus, unless told otherwise, the unusable ones); a log objective axis keeps a few diverged trials
from flattening the rest. Log-scaled hyperparameters get log axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from scitune.analysis.ranking import ranked
from scitune.plots._style import FONT
from scitune.space import RangeParam, SearchSpace
from scitune.states import UNUSABLE

GREY = "#B0B0B0"


@dataclass(frozen=True)
class ParallelAxis:
    name: str
    values: list[float]  # as drawn: log10 of the value on a log axis, the category's index on a categorical one
    log: bool = False
    categories: list[str] | None = None


@dataclass(frozen=True)
class ParallelInfo:
    objective: str
    mode: str
    axes: list[ParallelAxis]  # the nuisance hyperparameters, in the space's order
    objective_values: list[float | None]  # None for an infeasible or failed trial
    trials: list[str]  # "study/number", one per line
    log_objective: bool
    shown: int  # lines drawn
    total: int  # finished trials before the top-k filter


def _objective_scale(values: np.ndarray) -> tuple[np.ndarray, float]:
    """log10 of the objective, shifted to be positive when it is not."""
    shift = 0.0
    low = float(np.min(values)) if len(values) else 1.0
    if low <= 0:
        span = float(np.ptp(values)) if len(values) else 1.0
        shift = -low + (span * 1e-3 or 1e-12)
    return np.log10(values + shift), shift


def parallel_info(
    trials: pd.DataFrame,
    space: SearchSpace,
    objective: str,
    mode: str,
    top_k: int | None = None,
    log_objective: bool = False,
    infeasible: bool = True,
) -> ParallelInfo:
    """``trials``: one study's (or several studies') trials (study, trial, state, params, best_value).
    The best ``top_k`` completed trials (ranked as everywhere, :func:`scitune.analysis.ranking.ranked`),
    or all of them, and the infeasible and failed ones unless ``infeasible`` is False."""
    done = ranked(trials, mode)
    total = len(done) + int(trials["state"].isin(UNUSABLE).sum()) if len(trials) else 0
    if top_k is not None:
        done = done.head(int(top_k))
    bad = trials[trials["state"].isin(UNUSABLE)] if infeasible and len(trials) else trials.head(0)
    rows = pd.concat([done, bad]) if len(bad) else done
    params = rows["params"].tolist()
    axes = []
    for p in space.params:
        raw = [q.get(p.name) for q in params]
        if isinstance(p, RangeParam):
            log = p.scale == "log"
            fill = p.low
            numbers = [float(v) if isinstance(v, (int, float)) else fill for v in raw]
            axes.append(ParallelAxis(p.name, [math.log10(v) if log else v for v in numbers], log))
        else:
            categories = [str(v) for v in p.values]
            index = {c: i for i, c in enumerate(categories)}
            axes.append(ParallelAxis(p.name, [float(index.get(str(v), 0)) for v in raw], categories=categories))
    values = [float(v) for v in done["best_value"]] + [None] * len(bad)
    names = [f"{s}/{int(t)}" for s, t in zip(rows["study"], rows["trial"])]
    return ParallelInfo(objective, mode, axes, values, names, log_objective, len(rows), total)


def _log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    lo, hi = math.floor(low), math.ceil(high)
    ticks = list(range(lo, hi + 1))
    return [float(t) for t in ticks], [f"1e{t}" for t in ticks]


def parallel_figure(info: ParallelInfo) -> go.Figure:
    finite = np.array([v for v in info.objective_values if v is not None], dtype=float)
    shift = 0.0
    if info.log_objective and len(finite):
        drawn, shift = _objective_scale(finite)
    else:
        drawn = finite
    low, high = (float(drawn.min()), float(drawn.max())) if len(drawn) else (0.0, 1.0)
    span = (high - low) or 1.0
    bad_row = high + 0.12 * span  # the infeasible row, above the worst finite objective (for min)
    if info.mode == "max":
        bad_row = low - 0.12 * span
    it = iter(drawn.tolist())
    objective_axis = [next(it) if v is not None else bad_row for v in info.objective_values]
    # Colour: best bright, worst dark, unusable grey (the colourscale's bottom tenth).
    colour = []
    for v, d in zip(info.objective_values, objective_axis):
        if v is None:
            colour.append(0.0)
        else:
            goodness = (high - d) / span if info.mode == "min" else (d - low) / span
            colour.append(0.12 + 0.88 * goodness)
    dimensions = []
    for axis in info.axes:
        dim = dict(label=axis.name + (" (log)" if axis.log else ""), values=axis.values)
        if axis.categories is not None:
            dim.update(tickvals=list(range(len(axis.categories))), ticktext=axis.categories)
        elif axis.log and axis.values:
            dim["tickvals"], dim["ticktext"] = _log_ticks(min(axis.values), max(axis.values))
        dimensions.append(dim)
    ticks = None
    if info.log_objective and len(finite):
        tv, _ = _log_ticks(low, high)
        ticks = (tv, [f"{10 ** t - shift:.3g}" for t in tv])
    else:
        tv = list(np.linspace(low, high, 5))
        ticks = (tv, [f"{t:.4g}" for t in tv])
    if any(v is None for v in info.objective_values):
        ticks = (ticks[0] + [bad_row], ticks[1] + ["infeasible"])
    lo_range = min(low, bad_row) - 0.02 * span
    hi_range = max(high, bad_row) + 0.02 * span
    dimensions.append(dict(label=info.objective + (" (log)" if info.log_objective else ""), values=objective_axis,
                           tickvals=ticks[0], ticktext=ticks[1], range=[lo_range, hi_range]))
    scale = [[0.0, GREY], [0.1, GREY], [0.12, "#440154"], [0.4, "#31688e"], [0.7, "#35b779"], [1.0, "#fde725"]]
    fig = go.Figure(go.Parcoords(line=dict(color=colour, colorscale=scale, cmin=0.0, cmax=1.0), dimensions=dimensions))
    fig.update_layout(
        title=dict(text=f"Parallel coordinates: {info.shown} trials", x=0.01),
        font=dict(family=FONT, size=12), height=480, margin=dict(l=60, r=60, t=80, b=40), paper_bgcolor="white",
    )
    return fig
