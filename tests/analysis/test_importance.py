"""Parameter importance on planted studies: a hyperparameter that does nothing is found to barely
matter, the ones that decide the objective are not, and too few trials give no estimate. The rates
over many simulated studies are measured by benchmarks/importance_calibration.py (docs/dashboard.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planted import planted_experiment
from scitune.analysis.findings.importance_checks import BARELY_SHARE, importance_findings
from scitune.analysis.importance import MIN_TRIALS, barely_matters, importances, study_importance
from scitune.search import QuasiRandomSearch

pytest.importorskip("optuna")

NUISANCE = ("{a: {low: 1.0e-4, high: 1.0e-1, scale: log}, b: {low: 0.0, high: 1.0}, c: {low: 0.0, high: 1.0}, "
            "act: [relu, tanh]}")


def planted(n: int, seed: int = 0, c_weight: float = 0.0, study: str = "s") -> tuple[pd.DataFrame, object]:
    """a and b decide the objective, act a little, c nothing (unless ``c_weight``)."""
    exp, _ = planted_experiment(scientific="{}", nuisance=NUISANCE)
    rng = np.random.default_rng(seed)
    rows = []
    for i, p in enumerate(QuasiRandomSearch(exp.space, seed).points(0, n, {})):
        value = ((np.log10(p["a"]) + 2.5) ** 2 + 3 * (p["b"] - 0.3) ** 2 + c_weight * (p["c"] - 0.5) ** 2
                 + 0.5 * (p["act"] == "tanh") + rng.normal(0, 0.05))
        rows.append({"study": study, "trial": i, "state": "completed", "params": p, "best_value": float(value)})
    rows.append({"study": study, "trial": n, "state": "infeasible", "params": p, "best_value": None})
    return pd.DataFrame(rows), exp.space


def test_a_hyperparameter_that_does_nothing_barely_matters() -> None:
    trials, space = planted(120)
    [found] = importances(trials, space, "min", ["s"], resamples=10)
    assert found.trials == 120  # the infeasible trial is left out
    ranking = [p.name for p in found.params]
    assert set(ranking[:2]) == {"a", "b"}
    c = next(p for p in found.params if p.name == "c")
    assert 0 <= c.low <= c.importance <= c.high < BARELY_SHARE / 4
    assert abs(sum(p.importance for p in found.params) - 1) < 1e-6
    [finding] = importance_findings([found])
    assert finding.check == "importance" and finding.severity == "note"
    assert finding.title == "c barely matters here: consider fixing it next round"


def test_a_hyperparameter_that_matters_is_not_flagged() -> None:
    trials, space = planted(120, c_weight=3.0)
    found = study_importance(trials, space, "min", "s", resamples=10)
    assert found is not None and "c" not in barely_matters([found], BARELY_SHARE)


def test_it_must_barely_matter_in_every_study() -> None:
    quiet, space = planted(120, study="quiet")
    loud, _ = planted(120, seed=1, c_weight=3.0, study="loud")
    found = importances(pd.concat([quiet, loud]), space, "min", ["quiet", "loud"], resamples=10)
    assert [f.study for f in found] == ["quiet", "loud"]
    assert "c" in barely_matters(found[:1], BARELY_SHARE) and "c" not in barely_matters(found, BARELY_SHARE)


def test_too_few_trials_give_no_estimate() -> None:
    trials, space = planted(MIN_TRIALS - 1)
    assert study_importance(trials, space, "min") is None
    assert importance_findings([]) == []


def test_a_max_objective_ranks_the_same_parameters() -> None:
    trials, space = planted(120)
    trials["best_value"] = -trials["best_value"]
    found = study_importance(trials, space, "max", resamples=5)
    assert found is not None and {p.name for p in found.params[:2]} == {"a", "b"}


def test_the_review_and_the_reports_plot_carry_the_importance(tmp_path) -> None:
    from planted import planted_frames, shaped_outcome
    from scitune.analysis.review import review
    from scitune.plots.importance import importance_figure, importance_plot_info, importance_png

    exp, _ = planted_experiment(trials=24)  # the planted curves depend on the learning rate, not on dropout
    trials, points = planted_frames(exp, shaped_outcome("clean"))
    result = review(exp, trials, points)
    assert [s.study for s in result.importances] == ["width=64", "width=256"]
    assert all(s.params[0].name == "learning_rate" for s in result.importances)
    assert "importance" not in result.passed or not any(f.check == "importance" for f in result.findings)
    info = importance_plot_info(result.importances, BARELY_SHARE)
    assert info.threshold == BARELY_SHARE / 2 and len(info.bars) == 4
    assert len(importance_figure(info).data) == 2
    assert importance_png(info, tmp_path / "importance.png").stat().st_size > 5_000


def test_numbered_twins_are_what_copy_copy_gives_with_a_new_id() -> None:
    import copy

    optuna = pytest.importorskip("optuna")
    from scitune.analysis.importance import _numbered

    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    trials = [optuna.trial.create_trial(params={"a": v}, distributions={"a": dist}, value=v) for v in (0.1, 0.7, 0.1)]
    ids = [t._trial_id for t in trials]
    twins = _numbered(trials)
    for i, (trial, twin) in enumerate(zip(trials, twins)):
        want = copy.copy(trial)
        want._trial_id = i
        assert type(twin) is type(trial) and twin is not trial and vars(twin) == vars(want)
    assert [t._trial_id for t in trials] == ids  # the originals are left alone
