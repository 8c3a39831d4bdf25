"""How many trials were enough, in the report: planted studies whose expected best is saturated (half
the trials found the best value) or still improving (one trial in 32 found the good region)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planted import Outcome, planted_experiment, planted_frames, shape
from scitune.analysis.budget import budget_curve
from scitune.analysis.review import review
from scitune.plots import budget_figure, budget_plot_info, budget_png

GRID = np.arange(50, 1001, 50)


def _floor_outcome(floors: dict[str, callable]):
    """Every trial's curve settles at the floor its study's function gives its trial number."""

    def outcome(study: str, number: int, params: dict) -> Outcome:
        floor = floors[study](number)
        val = shape("clean", GRID, 1000, start=floor + 0.8, floor=floor)
        return Outcome("completed", {"val_error": val, "train_loss": val * 0.5})

    return outcome


def saturated(number: int) -> float:
    return 0.10 if number % 2 == 0 else 0.5 + 0.01 * number  # half of the trials at the best value


def improving(best: float):
    return lambda number: best if number == 20 else 0.5 + 0.01 * number  # one trial in 32 found it


def _review(floors: dict[str, callable], trials: int = 32):
    experiment, _ = planted_experiment(trials=trials)
    frames = planted_frames(experiment, _floor_outcome(floors))
    return review(experiment, *frames)


def _budget_findings(result):
    return {f.study: f for f in result.findings if f.check == "more_trials"}


def test_a_study_still_improving_gets_the_finding_and_a_saturated_one_does_not() -> None:
    result = _review({"width=64": saturated, "width=256": improving(0.02)})
    found = _budget_findings(result)
    assert list(found) == ["width=256"]
    f = found["width=256"]
    assert f.severity == "note" and f.title == "width=256: more trials would likely still improve its best val_error"
    assert "going from 16 to 32 trials improved the expected best by" in f.evidence
    assert "would likely still help" in f.evidence and "The expected best val_error of 16 trials is" in f.evidence
    assert "raise trials_per_study from 32 to 64" in f.suggestion
    assert f.data["from_trials"] == 16 and f.data["to_trials"] == 32
    assert f.data["last_doubling_gain"] > f.data["threshold"] > 0 and f.data["threshold_source"] == "study gain"
    saturated_curve = next(c for c in result.budgets if c.study == "width=64")
    assert saturated_curve.more_would_help is False and "were likely enough" in saturated_curve.message
    assert "more_trials" not in result.passed


def test_more_trials_that_could_overtake_the_leader_is_a_warning() -> None:
    # The improving study trails the saturated one by 0.02, far less than what its last doubling gained.
    result = _review({"width=64": saturated, "width=256": improving(0.12)})
    f = _budget_findings(result)["width=256"]
    assert f.severity == "warning" and f.data["behind_first"] == pytest.approx(0.02, abs=1e-9)
    assert "It is 0.02 from width=64" in f.evidence and "could close the gap to width=64" in f.suggestion


def test_saturated_studies_pass_and_tiny_ones_are_not_judged() -> None:
    result = _review({"width=64": saturated, "width=256": saturated})
    assert not _budget_findings(result) and "more_trials" in result.passed
    tiny = _review({"width=64": saturated, "width=256": saturated}, trials=3)
    assert all(c.more_would_help is None for c in tiny.budgets) and "more_trials" not in tiny.passed


@pytest.mark.slow
def test_the_plot_info_has_each_studys_budgets_and_falling_medians(tmp_path: Path) -> None:
    result = _review({"width=64": saturated, "width=256": improving(0.02)})
    info = budget_plot_info(result.budgets, "val_error", "min")
    assert info.studies == ["width=64", "width=256"] and [p.curve.study for p in info.panels] == info.studies
    for panel in (p.curve for p in info.panels):
        assert panel.budgets[0] == 1 and panel.budgets[-1] == 32 and 16 in panel.budgets
        assert panel.budgets == sorted(set(panel.budgets))
        medians = np.array(panel.median, dtype=float)
        assert np.all(np.diff(medians) <= 1e-12)  # the expected best only improves with more trials
        assert all(lo <= m <= hi for lo, m, hi in zip(panel.q05, panel.median, panel.q95))
    verdicts = {p.curve.study: p.verdict for p in info.panels}
    assert verdicts == {"width=64": "likely enough", "width=256": "more trials would likely help"}
    saturated_panel = info.panels[0].curve
    assert saturated_panel.median[-1] == pytest.approx(min(saturated_panel.q05)) and 32 in info.x_ticks
    assert info.y_range[0] < 0.1 < info.y_range[1]

    # A maximised objective's expected best rises; a study without finished trials has no panel.
    accuracy = budget_curve([1 - saturated(i) for i in range(32)], "max", study="acc")
    rising = budget_plot_info([accuracy, budget_curve([], "max", study="empty")], "val_accuracy", "max")
    assert [p.curve.study for p in rising.panels] == ["acc"] and rising.studies == ["acc", "empty"]
    assert np.all(np.diff(np.array(rising.panels[0].curve.median, dtype=float)) >= -1e-12)
    fig = budget_figure(info)
    assert fig.data and "How many trials were enough" in fig.layout.title.text
    path = budget_png(info, tmp_path / "budget.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


# -- the budget curve at scale: the same numbers, without 2,000 x k indices ---------------------------


def _expected_best_per_call(values, k: int, mode: str = "min"):
    """The estimator as it was computed before it was tabled (lgamma per element, per call)."""
    import math

    from scitune.analysis.ranking import oriented

    lg = np.vectorize(math.lgamma, otypes=[float])
    raw = np.asarray(values, dtype=float)
    finite = np.isfinite(raw)
    n = raw.size
    if not finite.any() or not 1 <= k <= n:
        return None
    keyed = np.sort(np.where(finite, np.asarray(oriented(raw, mode), dtype=float), np.nan))
    keyed = np.where(np.isnan(keyed), np.nanmax(keyed), keyed)
    i = np.arange(1, n + 1)
    ok = n - i >= k - 1
    logw = np.full(n, -np.inf)
    j = i[ok]
    logw[ok] = lg(n - j + 1.0) - lg(float(k)) - lg(n - j - k + 2.0) - (lg(n + 1.0) - lg(k + 1.0) - lg(n - k + 1.0))
    weights = np.exp(logw)
    return float(oriented(float(np.dot(weights / weights.sum(), keyed)), mode))


@pytest.mark.parametrize("mode", ["min", "max"])
def test_the_tabled_expected_best_is_exactly_the_per_call_one(mode: str) -> None:
    from scitune.analysis.budget import expected_best

    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 37, 400):
        values = rng.normal(size=n)
        values[rng.random(n) < 0.2] = np.nan  # infeasible trials count as the worst
        for k in sorted({1, 2, n // 2, n - 1, n} - {0}):
            assert expected_best(values, k, mode) == _expected_best_per_call(values, k, mode)
        curve = budget_curve(values.tolist(), mode)
        assert curve.expected == [_expected_best_per_call(values, k, mode) for k in curve.budgets]


def test_the_lowest_index_of_k_draws_has_the_distribution_of_drawing_all_k() -> None:
    """P(lowest index >= j) = ((n - j) / n) ** k for k indices uniform on 0..n-1; 40,000 direct
    draws match it within 0.01 everywhere, for small and large k (a Kolmogorov bound)."""
    from scitune.analysis.budget import _lowest_of

    rng = np.random.default_rng(0)
    for n, k in ((10, 1), (10, 3), (50, 7), (1000, 400), (1000, 5000)):
        lowest = _lowest_of(rng, n, k, 40_000)
        assert lowest.min() >= 0 and lowest.max() <= n - 1
        j = np.arange(n)
        exact = ((n - j) / n) ** k
        seen = (lowest[:, None] >= j[None, :]).mean(axis=0)
        assert np.abs(seen - exact).max() < 0.01, (n, k)


def test_the_bootstrap_bands_match_drawing_every_index() -> None:
    """The plotted median and bands (2,000 draws a budget) agree with the brute-force bootstrap
    (all k indices drawn) within Monte-Carlo error on a planted study of 300 trials, 10% infeasible."""
    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 0.1, size=300)
    values[rng.random(300) < 0.1] = np.nan
    curve = budget_curve(values.tolist(), "min")
    keyed = np.where(np.isfinite(values), values, np.inf)
    brute = np.random.default_rng(2)
    sorted_values = np.sort(values[np.isfinite(values)])
    for k, median, q05, q95 in zip(curve.budgets, curve.median, curve.q05, curve.q95):
        best = keyed[brute.integers(0, len(values), size=(2000, k))].min(axis=1)
        want = np.quantile(best, [0.05, 0.5, 0.95], method="nearest")
        for got, ref, q in ((q05, want[0], 0.05), (median, want[1], 0.5), (q95, want[2], 0.95)):
            if not np.isfinite(ref):
                assert got is None
                continue
            # within 4 standard errors of a quantile of 2,000 draws, measured in ranks of the values
            rank_got, rank_ref = np.searchsorted(sorted_values, [got, ref])
            cdf = np.searchsorted(sorted_values, ref, side="right") / len(values)
            spread = 4 * np.sqrt(q * (1 - q) / 2000) * len(values) + 2
            assert abs(rank_got - rank_ref) <= max(spread, 0.02 * len(values)) or cdf >= 1, (k, q, got, ref)


def _every_index_lowest(rng: np.random.Generator, n: int, k: int, resamples: int) -> np.ndarray:
    """The bootstrap as it was: all k indices of each draw, then their minimum."""
    return rng.integers(0, n, size=(resamples, k)).min(axis=1)


@pytest.mark.parametrize("floors", [
    {"width=64": saturated, "width=256": improving(0.02)},
    {"width=64": improving(0.05), "width=256": saturated},
])
def test_the_findings_do_not_depend_on_how_the_bootstrap_draws(floors, monkeypatch) -> None:
    """Every finding, its evidence and the passed checks are the same with the direct draws and
    with the old all-k-indices draws: the verdict reads the exact expected best, the draws only the plot."""
    from scitune.analysis import budget

    experiment, _ = planted_experiment(trials=48)
    frames = planted_frames(experiment, _floor_outcome(floors))
    fast = review(experiment, *frames, importance=False)
    monkeypatch.setattr(budget, "_lowest_of", _every_index_lowest)
    slow = review(experiment, *frames, importance=False)
    assert [f.to_dict() for f in fast.findings] == [f.to_dict() for f in slow.findings]
    assert fast.passed == slow.passed
    assert [(c.last_doubling_gain, c.threshold, c.more_would_help, c.message, c.expected) for c in fast.budgets] == \
        [(c.last_doubling_gain, c.threshold, c.more_would_help, c.message, c.expected) for c in slow.budgets]
