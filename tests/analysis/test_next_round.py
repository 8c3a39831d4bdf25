"""The next round's planner: domains, and its decisions' rates over many simulated rounds."""

from __future__ import annotations

import sys

import pytest

from helpers import REPO
from planted import planted_experiment
from scitune.analysis.next_round import domain_of
from scitune.space import RangeParam


def test_the_plan_widens_inside_the_domain_the_space_holds() -> None:
    """One rule for domains: the space's (declared, else inferred from the name), and above 0 on a log scale."""
    assert domain_of(RangeParam("dropout", 0.0, 0.5, domain=(0.0, 1.0))) == (0.0, 1.0)
    assert domain_of(RangeParam("weight_decay", 0.0, 0.1, domain=(0.0, None))) == (0.0, float("inf"))
    assert domain_of(RangeParam("shift", -1.0, 1.0)) == (float("-inf"), float("inf"))
    assert domain_of(RangeParam("lr", 1e-4, 1e-1, scale="log")) == (0.0, float("inf"))
    experiment, _ = planted_experiment()
    assert domain_of(experiment.space["dropout"]) == (0.0, 1.0)  # inferred from its name by the config


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
