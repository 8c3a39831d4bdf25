"""The noise floor: retrain sd where reruns exist, else curve noise, never below the metric's quantum."""

from __future__ import annotations

import numpy as np
import pytest

from scitune.analysis.noise import metric_quantum, noise_floor


def test_a_counted_metric_has_a_quantum_and_a_continuous_one_none() -> None:
    assert metric_quantum([k / 360 for k in (7, 8, 9, 12, 7, 30)]) == pytest.approx(1 / 360)
    assert metric_quantum(0.3 + np.random.default_rng(0).normal(0, 0.01, 50)) is None
    assert metric_quantum([0.1, 0.2, 0.4]) is None  # too few distinct values to tell a grid


def test_the_floor_prefers_reruns_then_curves_and_never_drops_below_the_quantum() -> None:
    assert noise_floor(retrain_sd=0.004, curve_sds=[0.001]).source == "retrain"
    curve = noise_floor(curve_sds=[0.001, 0.003, 0.002])
    # Pooled as variances (the root mean square), not the median sd: the median of a few noisy sd
    # estimates sits below the true sd (sqrt of a right-skewed chi-square), which let few_points fire.
    assert curve.source == "curve" and curve.value == pytest.approx(np.sqrt((1 + 9 + 4) / 3) * 1e-3)
    # Five reruns all scoring 7/360: zero variance is not certainty.
    tied = noise_floor(retrain_sd=0.0, values=[k / 360 for k in (7, 7, 7, 8, 9, 10, 12)])
    assert tied.source == "quantum" and tied.value == pytest.approx(1 / 360)
    assert noise_floor().value == 0.0 and noise_floor().source == "none"


def test_the_pooled_curve_floor_is_not_biased_low_on_short_noisy_curves() -> None:
    """Planted: 3 best trials' curves of 10 late evaluations, noise sd 1e-4 (the report's top_k on a
    20-evaluation run). Over many studies the pooled floor averages the true sd; the median of the three
    sd estimates fell about 8% short."""
    from scitune.analysis.curve_shape import diagnose_curve

    rng = np.random.default_rng(3)
    steps = np.arange(50, 1001, 50)
    floors = []
    for _ in range(300):
        sds = [diagnose_curve(steps, 0.3 + 0.004 * steps / 1000 + rng.normal(0, 1e-4, 20), "min", 1000).sigma
               for _ in range(3)]
        floors.append(noise_floor(curve_sds=sds).value)
    assert np.mean(np.square(floors)) == pytest.approx(1e-8, rel=0.1)
