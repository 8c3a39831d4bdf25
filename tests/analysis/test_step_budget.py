"""How long to train: the step budget from a learning-rate sweep (planted data and a synthetic
trainer whose steps-to-fit are known), and the best-step distribution of a finished study."""

from __future__ import annotations

import math

import pandas as pd

from planted import PROTO_BASE as BASE
from scitune import parse_experiment
from scitune.analysis import designs as sweeps
from scitune.analysis import step_budget as steps


def planted(rows: list[tuple[float, str, list[tuple[int, float]]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trials (one per row: learning rate, state, curve of train_error) and their metric frame."""
    trials = pd.DataFrame([{"id": i, "study": f"lr={lr}", "trial": 0, "state": state, "params": {"learning_rate": lr}}
                           for i, (lr, state, _) in enumerate(rows)])
    metrics = pd.DataFrame([(i, "train_error", s, v) for i, (_, _, c) in enumerate(rows) for s, v in c],
                           columns=["trial_id", "name", "step", "value"])
    return trials, metrics


def fit_curve(reach: int | None, last: int = 100) -> list[tuple[int, float]]:
    return [(s, 0.0 if reach is not None and s >= reach else 0.5) for s in range(10, last + 1, 10)]


def test_fastest_rate_sets_the_budget_and_ties_go_to_the_smaller_rate() -> None:
    trials, metrics = planted([(0.001, "completed", fit_curve(None)), (0.01, "completed", fit_curve(60)),
                               (0.03, "completed", fit_curve(40)), (0.1, "completed", fit_curve(40)),
                               (0.3, "infeasible", [(10, 0.5), (20, math.nan)])])
    result = steps.recommend_max_train_steps(trials, metrics, metric="train_error", target=0.0)
    assert (result.best_learning_rate, result.max_train_steps) == (0.03, 40)
    assert result.warnings == []
    assert result.table["steps_to_target"].astype(object).tolist()[:4] == [pd.NA, 60, 40, 40]


def test_edge_of_the_grid_and_unreached_targets_warn() -> None:
    top = steps.recommend_max_train_steps(*planted([(0.001, "completed", fit_curve(80)),
                                                   (0.01, "completed", fit_curve(30))]), metric="train_error", target=0)
    assert top.max_train_steps == 30 and "largest of the grid" in top.warnings[0]
    below_instability = steps.recommend_max_train_steps(
        *planted([(0.001, "completed", fit_curve(80)), (0.01, "completed", fit_curve(30)),
                  (0.1, "infeasible", [(10, math.nan)])]), metric="train_error", target=0)
    assert any("diverged" in w and "warmup" in w for w in below_instability.warnings)
    never = steps.recommend_max_train_steps(*planted([(0.01, "completed", fit_curve(None))]), metric="train_error",
                                            target=0, trial_steps=100)
    assert never.max_train_steps is None and "no learning rate reached train_error <= 0 within 100 steps" in never.warnings[0]


def test_base_point_takes_the_middle_of_each_range_and_says_so() -> None:
    point, notes = sweeps.base_point(parse_experiment(BASE))
    assert point == {"batch_size": 32, "learning_rate": 0.01, "weight_decay": 0.0001}
    assert notes == ["learning_rate = 0.01 (the middle of its search range)",
                     "weight_decay = 0.0001 (the middle of its search range)"]
    assert sweeps.log_grid(1e-4, 1e-1, 7) == [0.0001, 0.000316, 0.001, 0.00316, 0.01, 0.0316, 0.1]


def study(name: str, best_steps: list[int], first_id: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"study": name, "trial": range(len(best_steps)), "id": range(first_id, first_id + len(best_steps)),
                         "state": "completed", "best_step": best_steps})


def test_step_verdicts_give_the_playbooks_advice() -> None:
    top = pd.concat([study("early", [5, 8, 9], 0), study("late", [80, 90, 100], 10), study("flat", [80, 90, 100], 20),
                     study("spread", [10, 50, 90], 30)], ignore_index=True)
    gains = {10: 0.1, 11: 0.2, 12: 0.3, 20: 0.0, 21: 0.01, 22: 0.0}  # "flat" ends late but gains nothing there
    verdicts = {v.study: v for v in steps.step_verdicts(top, gains, 100, late_fraction=0.25, early_fraction=0.1,
                                                         min_late_gain=0.02)}
    assert {k: v.verdict for k, v in verdicts.items()} == {"early": "too_many_steps", "late": "train_longer",
                                                           "flat": "ok", "spread": "ok"}
    assert verdicts["late"].late_gain == 0.2
    assert "far too high" in verdicts["early"].advice
    assert "train longer" in verdicts["late"].advice and "decay schedule" in verdicts["late"].advice
    trials = pd.concat([study("early", [5, 8, 9, 10, 3]), study("late", [80, 90, 95, 100, 50])], ignore_index=True)
    histogram = steps.best_step_histogram(trials, 100)
    assert histogram["early"].tolist() == [5, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert histogram["late"].tolist() == [0, 0, 0, 0, 1, 0, 0, 1, 1, 2]  # slices include their upper end


