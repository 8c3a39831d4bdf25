"""Retrain variance, the compare decision rule and the trial-budget bootstrap, on planted numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scitune.analysis.budget import budget_curve, budget_curves, budget_table, default_budgets
from scitune.analysis.compare import (
    ADOPT,
    NOT_ENOUGH,
    WORSE,
    compare_samples,
    describe_comparison,
    reruns_to_settle,
)
from scitune.analysis.summary import trial_table
from scitune.analysis.variance import describe, study_noise, trial_variances, variance_table

SIGMA = 0.01  # the planted seed noise


# -- retrain variance ---------------------------------------------------------------------------------


def test_describe_is_mean_sd_and_t_interval() -> None:
    values = [0.20, 0.22, 0.19, 0.23, 0.21]
    mean, std, low, high = describe(values, 0.95)
    assert mean == pytest.approx(0.21) and std == pytest.approx(np.std(values, ddof=1))
    expected = stats.t.interval(0.95, 4, loc=0.21, scale=std / math.sqrt(5))
    assert (low, high) == pytest.approx(expected)
    assert describe([0.3]) == (0.3, None, None, None)  # one value: no spread
    assert describe([0.3, 0.3, 0.3]) == (0.3, 0.0, 0.3, 0.3)  # a deterministic pipeline
    assert describe([]) == (None, None, None, None)


def _search() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3], "study": ["w=1", "w=1", "w=2"], "trial": [0, 1, 0],
        "state": ["completed"] * 3, "best_value": [0.10, 0.30, 0.20], "best_step": [5, 5, 5],
        "reason": [None] * 3, "params": [{"w": 1}, {"w": 1}, {"w": 2}], "started_at": [0.0] * 3,
        "finished_at": [1.0] * 3,
    })


def _reruns() -> pd.DataFrame:
    rows = [(1, "completed", 0.12), (1, "completed", 0.14), (1, "completed", 0.13), (1, "infeasible", None),
            (1, "pending", None), (3, "completed", 0.21), (3, "completed", 0.25)]
    return pd.DataFrame([{"parent_trial_id": p, "state": s, "best_value": v} for p, s, v in rows])


def test_trial_variances_leave_the_selected_trial_out_and_count_unstable_reruns() -> None:
    found = trial_variances(_search(), _reruns())
    first = found[1]
    assert first.values == (0.12, 0.14, 0.13)  # the lucky original (0.10) is not averaged in
    assert first.original == 0.10 and first.mean == pytest.approx(0.13) and first.std == pytest.approx(0.01)
    assert first.unstable == 1 and first.unfinished == 1 and (first.study, first.trial) == ("w=1", 0)
    assert first.ci_low < 0.13 < first.ci_high
    table = variance_table(found)
    assert list(table["id"]) == [1, 3] and list(table["reruns"]) == [3, 2]
    assert list(table.columns) == ["study", "trial", "id", "original", "reruns", "mean", "std", "ci_low", "ci_high",
                                   "unstable"]
    # pooled over a study's retrained trials: here one each
    assert study_noise(found) == pytest.approx({"w=1": 0.01, "w=2": np.std([0.21, 0.25], ddof=1)})
    assert trial_variances(_search(), None) == {}


def test_trial_table_shows_the_id_and_each_retrained_trials_variance() -> None:
    table = trial_table(_search(), trial_variances(_search(), _reruns()))
    assert list(table.columns[-6:]) == ["id", "reruns", "rerun_mean", "rerun_std", "rerun_ci_low", "rerun_ci_high"]
    assert list(table["reruns"]) == [3, 0, 2]
    assert table.loc[0, "rerun_mean"] == pytest.approx(0.13) and math.isnan(table.loc[1, "rerun_mean"])


# -- the decision rule --------------------------------------------------------------------------------


def test_interval_is_welchs_from_scipy_and_orientation_follows_the_mode() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, SIGMA, 5), rng.normal(1.01, 2 * SIGMA, 7)
    welch = stats.ttest_ind(b, a, equal_var=False)
    bigger = compare_samples(a, b, "max", alpha=0.05)
    assert (bigger.low, bigger.high) == pytest.approx(tuple(welch.confidence_interval(0.90)))
    assert bigger.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue)
    smaller = compare_samples(a, b, "min", alpha=0.05)  # the same numbers, lower is better: the gain flips
    assert smaller.gain == pytest.approx(-bigger.gain) and (smaller.low, smaller.high) == pytest.approx(
        (-bigger.high, -bigger.low))


@pytest.mark.parametrize("mode", ["min", "max"])
def test_planted_improvement_is_adopted_and_regression_is_worse(mode: str) -> None:
    rng = np.random.default_rng(0)
    better = -1 if mode == "min" else 1
    base = rng.normal(1.0, SIGMA, 5)
    improved = rng.normal(1.0 + better * 5 * SIGMA, SIGMA, 5)  # a real change of five noise widths
    regressed = rng.normal(1.0 - better * 5 * SIGMA, SIGMA, 5)
    assert compare_samples(base, improved, mode).verdict == ADOPT
    assert compare_samples(base, regressed, mode).verdict == WORSE
    lines = describe_comparison(compare_samples(base, improved, mode, labels=("old", "new")), "val_error")
    assert any(line.startswith("verdict: adopt - new beats old") for line in lines)


def _rates(draw, repetitions: int, seed: int, **options) -> dict[str, float]:
    """How often each verdict comes out over ``repetitions`` runs of the whole procedure."""
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys((ADOPT, NOT_ENOUGH, WORSE), 0)
    for _ in range(repetitions):
        a, b = draw(rng)
        counts[compare_samples(a, b, "min", alpha=0.05, **options).verdict] += 1
    return {k: v / repetitions for k, v in counts.items()}


@pytest.mark.slow
def test_null_change_is_not_adopted_more_often_than_the_documented_five_percent() -> None:
    # Both sides are the same configuration: only the seed noise differs. 2,500 repetitions put
    # the binomial standard error of a 5% rate at 0.44%; the band is about three of those wide.
    rates = _rates(lambda rng: (rng.normal(1.0, SIGMA, 5), rng.normal(1.0, SIGMA, 5)), 2500, seed=11)
    assert 0.035 <= rates[ADOPT] <= 0.065, rates
    assert 0.035 <= rates[WORSE] <= 0.065, rates
    assert rates[NOT_ENOUGH] >= 0.87
    # One side without reruns borrows the other's variance when asked: the level holds as well ...
    lone = lambda rng: (rng.normal(1.0, SIGMA, 5), rng.normal(1.0, SIGMA, 1))  # noqa: E731
    borrowed = _rates(lone, 1500, seed=12, borrow_variance=True)
    assert 0.035 <= borrowed[ADOPT] <= 0.065, borrowed
    # ... and without being asked, a side with no reruns of its own is never adopted.
    assert _rates(lone, 300, seed=12)[ADOPT] == 0


@pytest.mark.slow
def test_reruns_needed_give_about_the_promised_power() -> None:
    gain = 1.0 * SIGMA  # one noise width: undecidable at 5 reruns a side
    rng = np.random.default_rng(5)
    first = compare_samples(rng.normal(1.0, SIGMA, 5), rng.normal(1.0 - gain, SIGMA, 5), "min")
    n = reruns_to_settle(gain, SIGMA)
    assert n == 14  # 2 (t.95 + t.80)^2 at 26 df, rounded up
    assert first.verdict != ADOPT or first.reruns_needed is None  # (whichever way this draw fell)
    rates = _rates(lambda r: (r.normal(1.0, SIGMA, n), r.normal(1.0 - gain, SIGMA, n)), 1500, seed=6)
    assert 0.74 <= rates[ADOPT] <= 0.88, rates  # 80% power, nominally
    assert reruns_to_settle(0.0001, SIGMA) is None  # far too small a gain to chase
    assert reruns_to_settle(0.05, SIGMA) == 2


def test_not_enough_evidence_says_how_many_more_reruns() -> None:
    c = compare_samples([1.00, 1.02, 0.99], [0.995, 0.985, 1.005], "min", labels=("A", "B"))
    assert c.verdict == NOT_ENOUGH and c.reruns_needed is not None and c.reruns_needed > 3
    assert c.more_reruns() == {"A": c.reruns_needed - 3, "B": c.reruns_needed - 3}
    text = "\n".join(describe_comparison(c, "err"))
    assert f"about {c.reruns_needed} reruns per side" in text


def test_without_reruns_the_verdict_cannot_account_for_trial_variance() -> None:
    c = compare_samples([1.0], [0.5], "min")
    assert c.verdict == NOT_ENOUGH and not c.accounts_for_variance and c.low is None
    assert "cannot account for trial variance" in c.assumption
    one_side = compare_samples([1.0, 1.01, 0.99, 1.0], [0.9], "min")
    assert not one_side.accounts_for_variance and "has no reruns of its own" in one_side.assumption
    assert one_side.verdict == NOT_ENOUGH and one_side.low is None  # B has no variance of its own ...
    lent = compare_samples([1.0, 1.01, 0.99, 1.0], [0.9], "min", borrow_variance=True)
    assert lent.verdict == ADOPT and lent.borrowed  # ... unless asked: ten noise widths, A's variance lent
    assert "borrowed from A's (as asked)" in lent.assumption
    same = compare_samples([1.0, 1.0], [0.9, 0.9], "min")  # no spread at all: zero variance is not certainty
    assert same.verdict == NOT_ENOUGH and same.low is None and "not certainty" in same.assumption
    with pytest.raises(ValueError):
        compare_samples([float("nan")], [1.0], "min")


# -- how many trials were enough ----------------------------------------------------------------------


def test_bootstrap_curve_falls_and_narrows_with_the_budget() -> None:
    values = np.random.default_rng(2).uniform(0.1, 1.0, 20)
    curve = budget_curve(values, "min", study="s")
    assert curve.budgets == list(range(1, 21)) and curve.trials == 20
    medians = np.array(curve.median)
    assert np.all(np.diff(medians) <= 1e-12) and medians[-1] == pytest.approx(values.min())
    width = np.array(curve.q75) - np.array(curve.q25)
    assert width[-1] < width[2]
    assert all(lo <= m <= hi for lo, m, hi in zip(curve.q05, curve.median, curve.q95))
    flipped = budget_curve(-values, "max")  # the same study with the sign turned: mirrored numbers
    assert flipped.median == pytest.approx([-m for m in curve.median])
    grid = default_budgets(200)
    assert grid[0] == 1 and grid[-1] == 200 and 100 in grid and len(grid) <= 26


def test_plateau_was_enough_and_a_rare_good_region_still_pays() -> None:
    plateau = [0.1] * 16 + list(np.linspace(0.5, 1.0, 16))  # half the trials found the best value
    done = budget_curve(plateau, "min", study="plateau")
    assert done.more_would_help is False and done.last_doubling_gain == pytest.approx(0.0, abs=1e-6)
    assert "were likely enough" in done.message
    rare = [0.0] + list(np.linspace(1.0, 2.0, 31))  # one trial in 32 found the good region
    more = budget_curve(rare, "min", study="rare")
    assert more.more_would_help is True and "would likely still help" in more.message
    # Measured retrain noise larger than the gain: more trials could not be told apart.
    noisy = budget_curve(rare, "min", noise=5.0)
    assert noisy.threshold_source == "retrain" and noisy.more_would_help is False
    assert budget_curve([0.3, 0.2], "min").more_would_help is None  # too small a study to tell


def test_infeasible_trials_use_budget_and_pending_ones_do_not() -> None:
    frame = pd.DataFrame({
        "study": ["s"] * 8 + ["t"] * 2,
        "state": ["completed", "infeasible", "infeasible", "infeasible", "failed", "infeasible", "infeasible",
                  "pending", "completed", "completed"],
        "best_value": [0.5, None, None, None, None, None, None, None, 0.1, 0.2],
    })
    s, t = budget_curves(frame, "min", noise={"t": 0.01})
    assert s.trials == 7 and s.completed == 1
    assert s.median[0] is None  # one trial drawn usually has no result
    assert s.median[-1] == pytest.approx(0.5) and t.budgets == [1, 2]
    table = budget_table([s, t])
    assert list(table.columns) == ["study", "budget", "median", "q25", "q75", "q05", "q95"] and len(table) == 9
