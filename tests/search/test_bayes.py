"""Optuna's samplers over observations (pure): constraints, never made-up losses; conditional
parameters asked only when their condition holds."""

from __future__ import annotations

from scitune.analysis.infeasible import SamplerVerdict
from scitune.search.bayes import BayesSearch, Observation
from scitune.space import ChoiceParam, Condition, RangeParam, SearchSpace


def test_the_sampler_is_told_constraints_never_made_up_losses() -> None:
    space = SearchSpace.build([RangeParam("lr", 1e-4, 1.0, "log"), RangeParam("y", 0.0, 1.0)])
    observations = [
        Observation({"lr": 0.01, "y": 0.3}, SamplerVerdict.FEASIBLE, 0.2),
        Observation({"lr": 0.001, "y": 0.6}, SamplerVerdict.FEASIBLE, 0.5),
        Observation({"lr": 0.5, "y": 0.4}, SamplerVerdict.VIOLATED),
        Observation({"lr": 0.02, "y": 0.2}, SamplerVerdict.UNKNOWN),
    ]
    study = BayesSearch(space, "min", "tpe").study(observations, seed=0)
    done = {t.params["lr"]: t for t in study.trials if t.state.name == "COMPLETE"}
    assert done[0.01].constraints == {"feasible": -1.0} and done[0.01].value == 0.2
    # The diverged trial: the constraint is violated, and the value Optuna insists on is the worst
    # value actually observed - no NaN, no invented huge loss.
    assert done[0.5].constraints == {"feasible": 1.0} and done[0.5].value == 0.5
    assert [t.params for t in study.trials if t.state.name == "RUNNING"] == [{"lr": 0.02, "y": 0.2}]


def test_conditional_parameters_are_asked_only_when_their_condition_holds() -> None:
    space = SearchSpace.build([
        ChoiceParam("optimizer", ("adam", "sgd")),
        RangeParam("beta", 0.5, 0.99, when=Condition.parse({"optimizer": "adam"})),
        RangeParam("lr", 1e-3, 1.0, "log"),
    ])
    history = [Observation({"optimizer": "adam", "beta": 0.9, "lr": 0.01}, SamplerVerdict.FEASIBLE, 0.3),
               Observation({"optimizer": "sgd", "lr": 0.1}, SamplerVerdict.FEASIBLE, 0.4)]
    search = BayesSearch(space, "min", "tpe")
    for seed in range(8):
        point = search.propose(history, {}, seed)
        assert ("beta" in point) == (point["optimizer"] == "adam")
        assert 1e-3 <= point["lr"] <= 1.0
