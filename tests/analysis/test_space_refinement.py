"""Refining a search space around an exploration's best trials (pure): ranges shrink with room to
spare, never widen, and an edge is refused."""

from __future__ import annotations

import pandas as pd
import pytest

from scitune.analysis.space_refinement import refine_range, refine_space
from scitune.errors import RefineRefused
from scitune.space import ChoiceParam, RangeParam, SearchSpace

SPACE = SearchSpace.build([
    RangeParam("learning_rate", 1e-4, 1e-1, "log"),
    RangeParam("layers", 1, 8, integer=True),
    ChoiceParam("activation", ("relu", "tanh")),
])


def planted(best_lr: list[float], rest_lr: float = 1e-3, study: str = "default") -> pd.DataFrame:
    """Completed trials: the ones in ``best_lr`` are best (in that order), then ten worse ones."""
    rows = []
    for i, lr in enumerate(best_lr):
        rows.append((study, i, "completed", {"learning_rate": lr, "layers": 3 + i % 2, "activation": "relu"}, 0.1 + i / 100))
    for j in range(10):
        lr = rest_lr * (1.3**j)
        rows.append((study, len(best_lr) + j, "completed", {"learning_rate": lr, "layers": 1 + j % 8, "activation": "tanh"},
                     0.5 + j / 100))
    rows.append((study, 99, "infeasible", {"learning_rate": 0.09, "layers": 2, "activation": "relu"}, None))
    return pd.DataFrame(rows, columns=["study", "trial", "state", "params", "best_value"])


def test_ranges_shrink_around_the_best_trials_with_room_to_spare() -> None:
    trials = planted([3e-3, 1e-3, 6e-3])
    refined = refine_space(trials, SPACE, "min", top_k=3)
    lr = next(r for r in refined.ranges if r.param == "learning_rate")
    # Best trials span log10 -3 .. -2.22 (positions 0.333 .. 0.593 of 3 decades); the pad is half that
    # span (0.13), so the new range is positions 0.203 .. 0.723: about 10**-3.39 .. 10**-1.83.
    assert (lr.best_low, lr.best_high) == (1e-3, 6e-3)
    assert lr.low == pytest.approx(10**-3.39, rel=0.01) and lr.high == pytest.approx(10**-1.83, rel=0.01)
    assert lr.low <= 1e-3 / 1.5 and lr.high >= 6e-3 * 1.5  # comfortably around the best points
    assert lr.kept == pytest.approx(0.52, abs=0.01)
    assert refined.nuisance["learning_rate"] == {"low": lr.low, "high": lr.high, "scale": "log"}
    assert len(f"{lr.low:g}") <= len("0.000407")  # three significant digits, rounded outward
    layers = refined.nuisance["layers"]
    assert layers["type"] == "int" and layers["low"] <= 3 and layers["high"] >= 4 and layers["high"] - layers["low"] < 7
    assert refined.nuisance["activation"] == ["relu", "tanh"]  # lists of values are kept whole
    assert refined.best == {"default": 3}


def test_a_tight_cluster_keeps_a_minimum_margin_and_a_range_never_widens() -> None:
    param = RangeParam("x", 0.0, 1.0)
    low, high = refine_range(param, [0.5, 0.5, 0.5])
    assert (low, high) == (pytest.approx(0.4), pytest.approx(0.6))  # 10% of the old width on each side
    assert refine_range(param, [0.05, 0.2]) == (0.0, 0.3)  # clipped at the old bound; the pad is at least 0.1
    ints = RangeParam("n", 1, 4, integer=True)
    assert refine_range(ints, [2, 2, 2]) == (1.0, 3.0)


def test_best_trial_at_an_edge_is_refused_with_the_reason() -> None:
    trials = planted([0.095, 0.08, 0.07])  # the best learning rates crowd the top of the range
    with pytest.raises(RefineRefused) as info:
        refine_space(trials, SPACE, "min", top_k=3, edge_fraction=0.1)
    (reason,) = info.value.reasons
    assert reason.startswith("study 'default': the best trial (0) has learning_rate = 0.095, in the highest 10% of "
                             "its range [0.0001, 0.1] (3 of the top 3 there); widen it (e.g. high: ")
    assert info.value.hits[0].param == "learning_rate"


def test_a_lone_best_trial_at_an_edge_is_weak_evidence_and_the_range_keeps_that_edge() -> None:
    trials = planted([0.095, 3e-3, 1e-3])  # only the best is near the top; the rest get worse toward it
    refined = refine_space(trials, SPACE, "min", top_k=3)
    (weak,) = refined.weak_edges
    assert (weak.param, weak.edge, weak.near) == ("learning_rate", "high", 1)
    lr = next(r for r in refined.ranges if r.param == "learning_rate")
    assert lr.high == 0.1 and lr.low < 1e-3


def test_too_few_completed_trials_are_refused() -> None:
    trials = planted([3e-3]).head(2)
    with pytest.raises(RefineRefused, match="has 2 completed trial\\(s\\), fewer than the 3 best trials"):
        refine_space(trials, SPACE, "min", top_k=3)
