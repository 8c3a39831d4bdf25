"""Parameter importance: per study, each nuisance hyperparameter's PED-ANOVA share with its
bootstrap 5–95% range (:mod:`scitune.analysis.importance`); a dotted line marks half an equal
share, under which a hyperparameter "barely matters"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from scitune.analysis.importance import StudyImportance
from scitune.plots._style import PALETTE, PNG_DPI, base_layout


@dataclass(frozen=True)
class ImportanceBar:
    study: str
    param: str
    importance: float
    low: float
    high: float


@dataclass(frozen=True)
class ImportancePlotInfo:
    params: list[str]  # in the order of the first study's ranking
    studies: list[str]
    bars: list[ImportanceBar]
    threshold: float  # the "barely matters" line, as a share


def importance_plot_info(found: list[StudyImportance], share: float) -> ImportancePlotInfo:
    """``share``: the finding's threshold as a fraction of an equal share."""
    params = [p.name for p in found[0].params] if found else []
    bars = [ImportanceBar(s.study, p.name, p.importance, p.low, p.high) for s in found for p in s.params]
    threshold = share / len(params) if params else 0.0
    return ImportancePlotInfo(params, [s.study for s in found], bars, threshold)


def importance_figure(info: ImportancePlotInfo) -> go.Figure:
    fig = go.Figure()
    for i, study in enumerate(info.studies):
        mine = {b.param: b for b in info.bars if b.study == study}
        xs = [p for p in info.params if p in mine]
        fig.add_trace(go.Bar(
            name=study, x=xs, y=[mine[p].importance for p in xs], marker_color=PALETTE[i % len(PALETTE)],
            error_y=dict(type="data", symmetric=False, array=[mine[p].high - mine[p].importance for p in xs],
                         arrayminus=[max(0.0, mine[p].importance - mine[p].low) for p in xs]),
            hovertemplate="%{x}: %{y:.3f}<extra>" + study.replace("<", "&lt;") + "</extra>",
        ))
    fig.add_hline(y=info.threshold, line_dash="dot", line_color="#666",
                  annotation_text="barely matters below", annotation_position="top right")
    fig.update_layout(**base_layout("Parameter importance (PED-ANOVA, bootstrap 5–95%)", 420), barmode="group",
                      yaxis_title="share of importance", yaxis_range=[0, 1])
    return fig


def importance_png(info: ImportancePlotInfo, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=PNG_DPI)
    width = 0.8 / max(1, len(info.studies))
    for i, study in enumerate(info.studies):
        mine = {b.param: b for b in info.bars if b.study == study}
        xs = [j + i * width for j, p in enumerate(info.params) if p in mine]
        bars = [mine[p] for p in info.params if p in mine]
        ax.bar(xs, [b.importance for b in bars], width, label=study, color=PALETTE[i % len(PALETTE)],
               yerr=[[max(0.0, b.importance - b.low) for b in bars], [b.high - b.importance for b in bars]])
    ax.axhline(info.threshold, linestyle=":", color="#666")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(info.params))], info.params)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of importance")
    ax.set_title("Parameter importance (PED-ANOVA, bootstrap 5–95%)", loc="left")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
