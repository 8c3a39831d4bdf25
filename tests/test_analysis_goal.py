"""The goal's answer and the isolation plot's data, planted: a clear winner, a gap within the
noise, retrain error bars, maximised objectives and plain tuning."""

from __future__ import annotations

import pandas as pd
import pytest

from scitune.analysis.goal import Interval, goal_answer, retrain_intervals, study_bests
from scitune.analysis.review import review
from scitune.plots import isolation_plot_info
from test_report_data import planted_experiment, planted_frames, shaped_outcome


def _goal(experiment, trials, metrics, retrain=None):
    findings = review(experiment, trials, metrics, retrain=retrain).findings
    assert findings[0].check == "goal"
    return findings[0]


def test_a_clear_winner_is_named_with_the_gap() -> None:
    experiment, _ = planted_experiment(trials=16)
    offset = {"width=64": 0.05, "width=256": 0.0}
    trials, metrics = planted_frames(experiment, shaped_outcome(study_offset=offset.get))
    goal = _goal(experiment, trials, metrics)
    assert goal.title.startswith("width=256 gives the lowest val_error")
    assert goal.severity == "info" and goal.data["decisive"] is True
    assert goal.data["gap"] == pytest.approx(0.05, abs=1e-3)
    assert "gap 0.05 to width=64" in goal.evidence and "retrain each value's best trial" in goal.suggestion


def test_a_gap_smaller_than_the_spread_of_near_best_trials_is_not_settled() -> None:
    experiment, _ = planted_experiment(trials=16)
    offset = {"width=64": 0.0005, "width=256": 0.0}
    trials, metrics = planted_frames(experiment, shaped_outcome(study_offset=offset.get))
    goal = _goal(experiment, trials, metrics)
    assert goal.title.startswith("Not settled: width=256 is ahead") and goal.severity == "warning"
    assert goal.data["gap"] < goal.data["noise"] and "smaller than the spread" in goal.suggestion


def test_retrains_decide_and_become_error_bars() -> None:
    experiment, _ = planted_experiment(trials=16)
    offset = {"width=64": 0.0005, "width=256": 0.0}
    trials, metrics = planted_frames(experiment, shaped_outcome(study_offset=offset.get))
    bests = study_bests(
        trials,
        [{"name": "width=64", "scientific": {"width": 64}}, {"name": "width=256", "scientific": {"width": 256}}],
        "min",
    )
    parents = {b.study: b.best_trial_id for b in bests}
    retrain = pd.DataFrame(
        [
            dict(study="r", trial=i, id=100 + i, state="completed", best_value=v, parent_trial_id=parents["width=256"])
            for i, v in enumerate([0.050, 0.051, 0.049, 0.050])
        ]
        + [
            dict(study="r2", trial=i, id=200 + i, state="completed", best_value=v, parent_trial_id=parents["width=64"])
            for i, v in enumerate([0.060, 0.061, 0.059, 0.060])
        ]
        + [dict(study="r2", trial=9, id=299, state="infeasible", best_value=None, parent_trial_id=parents["width=64"])]
    )
    intervals = retrain_intervals(trials, retrain)
    assert intervals[parents["width=256"]] == Interval(
        0.05, pytest.approx(0.05 - 0.000816, abs=1e-5), pytest.approx(0.05 + 0.000816, abs=1e-5), 4
    )
    goal = _goal(experiment, trials, metrics, retrain)
    assert goal.data["decisive"] is True and goal.data["noise_source"] == "retrain"
    assert "Welch's t-test p<0.001" in goal.evidence and "retrains 0.05 ± 0.0008165, n=4" in goal.evidence

    # The isolation plot: error bars where retrains exist, none where they do not.
    with_bars = study_bests(
        trials,
        [{"name": "width=64", "scientific": {"width": 64}}, {"name": "width=256", "scientific": {"width": 256}}],
        "min",
        retrain={parents["width=256"]: intervals[parents["width=256"]]},
    )
    info = isolation_plot_info(with_bars, "width", [64, 256], "val_error", "min")
    assert info.has_error_bars and info.values == ["64", "256"]
    (series,) = info.series
    assert series.retrain[0] is None and series.retrain[1][0] == pytest.approx(0.05) and series.retrain[1][3] == 4
    plain = isolation_plot_info(bests, "width", [64, 256], "val_error", "min")
    assert not plain.has_error_bars and plain.series[0].retrain is None


def test_overlapping_retrains_are_not_settled() -> None:
    first = Interval(0.050, 0.040, 0.060, 5)
    second = Interval(0.052, 0.042, 0.062, 5)
    from scitune.analysis.goal import StudyBest

    bests = [
        StudyBest("a", {"w": 1}, 10, 0.045, 1, 1, 10, 0.001, first),
        StudyBest("b", {"w": 2}, 10, 0.046, 2, 2, 10, 0.001, second),
    ]
    answer = goal_answer(bests, "min")
    assert answer.decisive is False and answer.p_value > 0.5


def test_maximised_objective_ranks_the_highest_first() -> None:
    experiment, _ = planted_experiment(trials=8, mode="max", metric="val_accuracy")
    base = shaped_outcome(study_offset={"width=64": 0.05, "width=256": 0.0}.get)

    def outcome(study, number, params):
        result = base(study, number, params)
        return result._replace(curves={"val_accuracy": 1 - result.curves["val_error"], **result.curves})

    trials, metrics = planted_frames(experiment, outcome)
    goal = _goal(experiment, trials, metrics)
    assert goal.title.startswith("width=256 gives the highest val_accuracy")


def test_plain_tuning_and_several_scientific_hyperparameters() -> None:
    experiment, _ = planted_experiment(trials=4, scientific="{}")
    trials, metrics = planted_frames(experiment, shaped_outcome())
    goal = _goal(experiment, trials, metrics)
    assert goal.title.startswith("Best val_error:") and "plain tuning" in goal.suggestion

    experiment, _ = planted_experiment(trials=4, scientific="{width: [64, 256], depth: [1, 2]}")
    trials, metrics = planted_frames(experiment, shaped_outcome())
    result = review(experiment, trials, metrics)
    info = isolation_plot_info(result.bests, "width", [64, 256], "val_error", "min")
    assert [s.label for s in info.series] == ["depth=1", "depth=2"] and all(len(s.best) == 2 for s in info.series)


def test_a_tie_is_called_a_tie() -> None:
    from scitune.analysis.findings import goal_finding
    from scitune.analysis.goal import StudyBest

    bests = [StudyBest("a", {"w": 1}, 8, 0.004, 0, 1, 40, 0.02), StudyBest("b", {"w": 2}, 8, 0.004, 0, 2, 40, 0.02)]
    finding = goal_finding(goal_answer(bests, "min"), "val_error", "min", 2)
    assert finding.title == "Not settled: a and b tie on val_error (0.004)" and finding.severity == "warning"
