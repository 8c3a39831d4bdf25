"""How many trials were enough: each study's expected best objective against its number of trials
(playbook FAQ: "How many trials are needed to get good results with quasi-random search?"), from the bootstrap of :mod:`scitune.analysis.budget`.

One panel per study, sharing the y axis: the median best over the bootstrap draws of ``k`` trials
as a line, the middle 50% of the draws as a dark band and 5-95% as a light one. The x axis is
logarithmic in base 2, so each tick is a doubling of the budget: a line still falling at the
study's own size says more trials would likely still help, a flat one that they were enough.
Budgets beyond the study's size are not drawn (the bootstrap does not extrapolate)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from scitune.analysis.budget import BudgetCurve
from scitune.plots._style import PNG_DPI, base_layout, grid_shape, png_grid, png_legend, study_colors, subplot_grid

COLUMNS = 3


@dataclass(frozen=True)
class BudgetPanel:
    """One study's curve (its lists run in parallel with ``curve.budgets``; None: most draws had no
    result) and its verdict in a few words, for the panel's title."""

    curve: BudgetCurve
    verdict: str


@dataclass(frozen=True)
class BudgetPlotInfo:
    metric: str
    mode: str
    studies: list[str]  # every study, for the colors shared with the other plots
    panels: list[BudgetPanel]  # the studies with at least one finished trial
    y_range: tuple[float, float]
    x_ticks: list[int]  # powers of two up to the largest budget, and that budget


# The bands, widest first: (lower and upper quantile fields of BudgetCurve, opacity, label).
BANDS = (("q05", "q95", 0.15, "5–95% of draws"), ("q25", "q75", 0.35, "middle 50% of draws"))


def _verdict(curve: BudgetCurve) -> str:
    if curve.more_would_help is None:
        return "too few trials to tell"
    return "more trials would likely help" if curve.more_would_help else "likely enough"


def budget_plot_info(curves: list[BudgetCurve], metric: str, mode: str) -> BudgetPlotInfo:
    """The panels of the studies that have a curve (at least one finished trial), in order."""
    panels = [BudgetPanel(c, _verdict(c)) for c in curves if c.budgets and c.trials]
    values = [v for p in panels for v in (*p.curve.q05, *p.curve.q95, *p.curve.median) if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    largest = max((p.curve.budgets[-1] for p in panels), default=1)
    ticks = sorted({2**i for i in range(int(math.log2(largest)) + 1)} | {largest})
    return BudgetPlotInfo(metric, mode, [c.study for c in curves], panels, (low - pad, high + pad), ticks)


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _band(budgets: list[int], low: list[float | None], high: list[float | None]) -> tuple[list, list]:
    """A closed polygon around the band, over the budgets where both of its edges are known."""
    have = [(k, a, b) for k, a, b in zip(budgets, low, high) if a is not None and b is not None]
    xs = [k for k, _, _ in have] + [k for k, _, _ in reversed(have)]
    ys = [a for _, a, _ in have] + [b for _, _, b in reversed(have)]
    return xs, ys


def _title(info: BudgetPlotInfo) -> str:
    best = "lowest" if info.mode == "min" else "highest"
    return f"How many trials were enough: expected {best} {info.metric} against the number of trials"


def budget_figure(info: BudgetPlotInfo) -> go.Figure:
    """The interactive (plotly) plot: one panel per study."""
    fig, rows, cols = subplot_grid([f"{p.curve.study}: {p.verdict}" for p in info.panels], COLUMNS)
    colors = study_colors(info.studies)
    for i, panel in enumerate(info.panels):
        p, r, c = panel.curve, i // cols + 1, i % cols + 1
        color = colors[p.study]
        for low, high, alpha, label in BANDS:
            xs, ys = _band(p.budgets, getattr(p, low), getattr(p, high))
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    mode="lines",
                    fillcolor=_rgba(color, alpha),
                    line=dict(width=0),
                    hoverinfo="skip",
                    name=f"{p.study}: {label}",
                    legendgroup=p.study,
                    showlegend=False,
                ),
                row=r,
                col=c,
            )
        hover = [
            f"{p.study} · {k} trials: median best {info.metric} {m:.4g}<br>middle 50% of draws {a:.4g} – {b:.4g}"
            f"<br>5–95% {lo:.4g} – {hi:.4g}"
            if None not in (m, a, b, lo, hi)
            else f"{p.study} · {k} trials: most draws had no result"
            for k, m, a, b, lo, hi in zip(p.budgets, p.median, p.q25, p.q75, p.q05, p.q95)
        ]
        fig.add_trace(
            go.Scatter(
                x=p.budgets,
                y=p.median,
                mode="lines+markers",
                name=f"{p.study}: median best",
                legendgroup=p.study,
                line=dict(color=color, width=2),
                marker=dict(color=color, size=5),
                hovertext=hover,
                hoverinfo="text",
            ),
            row=r,
            col=c,
        )
        fig.update_xaxes(
            type="log",
            tickmode="array",
            tickvals=info.x_ticks,
            range=[math.log10(0.9), math.log10(p.budgets[-1] * 1.12)],
            title_text="number of trials" if r == rows else None,
            row=r,
            col=c,
        )
        fig.update_yaxes(
            range=list(info.y_range), title_text=f"expected best {info.metric}" if c == 1 else None, row=r, col=c
        )
    fig.update_layout(**base_layout(_title(info), 330 * rows + 110))
    return fig


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def budget_png(info: BudgetPlotInfo, path: Path) -> Path:
    """The same plot as a static PNG (matplotlib)."""
    rows, cols = grid_shape(len(info.panels), COLUMNS)
    fig, axes = png_grid(rows, cols, (4.4, 3.0))
    colors = study_colors(info.studies)
    for i, ax in enumerate(axes.flat):
        if i >= len(info.panels):
            ax.set_visible(False)
            continue
        p = info.panels[i].curve
        color = colors[p.study]
        for low, high, alpha, label in BANDS:
            ax.fill_between(
                p.budgets,
                _array(getattr(p, low)),
                _array(getattr(p, high)),
                color=color,
                alpha=alpha,
                lw=0,
                label=label if i == 0 else None,
            )
        ax.plot(p.budgets, _array(p.median), "-o", color=color, ms=3, label="median best" if i == 0 else None)
        ax.set_xscale("log", base=2)
        ax.set_xticks(info.x_ticks, [str(k) for k in info.x_ticks])
        ax.set_xlim(0.9, p.budgets[-1] * 1.12)
        ax.set_ylim(*info.y_range)
        ax.set_title(f"{p.study}: {info.panels[i].verdict}", fontsize=10)
        if i % cols == 0:
            ax.set_ylabel(f"expected best {info.metric}")
        if i // cols == rows - 1:
            ax.set_xlabel("number of trials")
        ax.grid(alpha=0.3)
    fig.suptitle(_title(info), fontsize=11)
    png_legend(fig, axes.flat[0])
    fig.savefig(path, dpi=PNG_DPI)
    return path
