"""The next round's planner: domains, and its decisions' rates over many simulated rounds."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from helpers import REPO
from planted import planted_experiment
from scitune.analysis.next_round import domain_of, unit_interval
from scitune.space import RangeParam


@pytest.mark.parametrize("name, unit", [("dropout", True), ("one_minus_beta2", True), ("momentum", True),
                                        ("label_smoothing", True), ("learning_rate", False),
                                        ("weight_decay", False), ("width", False)])
def test_probabilities_are_told_by_their_names(name: str, unit: bool) -> None:
    assert unit_interval(name) is unit


def test_domains_declared_or_obvious() -> None:
    experiment, _ = planted_experiment()
    assert domain_of(experiment, RangeParam("dropout", 0.0, 0.5)) == (0.0, 1.0)
    assert domain_of(experiment, RangeParam("weight_decay", 0.0, 0.1)) == (0.0, float("inf"))
    assert domain_of(experiment, RangeParam("shift", -1.0, 1.0)) == (float("-inf"), float("inf"))
    assert domain_of(experiment, RangeParam("momentum", 0.5, 2.0)) == (0.0, float("inf"))  # not a probability here
    declared = SimpleNamespace(low=0.0, high=0.5, domain=[0.0, 0.8])  # a config's `domain:`, when it has one
    param = SimpleNamespace(name="dropout", low=0.0, high=0.5)
    fake = SimpleNamespace(hyperparameters=SimpleNamespace(nuisance={"dropout": declared}))
    assert domain_of(fake, param) == (0.0, 0.8)  # type: ignore[arg-type]
    declared.domain = {"low": 0.1}
    assert domain_of(fake, param) == (0.1, float("inf"))  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_right_next_step_on_simulated_rounds() -> None:
    """Each scenario's planted truth (benchmarks/next_round.py), over 20 seeds of the quasi-random
    search and of the trials' noise; BENCHMARKS.md records 200."""
    sys.path.insert(0, str(REPO))
    from benchmarks.next_round import rates

    found = rates(20)
    assert found["edge_widens_learning_rate_high"] >= 0.9  # detection
    assert found["inside_widens_anything"] <= 0.1  # false alarm
    assert found["inside_changes_step_budget"] <= 0.1
    assert found["improving_doubles_step_budget"] >= 0.9
    assert found["tie_plans_retrains"] >= 0.8
    assert found["apart_plans_retrains"] <= 0.1
