"""The goal's answer and the isolation plot's data, planted: a clear winner, a gap within the
noise, retrain error bars, maximised objectives and plain tuning."""

from __future__ import annotations

import pandas as pd
import pytest

from planted import planted_experiment, planted_frames, shaped_outcome
from scitune.analysis.goal import goal_answer, study_bests
from scitune.analysis.review import review
from scitune.analysis.variance import trial_variance, trial_variances
from scitune.config import StudySpec
from scitune.plots import isolation_plot_info


def _goal(experiment, trials, metrics, retrain=None):
    findings = review(experiment, trials, metrics, retrain=retrain).findings
    assert findings[0].check == "goal"
    return findings[0]


def test_a_clear_winner_is_named_with_the_gap() -> None:
    experiment, _ = planted_experiment(trials=16)
    offset = {"width=64": 0.05, "width=256": 0.0}
    trials, metrics = planted_frames(experiment, shaped_outcome(study_offset=offset.get))
    goal = _goal(experiment, trials, metrics)
    # Without reruns the lead is named, but not settled: compare's core never adopts a side with no reruns.
    assert goal.title.startswith("width=256 leads on val_error") and "not yet retrained" in goal.title
    assert goal.severity == "info" and goal.data["decisive"] is False
    assert goal.data["gap"] == pytest.approx(0.05, abs=1e-3)
    assert "gap 0.05 to width=64" in goal.evidence and "retrain each value's best trial" in goal.suggestion
    assert "verdict: not enough evidence" in goal.evidence and "winner's curse" in goal.evidence


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
        [StudySpec("width=64", {"width": 64}), StudySpec("width=256", {"width": 256})],
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
    variances = trial_variances(trials, retrain)
    wide = variances[parents["width=256"]]
    assert (wide.n, wide.mean, wide.std) == (4, pytest.approx(0.05), pytest.approx(0.000816, abs=1e-6))
    assert wide.ci_low < 0.05 < wide.ci_high and variances[parents["width=64"]].unstable == 1
    goal = _goal(experiment, trials, metrics, retrain)
    assert goal.data["decisive"] is True and goal.data["noise_source"] == "retrain"
    assert "Welch's t-test one-sided p<0.001" in goal.evidence and "retrains 0.05 ± 0.0008165, n=4" in goal.evidence
    assert "retrains 0.06 ± 0.0008165, n=4, 1 more diverged or failed" in goal.evidence

    # The isolation plot: error bars where retrains exist, none where they do not.
    with_bars = study_bests(
        trials,
        [StudySpec("width=64", {"width": 64}), StudySpec("width=256", {"width": 256})],
        "min",
        retrain={parents["width=256"]: wide},
    )
    info = isolation_plot_info(with_bars, "width", [64, 256], "val_error", "min")
    assert info.has_error_bars and info.values == ["64", "256"]
    (series,) = info.series
    bar = series.retrain[1]
    assert series.retrain[0] is None and bar.mean == pytest.approx(0.05) and bar.n == 4
    assert (bar.low, bar.high) == (wide.ci_low, wide.ci_high) and bar.confidence == 0.95  # the 95% interval
    assert "95% CI" in series.hover[1]
    plain = isolation_plot_info(bests, "width", [64, 256], "val_error", "min")
    assert not plain.has_error_bars and plain.series[0].retrain is None


def test_overlapping_retrains_are_not_settled() -> None:
    first = trial_variance([0.04, 0.06, 0.05, 0.04, 0.06])  # mean 0.050, sd 0.010
    second = trial_variance([0.042, 0.062, 0.052, 0.042, 0.062])  # mean 0.052, sd 0.010
    from scitune.analysis.goal import StudyBest

    bests = [
        StudyBest("a", {"w": 1}, 10, 0.045, 1, 1, 10, 0.001, first),
        StudyBest("b", {"w": 2}, 10, 0.046, 2, 2, 10, 0.001, second),
    ]
    answer = goal_answer(bests, "min")
    assert answer.decisive is False and answer.p_value > 0.2  # one-sided, as compare reports it


def test_maximised_objective_ranks_the_highest_first() -> None:
    experiment, _ = planted_experiment(trials=8, mode="max", metric="val_accuracy")
    base = shaped_outcome(study_offset={"width=64": 0.05, "width=256": 0.0}.get)

    def outcome(study, number, params):
        result = base(study, number, params)
        return result._replace(curves={"val_accuracy": 1 - result.curves["val_error"], **result.curves})

    trials, metrics = planted_frames(experiment, outcome)
    goal = _goal(experiment, trials, metrics)
    assert goal.title.startswith("width=256 leads on val_accuracy: ")  # the highest first, not yet retrained


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
    from scitune.analysis.findings.search_checks import goal_finding
    from scitune.analysis.goal import StudyBest

    bests = [StudyBest("a", {"w": 1}, 8, 0.004, 0, 1, 40, 0.02), StudyBest("b", {"w": 2}, 8, 0.004, 0, 2, 40, 0.02)]
    finding = goal_finding(goal_answer(bests, "min"), "val_error", "min", 2)
    assert finding.title == "Not settled: a and b tie on val_error (0.004)" and finding.severity == "warning"


def test_single_reruns_measure_no_spread(tmp_path) -> None:
    from scitune.analysis.findings.search_checks import goal_finding
    from scitune.analysis.goal import StudyBest
    from scitune.plots import isolation_figure, isolation_png

    def bests(a, b):
        return [
            StudyBest("a", {"w": 1}, 10, 0.045, 1, 1, 10, 0.02, a),
            StudyBest("b", {"w": 2}, 10, 0.046, 2, 2, 10, 0.02, b),
        ]

    # One rerun each: no retrain variance, so the gap is judged against the search's spread.
    single = bests(trial_variance([0.050]), trial_variance([0.060]))
    answer = goal_answer(single, "min")
    assert answer.noise_source == "top_k" and answer.decisive is False
    assert "retrains 0.05, n=1" in goal_finding(answer, "val_error", "min", 2).evidence
    info = isolation_plot_info(single, "w", [1, 2], "val_error", "min")
    bar = info.series[0].retrain[0]
    assert bar.mean == 0.05 and bar.low is None and bar.std is None  # a diamond without error bars
    assert isolation_figure(info).data and isolation_png(info, tmp_path / "i.png").exists()
    # One side with reruns does not lend its spread to the other: the report, like compare, never
    # settles on a side without reruns of its own (it said decisive here before).
    mixed = goal_answer(bests(trial_variance([0.050, 0.051, 0.049, 0.050]), trial_variance([0.060])), "min")
    assert mixed.p_value is None and mixed.decisive is False
    words = goal_finding(mixed, "val_error", "min", 2).evidence
    assert "verdict: not enough evidence - b has no reruns of its own" in words
    # Reruns that all diverged measure nothing, but the evidence says so.
    lost = goal_finding(goal_answer(bests(trial_variance([], unstable=3), None), "min"), "val_error", "min", 2)
    assert "retrains: none completed, 3 more diverged or failed" in lost.evidence
