"""Search-space checks on planted data: the optimum outside the learning-rate range (the boundary
finding fires, in the right direction), inside it (it does not), and the edge of divergence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planted import Outcome, planted_experiment, planted_frames, shaped_outcome
from scitune.analysis.boundaries import edge_hits, infeasible_regions, widened_bound
from scitune.analysis.review import review
from scitune.space import RangeParam


def _boundary(findings, param="learning_rate"):
    return [f for f in findings if f.check == "boundary" and f.data["param"] == param]


@pytest.mark.parametrize(
    ("optimum", "edge", "words"),
    [
        (1.0, "high", "raise learning_rate's high bound from 0.1 to 3.162"),
        (1e-6, "low", "lower learning_rate's low bound from 0.0001 to 3.162e-06"),
    ],
)
def test_optimum_outside_the_range_fires_toward_it(optimum: float, edge: str, words: str) -> None:
    experiment, _ = planted_experiment(trials=16)
    trials, metrics = planted_frames(experiment, shaped_outcome(optimum=optimum))
    found = _boundary(review(experiment, trials, metrics).findings)
    assert len(found) == 1, found
    f = found[0]
    assert f.data["edge"] == edge and f.severity == "warning" and words in f.suggestion
    assert f.data["studies"] == ["width=64", "width=256"] and "2 of 2 studies" in f.title
    assert "Spearman rho +1.00" in f.evidence  # the objective improves all the way to the edge


@pytest.mark.parametrize("optimum", [10**-2.5, 10**-1.6, 10**-3.4])
def test_optimum_inside_the_range_does_not_fire(optimum: float) -> None:
    experiment, _ = planted_experiment(trials=16)
    trials, metrics = planted_frames(experiment, shaped_outcome(optimum=optimum))
    findings = review(experiment, trials, metrics).findings
    assert not _boundary(findings)
    # dropout does not matter to the planted objective: if its best trial sits near an edge by
    # chance, that is at most a note, never a warning.
    assert all(f.severity == "note" for f in _boundary(findings, "dropout"))


def test_near_is_measured_on_the_parameters_own_scale() -> None:
    experiment, _ = planted_experiment()
    frame = pd.DataFrame(
        [
            # 0.01 is 10% of the way up [1e-4, 0.1] linearly but 67% on the log scale: not an edge.
            dict(
                study="s",
                trial=0,
                id=1,
                state="completed",
                reason=None,
                params={"learning_rate": 0.01, "dropout": 0.25},
                best_step=1,
                best_value=0.1,
            ),
            # 0.00015 is 6% of the way up on the log scale: the low edge.
            dict(
                study="t",
                trial=0,
                id=2,
                state="completed",
                reason=None,
                params={"learning_rate": 0.00015, "dropout": 0.49},
                best_step=1,
                best_value=0.1,
            ),
        ]
    )
    hits = edge_hits(frame, experiment.space, "min", top_k=3, edge_fraction=0.1)
    assert {(h.study, h.param, h.edge) for h in hits} == {("t", "learning_rate", "low"), ("t", "dropout", "high")}
    assert [round(h.position, 3) for h in hits if h.param == "learning_rate"] == [0.059]


def test_widening_on_each_scale() -> None:
    assert widened_bound(RangeParam("lr", 1e-4, 1e-1, "log"), "high", 0.5) == pytest.approx(10**0.5)
    assert widened_bound(RangeParam("lr", 1e-4, 1e-1, "log"), "low", 1.0) == pytest.approx(1e-7)
    assert widened_bound(RangeParam("d", 0.0, 0.5), "high", 0.5) == pytest.approx(0.75)
    assert widened_bound(RangeParam("layers", 2, 8, integer=True), "low", 0.5) == -1
    assert widened_bound(RangeParam("width", 16, 256, "log", integer=True), "low", 0.5) == 4


def test_a_range_starting_at_zero_is_not_widened_below_it() -> None:
    experiment, _ = planted_experiment(trials=16)
    base = shaped_outcome()

    def outcome(study, number, params):  # dropout hurts: the best trials have the least of it
        result = base(study, number, params)
        return result._replace(curves={k: v + 0.5 * params["dropout"] for k, v in result.curves.items()})

    trials, metrics = planted_frames(experiment, outcome)
    found = _boundary(review(experiment, trials, metrics).findings, "dropout")
    assert found and found[0].data["edge"] == "low" and "already starts at 0" in found[0].suggestion


def test_best_trial_at_the_edge_of_divergence_suggests_warmup() -> None:
    experiment, _ = planted_experiment(trials=16)
    base = shaped_outcome(optimum=1.0)  # wants ever larger learning rates ...

    def outcome(study, number, params):  # ... but every trial above 0.02 diverges
        if params["learning_rate"] > 0.02:
            return Outcome("infeasible", {"val_error": np.array([0.5, np.nan])}, "val_error was NaN at step 100")
        return base(study, number, params)

    trials, metrics = planted_frames(experiment, outcome)
    regions = infeasible_regions(trials, experiment.space, "min")
    assert {(r.param, r.side, r.best_at_border) for r in regions} == {("learning_rate", "high", True)}
    found = [f for f in review(experiment, trials, metrics).findings if f.check == "infeasible"]
    assert found and all("warmup" in f.suggestion for f in found)
    assert "every trial with learning_rate >= " in found[0].evidence


def test_positions_are_exactly_the_ranges_own_positions() -> None:
    """The inlined position arithmetic gives RangeParam.position's numbers bit for bit, on log, linear
    and integer ranges, and leaves out trials without a number (missing, None, bool, text)."""
    from scitune.analysis.boundaries import _positions

    rng = np.random.default_rng(5)
    for param in (RangeParam("lr", 1e-5, 3e-1, "log"), RangeParam("dropout", 0.0, 0.7),
                  RangeParam("layers", 1, 9, integer=True), RangeParam("wd", 1e-6, 1e-2, "log")):
        values = [float(param.at(u)) for u in rng.random(200)] + [3, None, True, "x"]
        frame = pd.DataFrame({"params": [{param.name: v} for v in values] + [None, {}]})
        keep, pos = _positions(frame, param)
        numbers = [isinstance(v, (int, float)) and not isinstance(v, bool) for v in values]
        assert keep.tolist() == numbers + [False, False]
        wanted = [v for v, ok in zip(values, numbers) if ok]
        assert pos.tolist() == [param.position(float(v)) for v in wanted]
