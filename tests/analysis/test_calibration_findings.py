"""The findings' calibration harness (benchmarks/calibration_findings.py), small and seeded: the
same simulations as the benchmark, fewer of them. The cheap, decisive cases assert their rates."""

from __future__ import annotations

import sys

import pytest

from helpers import REPO

sys.path.insert(0, str(REPO))
from benchmarks.calibration_findings import interval, run_scenario, scenarios

SIMS = 8


def test_a_null_experiment_raises_no_alarm() -> None:
    result = run_scenario(scenarios()["null"], SIMS, seed=1)
    for key, rate in result["judged"].items():
        assert rate["count"] <= 1, key  # at most one false alarm per finding in 8 null studies


@pytest.mark.slow
def test_planted_effects_are_detected() -> None:
    chosen = scenarios()
    for name in ("outside", "needle", "overfit", "improving"):
        result = run_scenario(chosen[name], SIMS, seed=1)
        detections = {k: r for k, r in result["judged"].items() if k.startswith("detect:")}
        assert detections and all(r["count"] >= SIMS - 1 for r in detections.values()), (name, detections)


def test_intervals_are_clopper_pearson() -> None:
    low, high = interval(0, 200)
    assert low == 0.0 and 0.018 < high < 0.019
