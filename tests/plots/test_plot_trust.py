"""Plots that misled (issue 13, item 12), planted: each fails on main and passes now."""

from __future__ import annotations

import numpy as np

from planted import Outcome, planted_experiment, planted_frames
from scitune.analysis.goal import StudyBest
from scitune.analysis.ranking import top_trials
from scitune.plots import axis_figure, curves_figure, isolation_plot_info
from scitune.plots.axis import axis_plot_info
from scitune.plots.training_curves import curves_plot_info

GRID = np.arange(50, 1001, 50)


def test_the_curves_y_range_keeps_an_early_best_point_and_panels_name_their_metric() -> None:
    experiment, _ = planted_experiment(trials=4)

    def outcome(study, number, params):  # best at 5% of training, far below the rest of the curve
        curve = np.full(len(GRID), 0.5)
        curve[0] = 0.1
        return Outcome("completed", {"val_error": curve + 0.001 * number})

    trials, metrics = planted_frames(experiment, outcome)
    info = curves_plot_info(top_trials(trials, "min", 3), metrics, "val_error", "min", 1000)
    for low, high in info.y_ranges.values():
        assert low < 0.1 < high
    fig = curves_figure(info)
    assert fig.layout.yaxis.title.text == "val_error"


def test_studies_that_share_points_are_told_apart_on_axis_plots() -> None:
    experiment, _ = planted_experiment(trials=6)
    trials, _ = planted_frames(experiment, lambda s, n, p: Outcome("completed", {"val_error": np.full(len(GRID), 0.3)}))
    info = axis_plot_info(trials, experiment.space, "val_error", "min")
    fig = axis_figure(info)
    by_study: dict[str, set] = {}
    for trace in fig.data:
        if trace.name in info.studies and trace.x is not None:
            by_study.setdefault(trace.name, set()).update(np.round(np.asarray(trace.x, float), 12))
            assert trace.marker.symbol is not None
    first, second = (by_study[s] for s in info.studies)
    assert first and not first & second  # the same Halton points, drawn apart
    symbols = {t.name: t.marker.symbol for t in fig.data if t.name in info.studies}
    assert len(set(symbols.values())) == 2


def test_the_isolation_axis_survives_a_tie_and_does_not_zoom_inside_the_noise() -> None:
    tie = [StudyBest("width=64", {"width": 64}, 8, 0.3, 1, 1, 100, spread=None),
           StudyBest("width=256", {"width": 256}, 8, 0.3, 2, 2, 100, spread=None)]
    info = isolation_plot_info(tie, "width", [64, 256], "val_error", "min")
    assert info.y_range is not None and info.y_range[1] - info.y_range[0] > 0.005
    close = [StudyBest("width=64", {"width": 64}, 8, 0.300, 1, 1, 100, spread=0.01),
             StudyBest("width=256", {"width": 256}, 8, 0.302, 2, 2, 100, spread=0.01)]
    info = isolation_plot_info(close, "width", [64, 256], "val_error", "min")
    assert info.y_range[1] - info.y_range[0] >= 0.04  # four noise sds, not the 0.002 gap
