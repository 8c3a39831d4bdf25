"""Parallel coordinates' info: infeasible trials stay visible, top-k keeps the best, log axes."""

from __future__ import annotations

import math

from planted import planted_experiment, planted_frames, shaped_outcome
from scitune.plots.parallel import parallel_figure, parallel_info


def frames():  # type: ignore[no-untyped-def]
    exp, _ = planted_experiment(trials=12)
    trials, _ = planted_frames(exp, shaped_outcome("clean"))
    trials.loc[trials["trial"] == 3, ["state", "best_value"]] = ["infeasible", None]
    trials.loc[trials["trial"] == 5, "best_value"] = 1e6  # one diverged-looking completed trial
    return exp, trials


def test_infeasible_trials_are_drawn_and_top_k_keeps_the_best() -> None:
    exp, trials = frames()
    info = parallel_info(trials, exp.space, "val_error", "min")
    assert info.total == info.shown == 24 and info.objective_values.count(None) == 2
    lr = next(a for a in info.axes if a.name == "learning_rate")
    assert lr.log and all(-4 <= v <= -1 for v in lr.values)
    top = parallel_info(trials, exp.space, "val_error", "min", top_k=3, infeasible=False)
    assert top.shown == 3 and None not in top.objective_values
    assert top.objective_values == sorted(top.objective_values)[:3]


def test_the_log_objective_axis_keeps_a_diverged_trial_from_flattening_the_rest() -> None:
    exp, trials = frames()
    linear = parallel_figure(parallel_info(trials, exp.space, "val_error", "min")).data[0]
    logged = parallel_figure(parallel_info(trials, exp.space, "val_error", "min", log_objective=True)).data[0]
    lin, log = linear.dimensions[-1], logged.dimensions[-1]
    assert "infeasible" in log.ticktext and log.label == "val_error (log)"
    spread = lambda d: sorted(d["values"])[len(d["values"]) // 2] - min(d["values"])
    width = lambda d: d["range"][1] - d["range"][0]
    assert spread(log) / width(log) > 10 * spread(lin) / width(lin)
    assert all(math.isfinite(v) for v in log["values"])
