"""Where in [0, max_train_steps] each study's trials reached their best (playbook: "Deciding how long to train when training is *not* compute-bound").

The step that retrospective checkpoint selection picks, one row per study: every completed trial
small and grey, the study's best few large and colored. Shaded bands mark the playbook's two
warnings: always in the first 10% (far too many steps) and consistently in the last 25% (train
longer); both fractions follow the report's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from scitune.analysis.ranking import ranked, study_order
from scitune.plots._style import (
    BAND_COLOR,
    BAND_COLOR_MPL,
    MAX_DRAWN,
    MUTED,
    PNG_DPI,
    base_layout,
    drawn_trials,
    jitter,
    png_grid,
    study_colors,
)


@dataclass(frozen=True)
class BestStepPoint:
    study: str
    trial: int
    step: int
    value: float
    top: bool


@dataclass(frozen=True)
class BestStepInfo:
    metric: str
    max_train_steps: int
    early_fraction: float
    late_fraction: float
    studies: list[str]
    points: list[BestStepPoint]
    note: str = ""  # when not every trial is drawn: which are (see scitune.plots._style.drawn_trials)


def best_step_info(
    trials: pd.DataFrame,
    metric: str,
    mode: str,
    max_train_steps: int,
    top_k: int = 3,
    early_fraction: float = 0.1,
    late_fraction: float = 0.25,
    studies: list[str] | None = None,
    max_drawn: int = MAX_DRAWN,
) -> BestStepInfo:
    """Each completed trial's best step; past ``max_drawn`` of them, each study's best ones and an
    even sample of the rest (``note`` says so)."""
    done = ranked(trials, mode)
    done = done[done["best_step"].notna()]
    top = set(done.groupby("study", sort=False).head(top_k).index)
    order = study_order(trials, studies)
    drawn = drawn_trials(done, done, order, max_drawn, top_k)
    shown = done if drawn.index is None else done.loc[done.index.isin(drawn.index)]
    points = [
        BestStepPoint(str(study), int(trial), int(step), float(value), i in top)
        for i, study, trial, step, value in zip(shown.index, shown["study"].tolist(), shown["trial"].tolist(),
                                                shown["best_step"].tolist(), shown["best_value"].tolist())
    ]
    return BestStepInfo(metric, max_train_steps, early_fraction, late_fraction, order, points, drawn.note())


def _bands(info: BestStepInfo) -> list[tuple[float, float, str]]:
    m = info.max_train_steps
    return [
        (0, info.early_fraction * m, f"first {info.early_fraction:.0%}: too many steps?"),
        ((1 - info.late_fraction) * m, m, f"last {info.late_fraction:.0%}: train longer?"),
    ]


def best_step_figure(info: BestStepInfo) -> go.Figure:
    fig = go.Figure()
    n = len(info.studies)
    colors = study_colors(info.studies)
    for a, b, label in _bands(info):
        fig.add_trace(
            go.Scatter(
                x=[a, b, b, a, a],
                y=[-0.5, -0.5, n - 0.5, n - 0.5, -0.5],
                fill="toself",
                fillcolor=BAND_COLOR,
                line=dict(width=0),
                mode="lines",
                hoverinfo="text",
                hovertext=label,
                showlegend=False,
            )
        )
    rest = [p for p in info.points if not p.top]
    row = {study: i for i, study in enumerate(info.studies)}
    if rest:
        fig.add_trace(
            go.Scatter(  # arrays, not lists: plotly validates a list element by element
                x=np.asarray([p.step for p in rest], dtype=float),
                y=np.asarray([row[p.study] + jitter(p.trial, 0.5) for p in rest], dtype=float),
                mode="markers",
                name="other completed trials",
                marker=dict(color=MUTED, size=6, opacity=0.6),
                hovertext=np.asarray([
                    f"{p.study} · trial #{p.trial}: best {info.metric} {p.value:.4g} at step {p.step}" for p in rest
                ], dtype=object),
                hoverinfo="text",
            )
        )
    for study in info.studies:
        pts = [p for p in info.points if p.top and p.study == study]
        if pts:
            fig.add_trace(
                go.Scatter(
                    x=[p.step for p in pts],
                    y=[info.studies.index(study) + jitter(p.trial, 0.3) for p in pts],
                    mode="markers",
                    name=f"{study}: best trials",
                    marker=dict(color=colors[study], size=12, line=dict(color="#111", width=1.2)),
                    hovertext=[
                        f"{p.study} · trial #{p.trial}: best {info.metric} {p.value:.4g} at step {p.step}" for p in pts
                    ],
                    hoverinfo="text",
                )
            )
    fig.update_xaxes(
        range=[0, info.max_train_steps * 1.02], title_text="best step (retrospective checkpoint selection)"
    )
    fig.update_yaxes(tickmode="array", tickvals=list(range(n)), ticktext=info.studies, range=[-0.6, n - 0.4])
    title = f"Best steps within max_train_steps = {info.max_train_steps}"
    fig.update_layout(**base_layout(f"{title}<br><sup>{info.note}</sup>" if info.note else title, 170 + 60 * n))
    return fig


def best_step_png(info: BestStepInfo, path: Path) -> Path:
    n = len(info.studies)
    fig, axes = png_grid(1, 1, (6.2, 0.9 + 0.5 * n), legend=False)
    width = fig.get_figwidth()
    longest = max((len(s) for s in info.studies), default=8)
    # Room for the study names on the left and the legend on the right.
    fig.subplots_adjust(left=min(0.35, (0.25 + 0.075 * longest) / width), right=0.72)
    ax = axes[0][0]
    colors = study_colors(info.studies)
    for a, b, label in _bands(info):
        ax.axvspan(a, b, color=BAND_COLOR_MPL, lw=0)
        ax.text((a + b) / 2, n - 0.45, label, ha="center", va="bottom", fontsize=7, color="#555")
    rest = [p for p in info.points if not p.top]
    ax.scatter(
        [p.step for p in rest],
        [info.studies.index(p.study) + jitter(p.trial, 0.5) for p in rest],
        c=MUTED,
        s=14,
        alpha=0.6,
        label="other completed trials",
    )
    for study in info.studies:
        pts = [p for p in info.points if p.top and p.study == study]
        if pts:
            ax.scatter(
                [p.step for p in pts],
                [info.studies.index(study) + jitter(p.trial, 0.3) for p in pts],
                c=colors[study],
                s=60,
                edgecolors="#111",
                label=f"{study}: best trials",
            )
    ax.set_yticks(range(n), info.studies)
    ax.set_ylim(-0.6, n - 0.1)
    ax.set_xlim(0, info.max_train_steps * 1.02)
    ax.set_xlabel("best step (retrospective checkpoint selection)")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title = f"Best steps within max_train_steps = {info.max_train_steps}"
    ax.set_title(f"{title}\n{info.note}" if info.note else title, fontsize=10 if not info.note else 7)
    fig.savefig(path, dpi=PNG_DPI)
    return path
