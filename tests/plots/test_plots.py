"""What each plot shows, checked on its info without drawing; then both backends draw it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planted import Outcome, planted_experiment, planted_frames, shaped_outcome
from scitune.analysis.ranking import top_trials
from scitune.plots import (
    axis_figure,
    axis_plot_info,
    axis_png,
    best_step_figure,
    best_step_info,
    best_step_png,
    curves_figure,
    curves_plot_info,
    curves_png,
)
from scitune.plots.training_curves import MAX_POINTS


def _frames(**kw):
    experiment, _ = planted_experiment(
        trials=16,
        nuisance="{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, dropout: {low: 0.0, high: 0.5}, "
        "activation: [relu, gelu]}",
        **kw,
    )
    base = shaped_outcome("overfit")

    def outcome(study, number, params):
        if params["learning_rate"] > 0.05:
            return Outcome("infeasible", {"val_error": np.array([0.4, np.nan])}, "val_error was NaN at step 100")
        return base(study, number, params)

    return experiment, *planted_frames(experiment, outcome)


def test_axis_plot_keeps_infeasible_trials_and_shows_each_scale() -> None:
    experiment, trials, _ = _frames()
    info = axis_plot_info(trials, experiment.space, "val_error", "min", top_k=3, edge_fraction=0.1)
    panels = {p.param: p for p in info.panels}
    assert [p.param for p in info.panels] == ["activation", "learning_rate", "dropout"]  # the space's order
    assert panels["learning_rate"].scale == "log" and (panels["learning_rate"].low, panels["learning_rate"].high) == (
        1e-4,
        0.1,
    )
    assert panels["dropout"].scale == "linear" and panels["activation"].categories == ["relu", "gelu"]
    lr = panels["learning_rate"]
    infeasible = [p for p in lr.points if p.kind == "infeasible"]
    assert len(lr.points) == 32 and len(infeasible) == (trials["state"] == "infeasible").sum() > 0
    assert all(p.x > 0.05 and "NaN at step 100" in p.hover for p in infeasible)
    completed = [p.y for p in lr.points if p.kind != "infeasible"]
    assert all(p.y > max(completed) for p in infeasible)  # drawn at the cap, above every completed trial
    assert info.y_range[0] < min(completed) and info.y_range[1] > infeasible[0].y
    assert sum(p.top for p in lr.points) == 6  # three per study
    assert all(p.x == pytest.approx(round(p.x)) or abs(p.x - round(p.x)) < 0.15 for p in panels["activation"].points)


def test_axis_plot_caps_outliers_as_triangles() -> None:
    experiment, trials, _ = _frames()
    trials.loc[trials["state"] == "completed", "best_value"] = np.linspace(
        0.1, 0.2, int((trials["state"] == "completed").sum())
    )
    trials.loc[trials.index[trials["state"] == "completed"][-1], "best_value"] = 50.0  # one terrible trial
    info = axis_plot_info(trials, experiment.space, "val_error", "min")
    beyond = [p for p in info.panels[1].points if p.kind == "beyond"]
    assert len(beyond) == 1 and "val_error = 50" in beyond[0].hover and info.y_range[1] < 1.0


def test_curves_plot_marks_the_best_step_and_orders_metrics() -> None:
    experiment, trials, metrics = _frames()
    top = top_trials(trials, "min", 3)
    info = curves_plot_info(top, metrics, "val_error", "min", 1000)
    assert info.metrics == ["val_error", "val_loss", "train_loss"] and info.studies == ["width=64", "width=256"]
    assert len(info.lines) == 2 * 3 * 3
    best = [line for line in info.lines if line.rank == 0 and line.metric == "val_error"]
    assert [line.best_step for line in best] == [400, 400] and all(len(line.steps) == 20 for line in best)


def test_long_curves_are_thinned_keeping_the_best_step() -> None:
    experiment, _ = planted_experiment(trials=2, steps=20000, eval_every=7)
    trials, metrics = planted_frames(experiment, shaped_outcome("overfit", steps=20000, eval_every=7))
    info = curves_plot_info(top_trials(trials, "min", 1), metrics, "val_error", "min", 20000)
    line = next(line for line in info.lines if line.metric == "val_error")
    assert len(line.steps) <= MAX_POINTS + 1 and line.best_step in line.steps


def test_best_step_plot() -> None:
    experiment, trials, _ = _frames()
    info = best_step_info(trials, "val_error", "min", 1000, top_k=3, early_fraction=0.1, late_fraction=0.25)
    assert len(info.points) == (trials["state"] == "completed").sum() and sum(p.top for p in info.points) == 6
    assert {p.step for p in info.points} == {400}


@pytest.mark.slow
def test_both_backends_draw(tmp_path: Path) -> None:
    experiment, trials, metrics = _frames()
    top = top_trials(trials, "min", 3)
    infos = [
        (axis_plot_info(trials, experiment.space, "val_error", "min"), axis_figure, axis_png),
        (curves_plot_info(top, metrics, "val_error", "min", 1000), curves_figure, curves_png),
        (best_step_info(trials, "val_error", "min", 1000), best_step_figure, best_step_png),
    ]
    for i, (info, figure, png) in enumerate(infos):
        fig = figure(info)
        assert fig.data and fig.layout.title.text
        path = png(info, tmp_path / f"{i}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.mark.slow
def test_plots_of_an_experiment_without_results_still_draw(tmp_path: Path) -> None:
    experiment, _ = planted_experiment(trials=2)
    trials, metrics = planted_frames(experiment, lambda s, n, p: Outcome("failed", {}, "boom"))
    info = axis_plot_info(trials, experiment.space, "val_error", "min")
    assert all(not p.points for p in info.panels)
    axis_figure(info)
    axis_png(info, tmp_path / "a.png")
    curves_png(curves_plot_info(top_trials(trials, "min", 3), metrics, "val_error", "min", 1000), tmp_path / "c.png")


def test_a_scatter_of_many_trials_draws_the_best_and_an_even_sample_and_says_so() -> None:
    """Past max_drawn trials the axis and best-step plots draw each study's best trials (its top-k
    always) and an even sample of the rest, and say so; the y scale and the missing counts are still
    every trial's, and below the limit nothing changes."""
    experiment, _ = planted_experiment(trials=150)
    base = shaped_outcome("clean")

    def outcome(study, number, params):
        if number % 10 == 3:
            return Outcome("infeasible", {"val_error": np.array([0.4, np.nan])}, "NaN")
        return base(study, number, params)

    trials, _ = planted_frames(experiment, outcome)
    full = axis_plot_info(trials, experiment.space, "val_error", "min", top_k=3)
    thin = axis_plot_info(trials, experiment.space, "val_error", "min", top_k=3, max_drawn=60)
    assert full.note == "" and len(full.panels[0].points) == len(trials)
    assert thin.y_range == full.y_range and thin.cap == full.cap
    assert [p.missing for p in thin.panels] == [p.missing for p in full.panels]
    assert "60 of 300 trials are drawn: each study's best 7 and an even sample of the rest" in thin.note
    for full_panel, thin_panel in zip(full.panels, thin.panels):
        assert len(thin_panel.points) == 60
        kept = {(p.study, p.trial) for p in thin_panel.points}
        assert {(p.study, p.trial) for p in full_panel.points if p.top} <= kept  # every top-k trial drawn
        assert set(thin_panel.points) <= set(full_panel.points)  # drawn as they were, nothing moved
        assert any(p.kind == "infeasible" for p in thin_panel.points)
        for study in thin.studies:  # the sample covers the whole run of trial numbers
            numbers = sorted(p.trial for p in thin_panel.points if p.study == study)
            assert len(numbers) == 30 and numbers[0] < 15 and numbers[-1] > 135
    assert thin.note in axis_figure(thin).layout.title.text

    full_steps = best_step_info(trials, "val_error", "min", 1000, top_k=3)
    thin_steps = best_step_info(trials, "val_error", "min", 1000, top_k=3, max_drawn=60)
    assert full_steps.note == "" and len(thin_steps.points) == 60
    assert {p for p in full_steps.points if p.top} <= set(thin_steps.points)
    assert thin_steps.note in best_step_figure(thin_steps).layout.title.text
