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
    assert curve.source == "curve" and curve.value == pytest.approx(0.002)
    # Five reruns all scoring 7/360: zero variance is not certainty.
    tied = noise_floor(retrain_sd=0.0, values=[k / 360 for k in (7, 7, 7, 8, 9, 10, 12)])
    assert tied.source == "quantum" and tied.value == pytest.approx(1 / 360)
    assert noise_floor().value == 0.0 and noise_floor().source == "none"
