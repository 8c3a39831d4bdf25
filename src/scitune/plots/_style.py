"""Colors, layout defaults and small helpers shared by the plotly and matplotlib figures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

matplotlib.use("Agg")  # PNGs only, never a window; must precede any pyplot import anywhere

# Okabe-Ito (colour-blind safe), the hard-to-see yellow last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
INFEASIBLE_COLOR = "#C0392B"
MUTED = "#9AA0A6"
BAND_COLOR = "rgba(120, 120, 120, 0.12)"
BAND_COLOR_MPL = (0.47, 0.47, 0.47, 0.12)
RANK_DASH = ["solid", "dash", "dot", "dashdot"]
RANK_DASH_MPL = ["-", "--", ":", "-."]
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
PNG_DPI = 100


def study_colors(studies: list[str]) -> dict[str, str]:
    """One color per study, the same in every plot of a report."""
    return {study: PALETTE[i % len(PALETTE)] for i, study in enumerate(studies)}


def rank_label(rank: int) -> str:
    return "best trial" if rank == 0 else f"{rank + 1}{ {1: 'nd', 2: 'rd'}.get(rank, 'th') } best"


def base_layout(title: str, height: int) -> dict[str, Any]:
    """Title at the top left, the legend in a row under it (clear of subplot titles), white theme."""
    return dict(
        title=dict(
            text=title, x=0.01, xanchor="left", yref="container", y=1 - 12 / height, yanchor="top", font=dict(size=16)
        ),
        height=height,
        template="plotly_white",
        font=dict(family=FONT, size=12),
        margin=dict(l=60, r=20, t=108, b=50),
        legend=dict(orientation="h", yref="container", y=1 - 46 / height, yanchor="top", x=0.01, xanchor="left"),
        hoverlabel=dict(font_size=12),
    )


def grid_shape(panels: int, columns: int = 3) -> tuple[int, int]:
    """Rows and columns of a grid of ``panels`` panels, at most ``columns`` wide (one panel at least)."""
    cols = min(columns, max(1, panels))
    return math.ceil(max(1, panels) / cols), cols


def subplot_grid(titles: list[str], columns: int = 3) -> tuple[go.Figure, int, int]:
    """A plotly figure with one titled panel per entry of ``titles``: (figure, rows, columns)."""
    rows, cols = grid_shape(len(titles), columns)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles or [""],
        horizontal_spacing=0.07,
        vertical_spacing=0.16 if rows > 1 else 0.1,
    )
    return fig, rows, cols


def png_grid(rows: int, cols: int, cell: tuple[float, float], legend: bool = True) -> tuple[Figure, Any]:
    """A matplotlib figure of ``rows x cols`` axes with fixed margins, in inches. (Constrained
    layout would fit them to the tick labels, at several times the drawing time.)"""
    width, height = cell[0] * cols + 0.9, cell[1] * rows + 0.75 + (0.45 if legend else 0)
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        top=1 - 0.55 / height,
        bottom=(0.5 + (0.45 if legend else 0)) / height,
        wspace=0.28,
        hspace=0.5,
    )
    return fig, fig.subplots(rows, cols, squeeze=False)


def png_legend(fig: Figure, ax: Any, columns: int = 6) -> None:
    """The legend of ``ax``'s labelled artists, in a row along the figure's bottom edge."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncols=min(columns, len(handles)), fontsize=8, frameon=False)


def jitter(key: int, width: float = 0.28) -> float:
    """A deterministic offset in [-width/2, width/2) for spreading points on a categorical axis."""
    return ((key * 0.6180339887) % 1.0 - 0.5) * width


# A scatter of every trial (the axis and best-step plots) draws at most this many trials over all
# studies: past a few thousand points per study a panel is a solid cloud, and 100,000 trials were
# 53 MB of figure for a browser to parse. What is drawn then: each study's best trials by the
# objective (a quarter of its share, its top-k always among them) and an even sample of the rest by
# trial number; scales, bands and findings are still computed from every trial.
MAX_DRAWN = 20_000
BEST_SHARE = 0.25


@dataclass(frozen=True)
class Drawn:
    """Which of a scatter's trials are drawn: ``index`` the frame labels (None: every trial)."""

    index: Any  # pandas Index or None
    drawn: int
    total: int
    best: int  # each study's best trials kept, at most

    def note(self) -> str:
        """The sentence a thinned plot carries (empty when every trial is drawn)."""
        if self.index is None:
            return ""
        return (f"{self.drawn:,} of {self.total:,} trials are drawn: each study's best {self.best:,} and an even "
                "sample of the rest; the scales and findings use every trial")


def drawn_trials(frame: Any, done: Any, studies: list[str], limit: int = MAX_DRAWN, top_k: int = 1) -> Drawn:
    """The rows of ``frame`` (columns study, trial) that a scatter draws: every one when there are at
    most ``limit``, else per study (``limit`` shared evenly) its best ones in ``done`` (ranked, best
    first; at least its ``top_k``) and an even sample of the others by trial number."""
    total = len(frame)
    if total <= limit:
        return Drawn(None, total, total, 0)
    share = max(1, limit // max(1, len(studies)))
    best_n = max(top_k, int(share * BEST_SHARE))
    keep = []
    frame_study = frame["study"].to_numpy(dtype=object)
    done_study = done["study"].to_numpy(dtype=object)
    for study in studies:
        mine = frame.index[frame_study == study]
        if len(mine) <= share:
            keep.append(mine)
            continue
        best = done.index[done_study == study][:best_n]
        best = best[best.isin(mine)]
        rest = frame.loc[mine.difference(best, sort=False)].sort_values("trial", kind="stable").index
        wanted = share - len(best)
        picked = rest[np.unique(np.linspace(0, len(rest) - 1, wanted).round().astype(int))] if wanted > 0 else rest[:0]
        keep += [best, picked]
    index = frame.index[frame.index.isin(keep[0].append(keep[1:]) if keep else frame.index[:0])]
    return Drawn(index, len(index), total, best_n)
