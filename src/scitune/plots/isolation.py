"""Isolation plots: for each scientific hyperparameter, the best objective at each of its values
after tuning the nuisance hyperparameters away (playbook: "Detecting whether a change is useful with isolation plots").

One line per combination of the other scientific hyperparameters (a single line when there is only
one). Where a value's best trial was retrained with other seeds, the reruns' mean is drawn beside
the search's best (which is optimistic: it was picked for being the best), with error bars of the
mean's 95% confidence interval (Student's t, from :mod:`scitune.analysis.variance`); a single
completed rerun has no interval and is drawn without bars. The hover text adds the standard
deviation: the spread of one run, which the interval divides by the square root of the reruns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import plotly.graph_objects as go

from scitune.analysis.goal import StudyBest, measured
from scitune.plots._style import PALETTE, PNG_DPI, base_layout, png_grid


class RetrainBar(NamedTuple):
    """A retrained best trial's reruns: their mean and its confidence interval (None with one rerun)."""

    mean: float
    low: float | None
    high: float | None
    n: int
    std: float | None
    confidence: float


@dataclass(frozen=True)
class IsolationSeries:
    label: str  # the other scientific values, e.g. "depth=2"; "" when there are none
    x: list[str]  # the scientific values, as the axis shows them
    best: list[float | None]  # each value's best objective (None: no completed trial)
    hover: list[str]
    retrain: list[RetrainBar | None] | None  # per value, when any value's best trial was retrained


@dataclass(frozen=True)
class IsolationPlotInfo:
    param: str
    metric: str
    mode: str
    values: list[str]
    series: list[IsolationSeries]
    # The y axis: every best value and error bar, and never narrower than four noise sds (the
    # largest retrain sd or top-k spread) or, with neither, 2% of the level: a tie keeps an axis,
    # and a gap inside the noise does not fill the plot's height.
    y_range: tuple[float, float] | None = None

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
            + (_retrain_hover(b) if b else "")
            for v, b in zip(labels, row)
        ]
        retrain = [_bar(b) if b else None for b in row]
        series.append(IsolationSeries(key, labels, best, hover, retrain if any(retrain) else None))
    return IsolationPlotInfo(param, metric, mode, labels, series, _y_range(series, bests))


def _y_range(series: list[IsolationSeries], bests: list[StudyBest]) -> tuple[float, float] | None:
    values = [v for s in series for v in s.best if v is not None]
    for s in series:
        for r in s.retrain or []:
            if r is not None:
                values += [r.mean, *(x for x in (r.low, r.high) if x is not None)]
    if not values:
        return None
    low, high = min(values), max(values)
    noise = max([b.retrain.std for b in bests if b.retrain is not None and b.retrain.std]
                + [b.spread for b in bests if b.spread], default=0.0)
    span = max(high - low, 4 * noise, 0.02 * abs((low + high) / 2) if not noise else 0.0, 1e-12)
    middle, half = (low + high) / 2, span / 2 * 1.15
    return (middle - half, middle + half)


def _bar(b: StudyBest) -> RetrainBar | None:
    v = measured(b.retrain)
    if v is None:
        return None
    assert v.mean is not None
    return RetrainBar(v.mean, v.ci_low, v.ci_high, v.n, v.std, v.confidence)


def _retrain_hover(b: StudyBest) -> str:
    r = _bar(b)
    if r is None:
        return "<br>retrains: none completed" if b.retrain is not None else ""
    return f"<br>retrains: {_bar_text(r)}"


def _bar_text(r: RetrainBar) -> str:
    if r.std is None:
        return f"{r.mean:.4g} (n={r.n}, no spread from one rerun)"
    return f"mean {r.mean:.4g}, sd {r.std:.4g}, n={r.n}; {r.confidence:.0%} CI [{r.low:.4g}, {r.high:.4g}]"


def _bar_label(s: IsolationSeries) -> str:
    confidence = next((r.confidence for r in s.retrain or [] if r is not None), 0.95)
    return (s.label + " " if s.label else "") + f"retrain mean, {confidence:.0%} CI"


def _errors(bars: list[RetrainBar]) -> tuple[list[float], list[float]]:
    """Error-bar lengths below and above each mean (zero without an interval)."""
    below = [r.mean - r.low if r.low is not None else 0.0 for r in bars]
    above = [r.high - r.mean if r.high is not None else 0.0 for r in bars]
    return below, above


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
            below, above = _errors([r for _, r in have])
            fig.add_trace(
                go.Scatter(
                    x=[x for x, _ in have],
                    y=[r.mean for _, r in have],
                    mode="markers",
                    name=_bar_label(s),
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=above,
                        arrayminus=below,
                        thickness=1.5,
                        width=8,
                        color=color,
                    ),
                    hovertext=[f"retrains of the best trial: {_bar_text(r)}" for _, r in have],
                    hoverinfo="text",
                    marker=dict(size=10, color=color, symbol="diamond"),
                )
            )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=info.values, title_text=info.param)
    fig.update_yaxes(title_text=f"best {info.metric}", **({"range": list(info.y_range)} if info.y_range else {}))
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
                [r.mean for _, r in bars],
                yerr=list(_errors([r for _, r in bars])),
                fmt="D",
                color=color,
                capsize=4,
                label=_bar_label(s),
            )
    ax.set_xticks(range(len(info.values)), info.values)
    ax.set_xlim(-0.5, len(info.values) - 0.5)
    ax.set_xlabel(info.param)
    ax.set_ylabel(f"best {info.metric}")
    if info.y_range:
        ax.set_ylim(*info.y_range)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(_title(info), fontsize=10)
    fig.savefig(path, dpi=PNG_DPI)
    return path
