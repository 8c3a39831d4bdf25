"""Search spaces: how unit coordinates become values on each parameter's scale, conditions, order."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from scitune.errors import SpaceError
from scitune.space import (
    ChoiceParam,
    Condition,
    RangeParam,
    SearchSpace,
    resolve_conditions,
)

JUST_BELOW_1 = 1.0 - 1e-16  # rounds to the largest double below 1
assert JUST_BELOW_1 < 1.0

# A dense grid of [0, 1) with its awkward ends: 0, the smallest positive numbers, values next to 1.
DENSE_U = np.concatenate(
    [
        np.linspace(0.0, 1.0, 20_001, endpoint=False),
        [0.0, 5e-324, 1e-300, 1e-16, 1e-12, 0.5, 1 - 1e-12, 1 - 1e-15, JUST_BELOW_1, np.nextafter(1.0, 0.0)],
    ]
)

# A u grid of exactly N equally spaced points (the midpoints of N equal cells of [0, 1)).
N_GRID = 10_000
GRID = (np.arange(N_GRID) + 0.5) / N_GRID


# -- float ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "low, high",
    # (1e-5, 0.1), (3, 10) and (7, 10): exp(log(low)) or exp(log(high)) lands a hair outside the range
    [(1e-4, 1e-1), (1e-5, 1e-1), (3.0, 10.0), (7.0, 10.0), (1e-2, 0.3), (0.1, 0.30000000000000004), (1e-300, 1e300)],
)
def test_log_mapping_stays_inside_the_range(low: float, high: float) -> None:
    param = RangeParam("p", low, high, "log")
    values = [param.from_unit(float(u)) for u in DENSE_U]
    assert all(isinstance(v, float) for v in values)
    assert min(values) >= low and max(values) <= high
    assert param.from_unit(0.0) == pytest.approx(low, rel=1e-12)
    assert param.from_unit(JUST_BELOW_1) == pytest.approx(high, rel=1e-12)


def test_log_mapping_is_uniform_in_log_space() -> None:
    param = RangeParam("learning_rate", 1e-4, 1e-1, "log")
    assert param.from_unit(1 / 3) == pytest.approx(1e-3, rel=1e-9)
    assert param.from_unit(2 / 3) == pytest.approx(1e-2, rel=1e-9)
    assert param.from_unit(0.5) == pytest.approx(math.sqrt(1e-4 * 1e-1), rel=1e-9)
    values = np.array([param.from_unit(float(u)) for u in GRID])
    decades = Counter(np.floor(np.log10(values)).astype(int))
    assert sorted(decades) == [-4, -3, -2]
    for count in decades.values():
        assert abs(count - N_GRID / 3) <= 2


def test_linear_mapping_endpoints_and_midpoint() -> None:
    param = RangeParam("dropout", 0.1, 0.6)
    assert param.scale == "linear" and param.kind == "float"
    assert param.from_unit(0.0) == 0.1
    assert param.from_unit(0.5) == pytest.approx(0.35)
    assert param.from_unit(JUST_BELOW_1) == pytest.approx(0.6)
    values = [param.from_unit(float(u)) for u in DENSE_U]
    assert min(values) >= 0.1 and max(values) <= 0.6


def test_linear_mapping_is_monotone_and_equally_spaced() -> None:
    param = RangeParam("x", -2.0, 6.0)
    values = np.array([param.from_unit(float(u)) for u in GRID])
    assert np.all(np.diff(values) > 0)
    np.testing.assert_allclose(np.diff(values), 8.0 / N_GRID, rtol=1e-6)


# -- int ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize("low, high", [(1, 8), (0, 9), (-3, 3), (16, 17)])
def test_int_linear_bins_have_equal_width(low: int, high: int) -> None:
    param = RangeParam("layers", low, high, integer=True)
    values = [param.from_unit(float(u)) for u in GRID]
    assert all(type(v) is int for v in values)
    counts = Counter(values)
    assert sorted(counts) == list(range(low, high + 1))  # every integer, both ends included
    share = N_GRID / (high - low + 1)
    for k, count in counts.items():
        assert abs(count - share) <= 1, (k, count, share)


def test_int_linear_ends() -> None:
    param = RangeParam("layers", 1, 8, integer=True)
    assert param.from_unit(0.0) == 1
    assert param.from_unit(JUST_BELOW_1) == 8
    assert param.from_unit(np.nextafter(1.0, 0.0)) == 8
    assert param.from_unit(0.125) == 2  # bin edges: [0, 1/8) -> 1, [1/8, 2/8) -> 2
    assert param.from_unit(0.12499) == 1


def test_int_bounds_become_ints_and_must_be_whole() -> None:
    param = RangeParam("layers", 1.0, 4.0, integer=True)
    assert type(param.low) is int and type(param.high) is int and param.kind == "int"
    with pytest.raises(ValueError, match="whole numbers"):
        RangeParam("layers", 1.5, 4, integer=True)


@pytest.mark.parametrize("low, high", [(1, 1000), (3, 17), (2, 3), (7, 4096)])
def test_int_log_mapping_inside_bounds_and_monotone(low: int, high: int) -> None:
    param = RangeParam("width", low, high, "log", integer=True)
    values = [param.from_unit(float(u)) for u in np.sort(DENSE_U)]
    assert all(type(v) is int for v in values)
    assert min(values) == low and max(values) == high
    assert all(a <= b for a, b in itertools.pairwise(values))


def test_int_log_mass_is_proportional_to_log_share() -> None:
    """Integer k of a log int range [low, high] gets ln((k+1)/k) / ln((high+1)/low) of the mass."""
    low, high = 1, 8
    param = RangeParam("width", low, high, "log", integer=True)
    counts = Counter(param.from_unit(float(u)) for u in GRID)
    total = math.log((high + 1) / low)
    for k in range(low, high + 1):
        expected = N_GRID * math.log((k + 1) / k) / total
        assert abs(counts[k] - expected) <= 2, (k, counts[k], expected)
    assert counts[1] > counts[2] > counts[8]  # small integers get more of a log range


def test_range_validation() -> None:
    with pytest.raises(ValueError, match="must be below high"):
        RangeParam("p", 1.0, 1.0)
    with pytest.raises(ValueError, match="must be below high"):
        RangeParam("p", 2.0, 1.0)
    with pytest.raises(ValueError, match="above 0"):
        RangeParam("p", 0.0, 1.0, "log")
    with pytest.raises(ValueError, match="above 0"):
        RangeParam("p", -1.0, 1.0, "log")
    with pytest.raises(ValueError, match="finite"):
        RangeParam("p", 0.0, math.inf)
    with pytest.raises(ValueError, match="scale"):
        RangeParam("p", 0.0, 1.0, "exp")


# -- position -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "param",
    [RangeParam("lr", 1e-5, 1.0, "log"), RangeParam("wd", 1e-6, 1e-2, "log"), RangeParam("x", -3.0, 5.0)],
    ids=["log-5-decades", "log-4-decades", "linear"],
)
def test_position_inverts_from_unit(param: RangeParam) -> None:
    for u in np.linspace(0.0, 1.0, 101):
        assert param.position(param.from_unit(float(u))) == pytest.approx(u, abs=1e-12)
    assert param.position(param.low) == pytest.approx(0.0, abs=1e-12)
    assert param.position(param.high) == pytest.approx(1.0, abs=1e-12)


def test_position_is_on_the_parameters_own_scale() -> None:
    log = RangeParam("lr", 1e-4, 1e-1, "log")
    assert log.position(1e-3) == pytest.approx(1 / 3)  # linear would say ~0.009
    lin = RangeParam("x", 0.0, 10.0)
    assert lin.position(2.5) == pytest.approx(0.25)


# -- choices ------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [("a", "b"), ("relu", "gelu", "tanh"), (16, 32, 64, 128, 256), (0.1, 0.5, 0.9)])
def test_choice_bins_are_balanced(values: tuple) -> None:
    param = ChoiceParam("c", values)
    counts = Counter(param.from_unit(float(u)) for u in GRID)
    assert set(counts) == set(values)
    for value in values:
        assert abs(counts[value] - N_GRID / len(values)) <= 1, (value, counts[value])
    assert param.from_unit(0.0) == values[0]
    assert param.from_unit(JUST_BELOW_1) == values[-1]


def test_choice_kind_and_validation() -> None:
    assert ChoiceParam("act", ("relu", "gelu")).kind == "categorical"
    assert ChoiceParam("width", (64, 128.0)).kind == "discrete"
    with pytest.raises(ValueError, match="empty"):
        ChoiceParam("act", ())
    with pytest.raises(ValueError, match="twice"):
        ChoiceParam("act", ("relu", "relu"))


# -- conditions ---------------------------------------------------------------------------------


def _unit_for(space: SearchSpace, wanted: dict[str, float]) -> list[float]:
    """A unit row with the given coordinate per named parameter (0.0 elsewhere)."""
    return [wanted.get(name, 0.0) for name in space.names]


def test_condition_holds_only_for_listed_values_and_present_parents() -> None:
    cond = Condition.parse({"optimizer": ["adam", "adamw"]})
    assert cond.holds({"optimizer": "adam"}) and cond.holds({"optimizer": "adamw"})
    assert not cond.holds({"optimizer": "sgd"})
    assert not cond.holds({})  # an absent parent never satisfies a condition
    assert not Condition.parse(None) and not Condition.parse({})
    assert Condition.parse({"optimizer": "adam"}).requires == {"optimizer": ("adam",)}


def test_conditional_parameter_absent_when_condition_fails() -> None:
    space = SearchSpace.build(
        [
            ChoiceParam("optimizer", ("adam", "sgd")),
            RangeParam("learning_rate", 1e-4, 1e-1, "log"),
            RangeParam("one_minus_beta1", 1e-2, 0.3, "log", when=Condition.parse({"optimizer": "adam"})),
        ]
    )
    with_adam = space.point(_unit_for(space, {"optimizer": 0.1, "learning_rate": 0.5}))
    with_sgd = space.point(_unit_for(space, {"optimizer": 0.9, "learning_rate": 0.5}))
    assert with_adam["optimizer"] == "adam" and "one_minus_beta1" in with_adam
    assert with_sgd["optimizer"] == "sgd" and "one_minus_beta1" not in with_sgd
    assert set(with_sgd) == {"optimizer", "learning_rate"}


def test_condition_on_context_value() -> None:
    """A nuisance parameter may depend on a scientific or fixed value passed as context."""
    space = SearchSpace.build(
        [RangeParam("momentum", 0.5, 0.99, when=Condition.parse({"optimizer": "sgd"}))], context=["optimizer"]
    )
    assert "momentum" in space.point([0.3], {"optimizer": "sgd"})
    assert space.point([0.3], {"optimizer": "adam"}) == {}
    assert space.point([0.3]) == {}  # no context: the parent is absent


def test_chained_conditions_drop_descendants() -> None:
    # C depends on B, B depends on A. C comes first in file order so that one pass over the
    # parameters is not enough: dropping B must also drop C.
    c = ChoiceParam("c", ("c1", "c2"), when=Condition.parse({"b": "b1"}))
    b = ChoiceParam("b", ("b1", "b2"), when=Condition.parse({"a": "a1"}))
    a = ChoiceParam("a", ("a1", "a2"))
    space = SearchSpace.build([c, b, a])
    assert space.names == ["c", "b", "a"]

    everything = space.point(_unit_for(space, {"a": 0.1, "b": 0.1, "c": 0.1}))
    assert everything == {"a": "a1", "b": "b1", "c": "c1"}
    b_fails = space.point(_unit_for(space, {"a": 0.1, "b": 0.9, "c": 0.1}))
    assert b_fails == {"a": "a1", "b": "b2"}
    a_fails = space.point(_unit_for(space, {"a": 0.9, "b": 0.1, "c": 0.1}))
    assert a_fails == {"a": "a2"}  # B absent because of A, so C absent because of B

    # resolve_conditions directly, with the child listed first
    assert resolve_conditions([c, b, a], {"a": "a2", "b": "b1", "c": "c1"}, {}) == {"a": "a2"}


@pytest.mark.parametrize(
    "edges",
    [
        {"a": "b", "b": "a"},
        {"a": "b", "b": "c", "c": "a"},
    ],
    ids=["two", "three"],
)
def test_condition_cycles_are_refused(edges: dict[str, str]) -> None:
    params = [ChoiceParam(name, ("x", "y"), when=Condition.parse({parent: "x"})) for name, parent in edges.items()]
    with pytest.raises(SpaceError, match="cycle") as info:
        SearchSpace.build(params)
    assert info.value.param in edges


def test_chain_without_cycle_is_accepted() -> None:
    params = [
        ChoiceParam("a", ("x", "y")),
        ChoiceParam("b", ("x", "y"), when=Condition.parse({"a": "x"})),
        ChoiceParam("c", ("x", "y"), when=Condition.parse({"a": "x", "b": "y"})),
    ]
    assert SearchSpace.build(params).names == ["a", "b", "c"]


def test_space_build_refusals() -> None:
    with pytest.raises(SpaceError, match="unknown parameter 'optimiser'") as info:
        SearchSpace.build([RangeParam("beta", 0.1, 0.9, when=Condition.parse({"optimiser": "adam"}))])
    assert info.value.param == "beta"
    with pytest.raises(SpaceError, match="itself"):
        SearchSpace.build([ChoiceParam("a", ("x", "y"), when=Condition.parse({"a": "x"}))])
    with pytest.raises(SpaceError, match="repeat"):
        SearchSpace.build([RangeParam("lr", 0.1, 0.9), RangeParam("lr", 0.2, 0.3)])


def test_point_needs_one_coordinate_per_dimension() -> None:
    space = SearchSpace.build([RangeParam("x", 0.0, 1.0), RangeParam("y", 0.0, 1.0)])
    with pytest.raises(SpaceError, match="expected 2"):
        space.point([0.5])


# -- dimension order ----------------------------------------------------------------------------


def test_dimension_order_choices_then_learning_rate_then_file_order() -> None:
    file_order = [
        RangeParam("weight_decay", 1e-6, 1e-2, "log"),
        ChoiceParam("activation", ("relu", "gelu")),
        RangeParam("layers", 1, 4, integer=True),
        RangeParam("learning_rate", 1e-4, 1e-1, "log"),
        RangeParam("dropout", 0.0, 0.5),
        ChoiceParam("width", (64, 128)),
    ]
    space = SearchSpace.build(file_order)
    assert space.names == ["activation", "width", "learning_rate", "weight_decay", "layers", "dropout"]
    assert space.dimensions == 6
    assert space["layers"] is file_order[2]
    with pytest.raises(KeyError):
        space["nope"]


def test_dimension_order_learning_rate_spellings() -> None:
    space = SearchSpace.build(
        [
            RangeParam("momentum", 0.5, 0.99),
            RangeParam("head_learning_rate", 1e-4, 1e-1, "log"),
            RangeParam("lr", 1e-4, 1e-1, "log"),
            ChoiceParam("optimizer", ("adam", "sgd")),
        ]
    )
    assert space.names == ["optimizer", "head_learning_rate", "lr", "momentum"]


def test_point_uses_the_dimension_order() -> None:
    space = SearchSpace.build([RangeParam("dropout", 0.0, 1.0), ChoiceParam("act", ("relu", "gelu"))])
    assert space.names == ["act", "dropout"]
    assert space.point([0.9, 0.25]) == {"act": "gelu", "dropout": 0.25}
