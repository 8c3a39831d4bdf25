"""Quasi-random search: seeded, extendable, balanced scrambled Halton points mapped onto the space."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import scipy
from scipy.stats import qmc

from scitune.search.quasi_random import QuasiRandomSearch
from scitune.space import ChoiceParam, Condition, RangeParam, SearchSpace


def mixed_space() -> SearchSpace:
    return SearchSpace.build(
        [
            RangeParam("weight_decay", 1e-6, 1e-2, "log"),
            RangeParam("learning_rate", 1e-4, 1e-1, "log"),
            ChoiceParam("optimizer", ("adam", "sgd")),
            RangeParam("layers", 1, 6, integer=True),
            RangeParam("dropout", 0.0, 0.5),
            ChoiceParam("width", (64, 128, 256)),
        ]
    )


def test_same_seed_gives_identical_points() -> None:
    a = QuasiRandomSearch(mixed_space(), seed=7)
    b = QuasiRandomSearch(mixed_space(), seed=7)
    assert a.points(0, 24) == b.points(0, 24)
    assert np.array_equal(a.unit_points(0, 24), b.unit_points(0, 24))
    assert a.points(0, 24) == a.points(0, 24)  # asking twice does not advance anything


def test_different_seeds_give_different_points() -> None:
    space = mixed_space()
    rows = {seed: QuasiRandomSearch(space, seed).unit_points(0, 16) for seed in (0, 1, 2)}
    for s, t in [(0, 1), (0, 2), (1, 2)]:
        assert not np.allclose(rows[s], rows[t])
    p0 = QuasiRandomSearch(space, 0).points(0, 16)
    p1 = QuasiRandomSearch(space, 1).points(0, 16)
    assert [p["learning_rate"] for p in p0] != [p["learning_rate"] for p in p1]


@pytest.mark.parametrize("seed", [0, 3])
def test_extension_gives_the_same_sequence(seed: int) -> None:
    search = QuasiRandomSearch(mixed_space(), seed)
    assert search.points(0, 16) + search.points(16, 16) == search.points(0, 32)
    whole = search.unit_points(0, 32)
    assert whole.shape == (32, 6)
    assert np.array_equal(np.vstack([search.unit_points(0, 16), search.unit_points(16, 16)]), whole)
    # any window is the matching rows of the whole sequence, also with an odd start
    assert np.array_equal(search.unit_points(5, 11), whole[5:16])
    assert search.points(31, 1) == search.points(0, 32)[31:]


def test_unit_points_are_in_the_unit_cube_and_distinct() -> None:
    rows = QuasiRandomSearch(mixed_space(), 0).unit_points(0, 64)
    assert rows.min() >= 0.0 and rows.max() < 1.0
    assert len({tuple(r) for r in rows}) == 64


def test_negative_window_is_refused() -> None:
    search = QuasiRandomSearch(mixed_space(), 0)
    with pytest.raises(ValueError):
        search.unit_points(-1, 4)
    with pytest.raises(ValueError):
        search.points(0, -1)


@pytest.mark.parametrize("seed", [0, 1, 2, 5, 11])
def test_two_value_choice_is_exactly_balanced_in_16_points(seed: int) -> None:
    space = mixed_space()
    assert space.names[0] == "optimizer"  # the first dimension (Halton base 2)
    counts = Counter(p["optimizer"] for p in QuasiRandomSearch(space, seed).points(0, 16))
    assert counts == {"adam": 8, "sgd": 8}
    # ... and in every prefix of even length
    points = QuasiRandomSearch(space, seed).points(0, 16)
    for n in range(2, 17, 2):
        assert Counter(p["optimizer"] for p in points[:n]) == {"adam": n // 2, "sgd": n // 2}


@pytest.mark.parametrize("seed", [0, 1, 4, 9])
def test_four_value_choice_in_the_first_dimension_is_balanced(seed: int) -> None:
    space = SearchSpace.build(
        [RangeParam("learning_rate", 1e-4, 1e-1, "log"), ChoiceParam("activation", ("relu", "gelu", "tanh", "silu"))]
    )
    assert space.names[0] == "activation"
    counts = Counter(p["activation"] for p in QuasiRandomSearch(space, seed).points(0, 16))
    assert counts == {"relu": 4, "gelu": 4, "tanh": 4, "silu": 4}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_log_values_cover_every_decade(seed: int) -> None:
    space = SearchSpace.build([RangeParam("learning_rate", 1e-4, 1e-1, "log")])
    values = [p["learning_rate"] for p in QuasiRandomSearch(space, seed).points(0, 32)]
    assert all(1e-4 <= v <= 1e-1 for v in values)
    decades = Counter(math.floor(math.log10(v)) for v in values)
    assert set(decades) == {-4, -3, -2}
    for decade, count in decades.items():
        assert abs(count - 32 / 3) <= 2, (decade, count)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_point_is_scrambled_not_the_corner(seed: int) -> None:
    space = SearchSpace.build(
        [
            RangeParam("learning_rate", 1e-4, 1e-1, "log"),
            RangeParam("dropout", 0.0, 0.5),
            RangeParam("momentum", 0.8, 0.99),
        ]
    )
    search = QuasiRandomSearch(space, seed)
    first_row = search.unit_points(0, 1)[0]
    assert not np.all(first_row == 0.0)  # unscrambled Halton starts at the origin
    first = search.points(0, 1)[0]
    assert [first[p.name] for p in space.params] != [p.low for p in space.params]
    assert any(first[p.name] > p.from_unit(0.05) for p in space.params)


def test_zero_dimensional_space_gives_empty_points() -> None:
    search = QuasiRandomSearch(SearchSpace.build([]), seed=3)
    assert search.points(0, 3) == [{}, {}, {}]
    assert search.points(10, 2) == [{}, {}]
    assert search.unit_points(0, 4).shape == (4, 0)
    assert search.points(0, 0) == []


def test_describe_names_everything_needed_to_regenerate() -> None:
    space = mixed_space()
    described = QuasiRandomSearch(space, seed=42).describe()
    assert described["seed"] == 42
    assert described["algorithm"] == "quasi_random"
    assert (
        described["dimensions"]
        == space.names
        == ["optimizer", "width", "learning_rate", "weight_decay", "layers", "dropout"]
    )
    assert described["scipy_version"] == scipy.__version__
    assert "Halton" in described["engine"] and "scramble=True" in described["engine"]


def test_conditions_and_context_reach_the_points() -> None:
    space = SearchSpace.build(
        [
            ChoiceParam("optimizer", ("adam", "sgd")),
            RangeParam("momentum", 0.5, 0.99, when=Condition.parse({"optimizer": "sgd"})),
            RangeParam("warmup", 0.0, 0.1, when=Condition.parse({"schedule": "cosine"})),
        ],
        context=["schedule"],
    )
    search = QuasiRandomSearch(space, 0)
    plain = search.points(0, 16, {"schedule": "constant"})
    cosine = search.points(0, 16, {"schedule": "cosine"})
    assert all("warmup" not in p for p in plain) and all("warmup" in p for p in cosine)
    for p in plain:
        assert ("momentum" in p) == (p["optimizer"] == "sgd")
    # a condition changes what is kept, not the sequence: shared keys hold the same values
    for a, b in zip(plain, cosine):
        assert {k: v for k, v in b.items() if k != "warmup"} == a


def test_values_stay_in_their_ranges() -> None:
    space = mixed_space()
    for point in QuasiRandomSearch(space, 0).points(0, 128):
        for param in space.params:
            assert param.contains(point[param.name]), (param.name, point[param.name])
        assert isinstance(point["layers"], int)


def test_discrepancy_is_lower_than_iid_uniform() -> None:
    space = SearchSpace.build([RangeParam(f"x{i}", 0.0, 1.0) for i in range(4)])
    iid = np.mean([qmc.discrepancy(np.random.default_rng(1000 + k).random((20, 4)), method="CD") for k in range(8)])
    for seed in range(4):
        halton = qmc.discrepancy(QuasiRandomSearch(space, seed).unit_points(0, 20), method="CD")
        assert halton < 0.5 * iid, (seed, halton, iid)


def test_the_halton_points_are_scipys_bit_for_bit() -> None:
    """scitune draws scipy's scrambled Halton sequence in numpy alone (a run need not import
    scipy.stats): the same numbers exactly, for any dimensions, seed, start and count."""
    from scitune.search.quasi_random import scrambled_halton

    for d in (1, 2, 3, 6, 11):
        for seed in (0, 1, 12345):
            for start, n in ((0, 0), (0, 1), (0, 17), (5, 3), (1000, 4)):
                engine = qmc.Halton(d=d, scramble=True, rng=np.random.default_rng(seed))
                if start:
                    engine.fast_forward(start)
                assert np.array_equal(scrambled_halton(d, seed, start, n), engine.random(n)), (d, seed, start, n)
