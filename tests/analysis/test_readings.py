"""Reading a trial off its curve, planted: the optimism of a noisy curve's best evaluation, the
smoothed reading that removes it, and the quantum of a metric that moves in steps."""

from __future__ import annotations

import numpy as np
import pytest

from scitune.analysis.readings import (
    BEST,
    SMOOTHED,
    Reading,
    choose_reading,
    curve_noise,
    max_normal_moments,
    read_curve,
)

STEPS = np.arange(1, 51)


def test_the_expected_best_of_n_normals_matches_simulation() -> None:
    draws = np.random.default_rng(0).normal(size=(20000, 50)).max(axis=1)
    mean, sd = max_normal_moments(50)
    assert mean == pytest.approx(draws.mean(), abs=0.01) and sd == pytest.approx(draws.std(), abs=0.01)
    assert max_normal_moments(1) == pytest.approx((0.0, 1.0), abs=1e-3)


def test_a_noisy_curves_best_is_optimistic_by_the_estimated_amount_and_the_smoothed_reading_is_not() -> None:
    rng = np.random.default_rng(1)
    level, sd = 0.35, 0.23  # issue 13's curves: step-to-step sd 0.23 around a trend of about 0.35
    readings = [read_curve(STEPS, level + rng.normal(0, sd, 50), "min") for _ in range(300)]
    actual = level - np.mean([r.best for r in readings])  # how much the best flatters the trend
    estimated = np.mean([r.optimism for r in readings])
    assert actual == pytest.approx(sd * 2.25, rel=0.05)
    assert estimated == pytest.approx(actual, rel=0.2)
    assert np.mean([r.noise for r in readings]) == pytest.approx(sd, rel=0.1)
    smoothed = np.array([r.smoothed for r in readings])
    assert abs(level - smoothed.mean()) < 0.2 * actual  # most of the optimism is gone ...
    assert smoothed.std() < sd / 2  # ... and the reading is far steadier than one evaluation


def test_on_clean_curves_the_two_readings_agree_and_a_still_improving_curve_is_read_without_lag() -> None:
    clean = 0.2 + 0.5 * np.exp(-STEPS / 5)
    r = read_curve(STEPS, clean, "min")
    assert r.noise < 1e-4 and r.optimism < 1e-4  # a smooth trend is not noise
    assert r.smoothed == pytest.approx(r.best, abs=1e-3)
    improving = 1.0 - 0.01 * STEPS  # best at the last evaluation
    r = read_curve(STEPS, improving, "min")
    assert r.smoothed == pytest.approx(r.best, abs=1e-9)
    up = read_curve(STEPS, 1 - improving, "max")  # a maximised metric reads the same way
    assert up.best == pytest.approx(0.5) and up.smoothed == pytest.approx(0.5)


def test_the_smoothed_reading_is_used_only_when_the_noise_matters() -> None:
    rng = np.random.default_rng(2)
    noisy = [read_curve(STEPS, 0.35 + rng.normal(0, 0.23, 50), "min") for _ in range(3)]
    clean = [read_curve(STEPS, 0.2 + 0.5 * np.exp(-STEPS / 5) + rng.normal(0, 1e-4, 50), "min") for _ in range(3)]
    assert choose_reading([noisy, clean], resolution=0.01) == SMOOTHED
    assert choose_reading([clean, clean], resolution=0.01) == BEST
    assert choose_reading([noisy, [Reading(0.2)]], resolution=0.01) == BEST  # a value without a curve


def test_the_quantum_of_a_metric_that_moves_in_steps() -> None:
    from scitune.analysis.noise import metric_quantum  # compare's quantum: the one rule, from two values

    assert metric_quantum([7 / 360, 8 / 360, 5 / 360, 7 / 360], min_distinct=2) == pytest.approx(1 / 360)
    assert metric_quantum(np.random.default_rng(3).uniform(0, 1, 20), min_distinct=2) is None  # continuous
    assert metric_quantum([7 / 360] * 5, min_distinct=2) is None  # one value says nothing about the step
    assert metric_quantum([0.1, 0.2345], min_distinct=2) == pytest.approx(0.1345)  # two values: their gap, at most
    assert curve_noise([1.0, 2.0]) is None
