"""Isolation plots: for each scientific hyperparameter, the best objective at each of its values
after tuning the nuisance hyperparameters away (SPEC.md section C).

One line per combination of the other scientific hyperparameters (a single line when there is only
one). Where a value's best trial was retrained with other seeds, its retrain mean is drawn with
error bars of one standard deviation beside the search's best (which is optimistic: it was picked
for being the best)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from scitune.analysis.goal import StudyBest
from scitune.plots._style import PALETTE, PNG_DPI, base_layout, png_grid


@dataclass(frozen=True)
class IsolationSeries:
    label: str  # the other scientific values, e.g. "depth=2"; "" when there are none
    x: list[str]  # the scientific values, as the axis shows them
    best: list[float | None]  # each value's best objective (None: no completed trial)
    hover: list[str]
    retrain: list[tuple[float, float, float, int] | None] | None  # (mean, low, high, n) per value, if any


@dataclass(frozen=True)
class IsolationPlotInfo:
    param: str
    metric: str
    mode: str
    values: list[str]
    series: list[IsolationSeries]

    @property
    def has_error_bars(self) -> bool:
        return any(s.retrain and any(r is not None for r in s.retrain) for s in self.series)


def isolation_plot_info(
    bests: list[StudyBest], param: str, values: list[Any], metric: str, mode: str
) -> IsolationPlotInfo:
    """Group the studies' bests by the other scientific values; one series per group."""
    labels = [str(v) for v in values]
    groups: dict[str, dict[str, StudyBest]] = {}
    for b in bests:
        if param not in b.scientific:
            continue
        key = ",".join(f"{k}={v}" for k, v in b.scientific.items() if k != param)
        groups.setdefault(key, {})[str(b.scientific[param])] = b
    series = []
    for key, by_value in groups.items():
        row = [by_value.get(v) for v in labels]
        best = [b.best_value if b else None for b in row]
        hover = [
            f"{param} = {v}"
            + (f" · {key}" if key else "")
            + (
                f"<br>best {metric} = {b.best_value:.4g}<br>trial #{b.best_trial} of {b.completed} completed, "
                f"step {b.best_step}"
                if b and b.best_value is not None
                else "<br>no completed trial"
            )
            + (
                f"<br>retrains: {b.retrain.center:.4g} ± {b.retrain.std:.4g} (n={b.retrain.n})"
                if b and b.retrain
                else ""
            )
            for v, b in zip(labels, row)
        ]
        retrain = [
            (b.retrain.center, b.retrain.low, b.retrain.high, b.retrain.n) if b and b.retrain else None for b in row
        ]
        series.append(IsolationSeries(key, labels, best, hover, retrain if any(retrain) else None))
    return IsolationPlotInfo(param, metric, mode, labels, series)


def _title(info: IsolationPlotInfo) -> str:
    best = "lowest" if info.mode == "min" else "highest"
    return f"Isolation plot: {best} {info.metric} at each {info.param}, nuisance hyperparameters tuned away"


def isolation_figure(info: IsolationPlotInfo) -> go.Figure:
    fig = go.Figure()
    for i, s in enumerate(info.series):
        color = PALETTE[i % len(PALETTE)]
        name = s.label or "best trial"
        fig.add_trace(
            go.Scatter(
                x=s.x,
                y=s.best,
                mode="lines+markers+text",
                name=name + (" (search best)" if s.retrain else ""),
                text=[f"{v:.4g}" if v is not None else "" for v in s.best],
                textposition="top center",
                hovertext=s.hover,
                hoverinfo="text",
                line=dict(color=color, width=2),
                marker=dict(size=11, color=color, symbol="circle-open" if s.retrain else "circle", line=dict(width=2)),
            )
        )
        if s.retrain:
            have = [(x, r) for x, r in zip(s.x, s.retrain) if r is not None]
            fig.add_trace(
                go.Scatter(
                    x=[x for x, _ in have],
                    y=[r[0] for _, r in have],
                    mode="markers",
                    name=(s.label + " " if s.label else "") + "retrain mean ± sd",
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=[r[2] - r[0] for _, r in have],
                        arrayminus=[r[0] - r[1] for _, r in have],
                        thickness=1.5,
                        width=8,
                        color=color,
                    ),
                    hovertext=[
                        f"retrains of the best trial: {r[0]:.4g} ± {(r[2] - r[1]) / 2:.4g} (n={r[3]})" for _, r in have
                    ],
                    hoverinfo="text",
                    marker=dict(size=10, color=color, symbol="diamond"),
                )
            )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=info.values, title_text=info.param)
    fig.update_yaxes(title_text=f"best {info.metric}")
    fig.update_layout(**base_layout(_title(info), 420))
    return fig


def isolation_png(info: IsolationPlotInfo, path: Path) -> Path:
    fig, axes = png_grid(1, 1, (6.4, 3.4), legend=False)
    ax = axes[0][0]
    positions = {v: i for i, v in enumerate(info.values)}
    for i, s in enumerate(info.series):
        color = PALETTE[i % len(PALETTE)]
        have = [(positions[x], y) for x, y in zip(s.x, s.best) if y is not None]
        ax.plot(
            [p for p, _ in have],
            [y for _, y in have],
            "-o",
            color=color,
            mfc="white" if s.retrain else color,
            label=(s.label or "best trial") + (" (search best)" if s.retrain else ""),
        )
        for p, y in have:
            ax.annotate(f"{y:.4g}", (p, y), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
        if s.retrain:
            bars = [(positions[x], r) for x, r in zip(s.x, s.retrain) if r is not None]
            ax.errorbar(
                [p for p, _ in bars],
                [r[0] for _, r in bars],
                yerr=[[r[0] - r[1] for _, r in bars], [r[2] - r[0] for _, r in bars]],
                fmt="D",
                color=color,
                capsize=4,
                label=(s.label + " " if s.label else "") + "retrain mean ± sd",
            )
    ax.set_xticks(range(len(info.values)), info.values)
    ax.set_xlim(-0.5, len(info.values) - 0.5)
    ax.set_xlabel(info.param)
    ax.set_ylabel(f"best {info.metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(_title(info), fontsize=10)
    fig.savefig(path, dpi=PNG_DPI)
    return path
