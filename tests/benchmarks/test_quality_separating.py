"""The separating quality benchmark's workloads: the planted one's optimum is where it says, its
divergent region diverges, and the real model trains; the paired statistics are right on known data.
No timing: the benchmark's figures are in BENCHMARKS.md section 14."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from helpers import REPO

sys.path.insert(0, str(REPO))
from benchmarks import quality_separating as qs


def _random_points(workload: str, n: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        hp = {}
        for name, (low, high, scale) in qs.SPACES[workload].items():
            u = rng.random()
            hp[name] = float(10 ** (math.log10(low) + u * (math.log10(high) - math.log10(low))) if scale == "log"
                             else low + u * (high - low))
        points.append(hp)
    return points


def test_planted_optimum_is_the_known_one_and_inside_the_space() -> None:
    best = qs.planted_error(qs.PLANTED_OPTIMUM)
    assert best == pytest.approx(qs.PLANTED_BEST, abs=1e-12)
    for name, value in qs.PLANTED_OPTIMUM.items():
        low, high, _ = qs.SPACES["planted"][name]
        assert low < value < high, name
    # Nothing in 5,000 random points beats it, and moving any one hyperparameter away costs error.
    assert min(qs.planted_error(hp) for hp in _random_points("planted", 5000, 0)) > best
    for name in qs.PLANTED_OPTIMUM:
        for factor in (0.8, 1.2):
            low, high, _ = qs.SPACES["planted"][name]
            moved = {**qs.PLANTED_OPTIMUM, name: min(high, qs.PLANTED_OPTIMUM[name] * factor)}
            assert qs.planted_error(moved) > best, (name, factor)


def test_planted_learning_rate_and_momentum_interact() -> None:
    """Along lr / (1 - momentum) = const the step is unchanged; off it the error rises fast."""
    opt = qs.PLANTED_OPTIMUM
    ridge = {**opt, "momentum": 0.8, "learning_rate": opt["learning_rate"] * 0.2 / 0.1}
    off = {**opt, "momentum": 0.8}
    assert qs.effective_step(ridge) == pytest.approx(qs.effective_step(opt))
    assert qs.planted_error(ridge) < qs.planted_error(off)


class _Trial:
    def __init__(self, seed: int, steps: int, every: int) -> None:
        self.seed, self.max_train_steps, self.eval_every = seed, steps, every
        self.points: list[tuple[int, dict[str, float]]] = []

    def should_eval(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.max_train_steps

    def report(self, step: int, **metrics: float) -> None:
        self.points.append((step, metrics))


def test_planted_runs_diverge_past_the_threshold_and_carry_seed_noise() -> None:
    steps, every = qs.BUDGETS["planted"]
    finals = []
    for seed in range(200):
        trial = _Trial(seed, steps, every)
        qs.train_planted(qs.PLANTED_OPTIMUM, trial)
        assert all(math.isfinite(m["val_error"]) for _, m in trial.points)  # the optimum never diverges
        finals.append(trial.points[-1][1]["val_error"])
        assert not qs.planted_diverges(qs.PLANTED_OPTIMUM, seed)
    # Its final error is the optimum's plus seed noise of retrain size.
    assert np.mean(finals) == pytest.approx(qs.PLANTED_BEST, abs=0.002)
    assert np.std(finals) == pytest.approx(math.hypot(qs.SEED_NOISE, qs.EVAL_NOISE), rel=0.2)
    # Well past the threshold every seed diverges: NaN at the second evaluation, nothing after.
    hot = {**qs.PLANTED_OPTIMUM, "learning_rate": qs.PLANTED_OPTIMUM["learning_rate"] * 10}
    for seed in range(20):
        trial = _Trial(seed, steps, every)
        qs.train_planted(hot, trial)
        assert len(trial.points) == 2 and math.isnan(trial.points[-1][1]["val_error"])
        assert qs.planted_diverges(hot, seed)
    # A sizable share of the space diverges, as the region above a good learning rate does.
    share = np.mean([qs.planted_diverges(hp, i) for i, hp in enumerate(_random_points("planted", 2000, 1))])
    assert 0.2 < share < 0.6


def test_mlp_trains_and_diverges_where_a_real_one_would() -> None:
    steps, every = qs.BUDGETS["mlp"]
    good = {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "init_scale": 1.0}
    trial = _Trial(1, steps, every)
    qs.train_mlp(good, trial)
    losses = [m["val_loss"] for _, m in trial.points]
    assert len(losses) == steps // every and all(map(math.isfinite, losses))
    assert min(losses) < 0.6  # well under 1, the variance of the (standardized) target
    hot = {**good, "learning_rate": 3.0, "momentum": 0.98}
    trial = _Trial(1, steps, every)
    qs.train_mlp(hot, trial)
    assert math.isnan(trial.points[-1][1]["val_loss"])


def test_paired_differences_and_intervals_on_known_numbers() -> None:
    mean, low, high = qs.t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(mean - low)
    assert high - mean == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)  # t(0.975, 2) * sd / sqrt(n)
    outcomes = []
    for seed in range(4):
        for arm, regret in zip(qs.ARMS, (0.3, 0.2, 0.25, 0.1, 0.15, 0.4)):
            outcomes.append({"workload": "planted", "seed": seed, "arm": arm, "regret": regret + 0.01 * seed,
                             "diverged": 1, "trials": 4})
    summary = qs.with_diffs(outcomes, qs.summarize(outcomes, "planted"), "planted")
    assert summary["best_optuna"] == "optuna_tpe"
    comp = summary["comparisons"]["scitune_explore_then_bayes - optuna_tpe (best Optuna arm)"]
    assert comp["ci"] == pytest.approx((-0.05, -0.05, -0.05)) and comp["wins"] == 4
    assert summary["comparisons"]["scitune_quasi_random - optuna_random"]["ci"][0] == pytest.approx(0.1)
    assert summary["diverged_share"]["optuna_gp"] == 0.25
    assert "| optuna_tpe |" in qs.markdown(summary, "planted")
