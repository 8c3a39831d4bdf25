"""Training curves of each study's best few trials: every metric against step, the best step marked.

One row per study, one column per metric (the objective first, then validation, then training
metrics), so a validation curve that turns up while training keeps falling reads across a row.
Each panel's y axis spans the curves after the first 10% of training (the window the curve checks
judge): the drop from initialization would otherwise flatten everything that follows. The
interactive plot's autoscale button shows the whole curve.
Very long curves are thinned to at most ``MAX_POINTS`` points each (keeping the best step), which
keeps the report small without changing what the eye sees."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scitune.analysis.curve_shape import TRANSIENT, ordered_metrics
from scitune.plots._style import (
    PALETTE,
    PNG_DPI,
    RANK_DASH,
    RANK_DASH_MPL,
    base_layout,
    png_grid,
    png_legend,
    rank_label,
)

MAX_POINTS = 400


@dataclass(frozen=True)
class CurveLine:
    study: str
    trial: int
    rank: int  # 0 for the study's best trial
    metric: str
    steps: list[int]
    values: list[float]
    best_step: int | None  # the trial's best step (of the objective), marked on every metric


@dataclass(frozen=True)
class CurvesPlotInfo:
    objective: str
    mode: str
    studies: list[str]
    metrics: list[str]
    lines: list[CurveLine]
    max_train_steps: int
    y_ranges: dict[tuple[str, str], tuple[float, float]]  # (study, metric) -> y axis range after the transient,
    # widened to every line's best point


def _thin(steps: np.ndarray, values: np.ndarray, keep: int | None) -> tuple[np.ndarray, np.ndarray]:
    if len(steps) <= MAX_POINTS:
        return steps, values
    index = np.unique(
        np.concatenate([np.linspace(0, len(steps) - 1, MAX_POINTS).round().astype(int), np.nonzero(steps == keep)[0]])
    )
    return steps[index], values[index]


def curves_plot_info(
    top: pd.DataFrame,
    metrics: pd.DataFrame,
    objective: str,
    mode: str,
    max_train_steps: int,
    studies: list[str] | None = None,
) -> CurvesPlotInfo:
    """``top``: each study's best trials, best first (columns study, trial, id, best_step);
    ``metrics``: their points (trial_id, name, step, value)."""
    studies = list(studies) if studies is not None else list(dict.fromkeys(top["study"]))
    names = ordered_metrics([str(n) for n in metrics["name"].unique()], objective) if len(metrics) else [objective]
    by_trial = {int(k): g for k, g in metrics.groupby("trial_id", sort=False)} if len(metrics) else {}
    lines = []
    for study, group in top.groupby("study", sort=False):
        for rank, (_, row) in enumerate(group.iterrows()):
            points = by_trial.get(int(row["id"]))
            if points is None:
                continue
            best_step = None if pd.isna(row["best_step"]) else int(row["best_step"])
            for name, curve in points.groupby("name", sort=False):
                curve = curve.sort_values("step")
                steps, values = _thin(curve["step"].to_numpy(int), curve["value"].to_numpy(float), best_step)
                lines.append(
                    CurveLine(
                        str(study),
                        int(row["trial"]),
                        rank,
                        str(name),
                        steps.tolist(),
                        [float(v) for v in values],
                        best_step,
                    )
                )
    return CurvesPlotInfo(objective, mode, studies, names, lines, max_train_steps, _y_ranges(lines, max_train_steps))


def _y_ranges(lines: list[CurveLine], max_train_steps: int) -> dict[tuple[str, str], tuple[float, float]]:
    seen: dict[tuple[str, str], list[float]] = {}
    for line in lines:
        after = [v for s, v in zip(line.steps, line.values) if s >= TRANSIENT * max_train_steps and math.isfinite(v)]
        mark = _marker(line)  # a best point inside the transient must still show
        seen.setdefault((line.study, line.metric), []).extend(after + ([mark[1]] if mark else []))
    ranges = {}
    for key, values in seen.items():
        if values:
            low, high = min(values), max(values)
            pad = 0.08 * (high - low) or 0.05 * abs(high) or 1.0
            ranges[key] = (low - pad, high + pad)
    return ranges


def _marker(line: CurveLine) -> tuple[int, float] | None:
    if line.best_step is None or line.best_step not in line.steps:
        return None
    value = line.values[line.steps.index(line.best_step)]
    return (line.best_step, value) if math.isfinite(value) else None


def curves_figure(info: CurvesPlotInfo) -> go.Figure:
    rows, cols = max(1, len(info.studies)), max(1, len(info.metrics))
    titles = [f"{s} · {m}" for s in info.studies for m in info.metrics] or [""]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.06, vertical_spacing=min(0.12, 0.5 / rows)
    )
    shown: set[int] = set()
    for line in info.lines:
        r, c = info.studies.index(line.study) + 1, info.metrics.index(line.metric) + 1
        color = PALETTE[line.rank % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=line.steps,
                y=[v if math.isfinite(v) else None for v in line.values],
                mode="lines",
                name=rank_label(line.rank),
                legendgroup=f"rank{line.rank}",
                showlegend=line.rank not in shown,
                line=dict(color=color, width=1.8, dash=RANK_DASH[line.rank % len(RANK_DASH)]),
                hovertemplate=(
                    f"{line.study} · trial #{line.trial}<br>step %{{x}}<br>{line.metric} = %{{y:.4g}}<extra></extra>"
                ),
            ),
            row=r,
            col=c,
        )
        shown.add(line.rank)
        mark = _marker(line)
        if mark:
            fig.add_trace(
                go.Scatter(
                    x=[mark[0]],
                    y=[mark[1]],
                    mode="markers",
                    showlegend=False,
                    legendgroup=f"rank{line.rank}",
                    marker=dict(symbol="star", size=12, color=color, line=dict(color="#111", width=1)),
                    hovertext=f"trial #{line.trial}: best step {mark[0]} ({info.objective})",
                    hoverinfo="text",
                ),
                row=r,
                col=c,
            )
    fig.update_xaxes(range=[0, info.max_train_steps * 1.02])
    for (study, metric), y_range in info.y_ranges.items():
        fig.update_yaxes(range=list(y_range), row=info.studies.index(study) + 1, col=info.metrics.index(metric) + 1)
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text="step", row=rows, col=c)
    for r in range(1, rows + 1):
        for c, metric in enumerate(info.metrics, start=1):
            fig.update_yaxes(title_text=metric, row=r, col=c)
    title = f"Training curves of each study's best trials (★ = best step of {info.objective})"
    fig.update_layout(**base_layout(title, 260 * rows + 110))
    return fig


def curves_png(info: CurvesPlotInfo, path: Path) -> Path:
    rows, cols = max(1, len(info.studies)), max(1, len(info.metrics))
    fig, axes = png_grid(rows, cols, (3.9, 2.4))
    for r, study in enumerate(info.studies):
        for c, metric in enumerate(info.metrics):
            axes[r][c].set_title(f"{study} · {metric}", fontsize=9)
            axes[r][c].set_xlim(0, info.max_train_steps * 1.02)
            axes[r][c].set_ylabel(metric, fontsize=8)
            axes[r][c].grid(alpha=0.3)
    for (study, metric), y_range in info.y_ranges.items():
        axes[info.studies.index(study)][info.metrics.index(metric)].set_ylim(*y_range)
    for line in info.lines:
        ax = axes[info.studies.index(line.study)][info.metrics.index(line.metric)]
        color = PALETTE[line.rank % len(PALETTE)]
        ax.plot(
            line.steps,
            line.values,
            RANK_DASH_MPL[line.rank % len(RANK_DASH_MPL)],
            color=color,
            lw=1.4,
            label=rank_label(line.rank),
        )
        mark = _marker(line)
        if mark:
            ax.plot([mark[0]], [mark[1]], "*", color=color, mec="#111", ms=11)
    png_legend(fig, axes[0][0])
    fig.suptitle(f"Training curves of each study's best trials (* = best step of {info.objective})", fontsize=11)
    fig.savefig(path, dpi=PNG_DPI)
    return path
