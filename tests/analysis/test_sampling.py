"""Infeasible-heavy studies and sparsely sampled good regions, planted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planted import Outcome, planted_experiment, planted_frames, shaped_outcome
from scitune.analysis.review import review
from scitune.analysis.sampling import feasibility, near_best


def _diverge_above(threshold: float, study: str | None = None, state: str = "infeasible"):
    base = shaped_outcome()

    def outcome(s, number, params):
        if params["learning_rate"] > threshold and (study is None or s == study):
            reason = "val_error was NaN at step 100" if state == "infeasible" else "RuntimeError: CUDA out of memory"
            return Outcome(state, {"val_error": np.array([0.5, np.nan])}, reason)
        return base(s, number, params)

    return outcome


def test_infeasible_heavy_study_is_flagged_and_the_healthy_one_is_not() -> None:
    experiment, _ = planted_experiment(trials=16)
    trials, metrics = planted_frames(experiment, _diverge_above(0.005, study="width=64"))
    found = [f for f in review(experiment, trials, metrics).findings if f.check == "infeasible"]
    assert [f.study for f in found] == ["width=64"] and found[0].severity == "warning"
    f = found[0]
    assert f.data["fraction"] > 0.2 and f"{f.data['infeasible']} of 16 finished trials" in f.evidence
    assert "val_error was NaN at step 100" in f.evidence and "learning_rate" in f.suggestion
    # The axis of divergence is named, with where the feasible region ends.
    assert f.data["regions"][0]["param"] == "learning_rate" and f.data["regions"][0]["side"] == "high"


def test_mostly_crashes_point_to_a_bug() -> None:
    experiment, _ = planted_experiment(trials=16)
    trials, metrics = planted_frames(experiment, _diverge_above(0.003, state="failed"))
    found = [f for f in review(experiment, trials, metrics).findings if f.check == "infeasible"]
    assert len(found) == 2 and all("suspect a bug" in f.suggestion for f in found)


def test_threshold_is_configurable() -> None:
    experiment, _ = planted_experiment(trials=16, report="{infeasible_fraction: 0.9}")
    trials, metrics = planted_frames(experiment, _diverge_above(0.005, study="width=64"))
    findings = review(experiment, trials, metrics).findings
    assert not [f for f in findings if f.check == "infeasible" and f.severity == "warning"]
    assert feasibility(trials)[0].fraction > 0.2


def test_a_needle_optimum_has_too_few_points_near_the_best_and_a_broad_one_enough() -> None:
    experiment, _ = planted_experiment(trials=16)
    base = shaped_outcome()

    def needle(study, number, params):  # good only very close to the optimum
        result = base(study, number, params)
        bump = 0.3 * math.sqrt(abs(math.log10(params["learning_rate"]) + 2.5))
        return result._replace(curves={k: v + bump for k, v in result.curves.items()})

    trials, metrics = planted_frames(experiment, needle)
    found = [f for f in review(experiment, trials, metrics).findings if f.check == "few_points"]
    assert {f.study for f in found} == {"width=64", "width=256"}
    assert "of 16 completed trials have val_error within" in found[0].evidence
    assert "raise trials_per_study from 16 to 32" in found[0].suggestion

    trials, metrics = planted_frames(experiment, base)  # a quadratic bowl in log learning rate
    assert not [f for f in review(experiment, trials, metrics).findings if f.check == "few_points"]
    counts = [n.count for n in near_best(trials, "min")]
    assert all(c >= 3 for c in counts)


def test_a_study_without_completed_trials() -> None:
    experiment, _ = planted_experiment(trials=4)
    trials, metrics = planted_frames(experiment, _diverge_above(0.0, study="width=256"))
    findings = review(experiment, trials, metrics).findings
    assert any(f.check == "few_points" and f.study == "width=256" and "no completed trial" in f.title for f in findings)
    goal = findings[0]
    assert goal.check == "goal" and "no completed trial yet: width=256" in goal.evidence


def test_the_near_best_band_allows_the_noise_of_a_difference_of_two_readings() -> None:
    """Planted: the third-best trial lies 3.5 noise floors behind the best. Each reading carries one
    floor of noise, so their difference has sd sqrt(2) floors: at a margin of 3 that is within the
    noise (4.24 floors), and the band counts it. The share of the best-to-median gap still decides
    when it is the wider of the two."""
    import pandas as pd

    values = [0.300, 0.3002, 0.3035, *np.linspace(0.40, 0.60, 13)]
    trials = pd.DataFrame({"study": "s", "trial": range(16), "id": range(1, 17), "state": "completed",
                           "best_value": values, "best_step": 100, "kind": "search"})
    (n,) = near_best(trials, "min", band=0.01, floors={"s": 0.001}, noise_margin=3.0)
    assert n.noise_bound and n.count == 3 and math.isclose(n.limit, 0.300 + 3 * math.sqrt(2) * 0.001)
    (wide,) = near_best(trials, "min", band=0.35, floors={"s": 0.001}, noise_margin=3.0)
    assert not wide.noise_bound and wide.count == 3


@pytest.mark.slow
def test_few_points_rarely_fires_on_nulls_and_still_finds_the_needle() -> None:
    """The calibration harness's few_points scenarios, small and seeded (docs/report.md has the
    200-simulation rates): the smooth bowl with its optimum inside and the saturated null (best read
    at one early evaluation, seed noise as large as evaluation noise) at most once in 12 studies; the
    needle in at least 11 of 12."""
    import sys

    from helpers import REPO

    sys.path.insert(0, str(REPO))
    from benchmarks.calibration_findings import run_scenario, scenarios

    chosen = scenarios()
    for name in ("inside", "saturated"):
        assert run_scenario(chosen[name], 12, seed=2)["judged"]["false:few_points"]["count"] <= 1, name
    assert run_scenario(chosen["needle"], 12, seed=2)["judged"]["detect:few_points"]["count"] >= 11
