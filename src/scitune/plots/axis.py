"""Axis plots: the objective against each nuisance hyperparameter, one point per trial.

Playbook ("Identifying bad search space boundaries"): log x for log-scaled parameters, infeasible trials
drawn (not dropped) as distinct markers at a capped y, the best trials highlighted, and the range's
edges visible so a best trial crowding an edge is seen at a glance. The y axis is capped a little
above the bulk of the trials (the best plus four times its gap to the median), so that a few
terrible trials do not flatten the good region; trials beyond the cap are drawn at it as triangles,
their true value in the hover text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from scitune.analysis.ranking import oriented, ranked, study_order
from scitune.plots._style import (
    BAND_COLOR,
    BAND_COLOR_MPL,
    INFEASIBLE_COLOR,
    MAX_DRAWN,
    PNG_DPI,
    base_layout,
    drawn_trials,
    grid_shape,
    jitter,
    png_grid,
    png_legend,
    study_colors,
    subplot_grid,
)
from scitune.space import ChoiceParam, RangeParam, SearchSpace
from scitune.states import TrialState

Kind = Literal["completed", "beyond", "infeasible"]
CAP_FACTOR = 4.0
COLUMNS = 3
# Studies usually share their quasi-random points, so their trials would sit exactly on top of each
# other: each study gets its own marker and a small sideways offset (a share of the panel's width,
# on its own scale) so that every study shows. Hover texts keep the exact values.
STUDY_SYMBOLS = ("circle", "square", "diamond", "cross", "pentagon", "star-triangle-up")
STUDY_MARKERS_MPL = ("o", "s", "D", "P", "p", "*")
DODGE = 0.012


def dodged(panel: AxisPanel, study_index: int, studies: int, xs: list[float]) -> list[float]:
    """``xs`` offset sideways for the ``study_index``-th of ``studies`` studies (none for one study):
    by ``DODGE`` of the panel's width, multiplicatively on a log panel."""
    if studies <= 1:
        return xs
    shift = (study_index - (studies - 1) / 2) * DODGE
    if panel.scale == "category":
        return [x + shift * max(1, len(panel.categories)) for x in xs]
    if panel.low is None or panel.high is None:
        return xs
    if panel.scale == "log" and panel.low > 0:
        factor = (panel.high / panel.low) ** shift
        return [x * factor for x in xs]
    return [x + shift * (panel.high - panel.low) for x in xs]


@dataclass(frozen=True)
class AxisPoint:
    study: str
    trial: int
    x: float  # the parameter's value (a category's index, jittered, on categorical panels)
    y: float  # where it is drawn
    kind: Kind
    top: bool  # among its study's top_k trials
    hover: str


@dataclass(frozen=True)
class AxisPanel:
    param: str
    scale: Literal["linear", "log", "category"]
    low: float | None = None
    high: float | None = None
    categories: list[str] = field(default_factory=list)
    points: list[AxisPoint] = field(default_factory=list)
    missing: int = 0  # finished trials without this (conditional) parameter


@dataclass(frozen=True)
class AxisPlotInfo:
    metric: str
    mode: str
    studies: list[str]
    panels: list[AxisPanel]
    y_range: tuple[float, float]  # low, high in plotted units
    cap: float  # where infeasible trials are drawn
    edge_fraction: float
    note: str = ""  # when not every trial is drawn: which are (see scitune.plots._style.drawn_trials)


def _y_scale(values: np.ndarray, mode: str) -> tuple[float, float, float]:
    """(best, cap, infeasible line) in objective units."""
    if not len(values):
        return 0.0, 1.0, 1.1
    turned = np.asarray(oriented(values, mode), dtype=float)
    best, median, worst = turned.min(), float(np.median(turned)), turned.max()
    cap = min(worst, best + CAP_FACTOR * (median - best)) if median > best else worst
    span = cap - best if cap > best else max(abs(best) * 0.1, 1e-9)
    line = cap + 0.08 * span
    return tuple(float(oriented(v, mode)) for v in (best, cap, line))  # type: ignore[return-value]


def axis_plot_info(
    trials: pd.DataFrame,
    space: SearchSpace,
    metric: str,
    mode: str,
    top_k: int = 3,
    edge_fraction: float = 0.1,
    studies: list[str] | None = None,
    max_drawn: int = MAX_DRAWN,
) -> AxisPlotInfo:
    """Everything an axis plot shows, computed from the trials frame (study, trial, state, reason,
    params, best_step, best_value) without drawing anything. Past ``max_drawn`` finished trials,
    each study's best ones and an even sample of the rest are drawn (``note`` says so); the y scale
    and each panel's ``missing`` count every trial."""
    studies = study_order(trials, studies)
    done = ranked(trials, mode)
    top_ids = set(done.groupby("study", sort=False).head(top_k).index)
    best, cap, line = _y_scale(done["best_value"].to_numpy(float), mode)
    finished = trials[trials["state"].isin((TrialState.COMPLETED, TrialState.INFEASIBLE))]
    every = [p if isinstance(p, dict) else {} for p in finished["params"].tolist()]
    drawn = drawn_trials(finished, done, studies, max_drawn, top_k)
    if drawn.index is not None:
        finished = finished.loc[drawn.index]
    worse = (lambda a, b: a > b) if mode == "min" else (lambda a, b: a < b)

    # One pass over the trials; each panel then only formats its parameter.
    values = done["best_value"].to_dict()  # a dict lookup per trial, not a frame lookup
    rows = [
        (
            r.study,
            int(r.trial),
            r.params if isinstance(r.params, dict) else {},
            float(values[i]) if i in values else None,
            r.best_step,
            r.reason,
            i in top_ids,
        )
        for i, r in zip(finished.index, finished.itertuples())
    ]
    panels = []
    for param in space.params:
        points, missing = [], sum(param.name not in p for p in every)
        categories = [str(v) for v in param.values] if isinstance(param, ChoiceParam) else []
        for study, trial, params, y, best_step, reason, top in rows:
            if param.name not in params:
                continue
            value = params[param.name]
            shown = f"{value:.4g}" if not categories else str(value)
            x = categories.index(str(value)) + jitter(trial) if categories else float(value)
            head = f"{study} · trial #{trial}<br>{param.name} = {shown}"
            if y is None:
                why = str(reason or "infeasible").splitlines()[0][:120]
                points.append(AxisPoint(study, trial, x, line, "infeasible", False, f"{head}<br>infeasible: {why}"))
                continue
            kind: Kind = "beyond" if worse(y, cap) else "completed"
            points.append(
                AxisPoint(
                    study,
                    trial,
                    x,
                    cap if kind == "beyond" else y,
                    kind,
                    top,
                    f"{head}<br>{metric} = {y:.4g} at step {best_step}",
                )
            )
        if isinstance(param, RangeParam):
            panel = AxisPanel(
                param.name,
                "log" if param.scale == "log" else "linear",
                float(param.low),
                float(param.high),
                [],
                points,
                missing,
            )
        else:
            panel = AxisPanel(param.name, "category", None, None, categories, points, missing)
        panels.append(panel)
    span = abs(line - best) or 1.0
    low, high = sorted(
        (best - 0.06 * span * (1 if mode == "min" else -1), line + 0.06 * span * (1 if mode == "min" else -1))
    )
    return AxisPlotInfo(metric, mode, studies, panels, (low, high), line, edge_fraction, drawn.note())


def _x_edges(panel: AxisPanel, edge_fraction: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two edge bands, in data units."""
    assert panel.low is not None and panel.high is not None
    if panel.scale == "log":
        ratio = (panel.high / panel.low) ** edge_fraction
        return (panel.low, panel.low * ratio), (panel.high / ratio, panel.high)
    width = edge_fraction * (panel.high - panel.low)
    return (panel.low, panel.low + width), (panel.high - width, panel.high)


def _x_range(panel: AxisPanel) -> list[float]:
    """The x axis range in plotly's units (log10 on log axes), a little wider than the search range."""
    if panel.scale == "category":
        return [-0.6, len(panel.categories) - 0.4]
    assert panel.low is not None and panel.high is not None
    if panel.scale == "log":
        lo, hi = math.log10(panel.low), math.log10(panel.high)
    else:
        lo, hi = panel.low, panel.high
    pad = 0.06 * (hi - lo)
    return [lo - pad, hi + pad]


def _groups(info: AxisPlotInfo, panel: AxisPanel) -> Iterator[tuple[str, Kind, bool, list[AxisPoint]]]:
    """A panel's feasible points by study, kind and top-k, the top-k last so they are drawn on top."""
    groups: dict[tuple[bool, str, str], list[AxisPoint]] = {}
    for p in panel.points:  # one pass, each group in the points' order
        groups.setdefault((p.top, p.study, p.kind), []).append(p)
    for top in (False, True):
        for study in info.studies:
            for kind in ("completed", "beyond"):
                pts = groups.get((top, study, kind))
                if pts:
                    yield study, kind, top, pts  # type: ignore[misc]


def axis_figure(info: AxisPlotInfo) -> go.Figure:
    """The interactive (plotly) axis plot: one panel per nuisance hyperparameter."""
    fig, rows, cols = subplot_grid([p.param for p in info.panels], COLUMNS)
    colors = study_colors(info.studies)
    shown: set[str] = set()
    low, high = info.y_range
    for i, panel in enumerate(info.panels):
        r, c = i // cols + 1, i % cols + 1
        if panel.scale != "category":
            for a, b in _x_edges(panel, info.edge_fraction):
                fig.add_trace(
                    go.Scatter(
                        x=[a, b, b, a, a],
                        y=[low, low, high, high, low],
                        fill="toself",
                        mode="lines",
                        fillcolor=BAND_COLOR,
                        line=dict(width=0),
                        hoverinfo="skip",
                        showlegend=False,
                    ),
                    row=r,
                    col=c,
                )
            for bound in (panel.low, panel.high):
                fig.add_trace(
                    go.Scatter(
                        x=[bound, bound],
                        y=[low, high],
                        mode="lines",
                        hoverinfo="skip",
                        line=dict(color="#555", width=1, dash="dash"),
                        showlegend=False,
                    ),
                    row=r,
                    col=c,
                )
        for study, kind, top, pts in _groups(info, panel):
            k = info.studies.index(study)
            symbol = (
                STUDY_SYMBOLS[k % len(STUDY_SYMBOLS)] if kind == "completed"
                else "triangle-up" if info.mode == "min" else "triangle-down"
            )
            legend = kind == "completed" and study not in shown
            if legend:
                shown.add(study)
            fig.add_trace(
                go.Scatter(  # arrays, not lists: plotly validates a list element by element
                    x=np.asarray(dodged(panel, k, len(info.studies), [p.x for p in pts]), dtype=float),
                    y=np.asarray([p.y for p in pts], dtype=float),
                    mode="markers",
                    name=study,
                    legendgroup=study,
                    showlegend=legend,
                    hovertext=np.asarray([p.hover for p in pts], dtype=object),
                    hoverinfo="text",
                    marker=dict(
                        color=colors[study],
                        symbol=symbol,
                        size=12 if top else 7,
                        opacity=0.9 if top else 0.75,
                        line=dict(color="#111" if top else "white", width=1.6 if top else 0.5),
                    ),
                ),
                row=r,
                col=c,
            )
        bad = [p for p in panel.points if p.kind == "infeasible"]
        if bad:
            fig.add_trace(
                go.Scatter(
                    x=np.asarray([p.x for p in bad], dtype=float),
                    y=np.asarray([p.y for p in bad], dtype=float),
                    mode="markers",
                    name="infeasible",
                    legendgroup="infeasible",
                    showlegend="infeasible" not in shown,
                    hovertext=np.asarray([p.hover for p in bad], dtype=object),
                    hoverinfo="text",
                    marker=dict(symbol="x", size=9, color=INFEASIBLE_COLOR, line=dict(width=1, color=INFEASIBLE_COLOR)),
                ),
                row=r,
                col=c,
            )
            shown.add("infeasible")
        axis = dict(
            type="log" if panel.scale == "log" else "linear",
            range=_x_range(panel),
            showgrid=True,
            exponentformat="power",
        )
        if panel.scale == "category":
            axis.update(tickmode="array", tickvals=list(range(len(panel.categories))), ticktext=panel.categories)
        fig.update_xaxes(**axis, row=r, col=c)
        fig.update_yaxes(range=[low, high], row=r, col=c, title_text=info.metric if c == 1 else None)
    title = f"Axis plots: {info.metric} ({info.mode}) at each trial's best step vs each nuisance hyperparameter"
    if info.note:
        title += f"<br><sup>{info.note}</sup>"
    fig.update_layout(**base_layout(title, 330 * rows + 90))
    return fig


def axis_png(info: AxisPlotInfo, path: Path) -> Path:
    """The same plot as a static PNG (matplotlib)."""
    rows, cols = grid_shape(len(info.panels), COLUMNS)
    fig, axes = png_grid(rows, cols, (4.4, 3.2))
    colors = study_colors(info.studies)
    low, high = info.y_range
    for i, ax in enumerate(axes.flat):
        if i >= len(info.panels):
            ax.set_visible(False)
            continue
        panel = info.panels[i]
        if panel.scale != "category":
            for a, b in _x_edges(panel, info.edge_fraction):
                ax.axvspan(a, b, color=BAND_COLOR_MPL, lw=0)
            for bound in (panel.low, panel.high):
                ax.axvline(bound, color="#555", lw=0.8, ls="--")
            if panel.scale == "log":
                ax.set_xscale("log")
            lo, hi = _x_range(panel)
            ax.set_xlim(*((10**lo, 10**hi) if panel.scale == "log" else (lo, hi)))
        else:
            ax.set_xticks(range(len(panel.categories)), panel.categories)
            ax.set_xlim(*_x_range(panel))
        labelled: set[str] = set()
        for study, kind, top, pts in _groups(info, panel):
            k = info.studies.index(study)
            marker = (
                STUDY_MARKERS_MPL[k % len(STUDY_MARKERS_MPL)] if kind == "completed"
                else "^" if info.mode == "min" else "v"
            )
            label = study if kind == "completed" and i == 0 and study not in labelled else None
            if label:
                labelled.add(study)
            ax.scatter(
                dodged(panel, k, len(info.studies), [p.x for p in pts]),
                [p.y for p in pts],
                c=colors[study],
                marker=marker,
                alpha=0.9 if top else 0.75,
                s=70 if top else 22,
                edgecolors="#111" if top else "white",
                linewidths=0.8,
                label=label,
            )
        bad = [p for p in panel.points if p.kind == "infeasible"]
        if bad:
            ax.scatter(
                [p.x for p in bad],
                [p.y for p in bad],
                marker="x",
                c=INFEASIBLE_COLOR,
                s=30,
                label="infeasible" if i == 0 else None,
            )
        ax.set_ylim(low, high)
        ax.set_title(panel.param, fontsize=10)
        if i % cols == 0:
            ax.set_ylabel(info.metric)
        ax.grid(alpha=0.3)
    title = f"Axis plots: {info.metric} ({info.mode}) vs each nuisance hyperparameter"
    fig.suptitle(f"{title}\n{info.note}" if info.note else title, fontsize=11 if not info.note else 9)
    png_legend(fig, axes.flat[0])
    fig.savefig(path, dpi=PNG_DPI)
    return path
