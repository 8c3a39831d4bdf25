"""Curve checks on planted curves: each shape is flagged by its own check and by no other; clean
curves by none."""

from __future__ import annotations

import numpy as np
import pytest

from planted import SHAPES, planted_experiment, planted_frames, shape, shaped_outcome
from scitune.analysis.curve_shape import diagnose_curve, metric_mode, ordered_metrics
from scitune.analysis.review import review

CURVE_CHECKS = {"overfitting", "noise", "still_improving", "saturated"}
EXPECTED = {
    "clean": set(),
    "overfit": {"overfitting"},
    "noisy": {"noise"},
    "improving": {"still_improving"},
    "saturated": {"saturated"},
}


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("evaluations", [20, 200])
def test_each_planted_shape_raises_exactly_its_own_finding(kind: str, evaluations: int) -> None:
    experiment, _ = planted_experiment(trials=8, steps=2000, eval_every=2000 // evaluations)
    trials, metrics = planted_frames(experiment, shaped_outcome(kind, steps=2000, eval_every=2000 // evaluations))
    findings = review(experiment, trials, metrics).findings
    assert {f.check for f in findings} & CURVE_CHECKS == EXPECTED[kind], [f.title for f in findings]


def test_findings_carry_the_numbers_and_a_suggestion() -> None:
    experiment, _ = planted_experiment(trials=8)
    for kind, check, words in [
        ("overfit", "overfitting", "regularization"),
        ("noisy", "noise", "more validation data"),
        ("improving", "still_improving", "raise max_train_steps (e.g. to 2000)"),
        ("saturated", "saturated", "fewer steps would do: about 150"),
    ]:
        trials, metrics = planted_frames(experiment, shaped_outcome(kind))
        found = [f for f in review(experiment, trials, metrics).findings if f.check == check]
        assert found, kind
        f = found[0]
        assert words in f.suggestion and any(ch.isdigit() for ch in f.evidence), (kind, f)
    # Overfitting names the trials and the step where each was best.
    trials, metrics = planted_frames(experiment, shaped_outcome("overfit"))
    over = [f for f in review(experiment, trials, metrics).findings if f.check == "overfitting"]
    assert {f.study for f in over} == {"width=64", "width=256"}
    assert "at steps 400, 400, 400 of 1000" in over[0].evidence and over[0].severity == "warning"


def test_diagnosis_numbers_of_a_known_curve() -> None:
    steps = np.arange(50, 1001, 50)
    # Falls linearly to step 500, then rises by half of what it gained after step 100.
    values = np.where(steps <= 500, 1.0 - steps / 1000, 0.5 + 0.4 * (steps - 500) / 500 * 0.5)
    d = diagnose_curve(steps, values, "min", 1000)
    assert d.best_step == 500 and d.best_value == pytest.approx(0.5)
    # From step 100 (0.9) to the best (0.5), blunted a little by the running median at both ends.
    assert d.improvement == pytest.approx(0.4, abs=0.08)
    assert d.rise == pytest.approx(0.5, abs=0.15) and d.sigma == pytest.approx(0, abs=1e-9)
    # The same curve as an accuracy (max): mirrored, same numbers.
    m = diagnose_curve(steps, 1 - values, "max", 1000)
    assert (m.best_step, m.rise) == (500, pytest.approx(d.rise))


def test_noise_is_relative_to_the_curve_not_absolute() -> None:
    steps = np.arange(10, 2001, 10)
    rng = np.random.default_rng(0)
    flat = 0.1 + rng.normal(0, 0.001, len(steps))  # +-1% of its level: fine
    assert diagnose_curve(steps, flat, "min", 2000).noise < 0.05
    loud = 0.1 + rng.normal(0, 0.02, len(steps))  # +-20% of its level: noisy
    assert diagnose_curve(steps, loud, "min", 2000).noise > 0.05


def test_training_metric_noise_is_a_note_not_a_warning() -> None:
    experiment, _ = planted_experiment(trials=8)
    trials, metrics = planted_frames(experiment, shaped_outcome("clean"))
    rng = np.random.default_rng(1)
    train = metrics["name"] == "train_loss"
    metrics.loc[train, "value"] += rng.normal(0, 0.2, int(train.sum()))
    noise = [f for f in review(experiment, trials, metrics).findings if f.check == "noise"]
    assert noise and all(f.severity == "note" and "train_loss" in f.title for f in noise)


def test_metric_names_and_directions() -> None:
    assert ordered_metrics(["train_loss", "lr", "val_loss", "val_error"], "val_error") == [
        "val_error",
        "val_loss",
        "train_loss",
        "lr",
    ]
    assert metric_mode("val_accuracy", "val_error", "min") == "max"
    assert metric_mode("val_error", "val_error", "max") == "max" and metric_mode("train_loss", "x", "max") == "min"


def test_empty_and_nan_curves() -> None:
    assert diagnose_curve([], [], "min", 100).points == 0
    d = diagnose_curve([10, 20, 30], [1.0, float("nan"), 0.5], "min", 30)
    assert d.points == 2 and d.best_step == 30


def test_shapes_are_what_they_claim() -> None:
    grid = np.arange(50, 1001, 50)
    assert np.argmin(shape("overfit", grid, 1000)) == 7  # step 400
    assert np.argmin(shape("improving", grid, 1000)) == len(grid) - 1
    assert np.argmin(shape("saturated", grid, 1000)) == 0
