"""Round 1 -> Round 2: longer training around the best Round-1 trials, the schedule rescaled."""

from __future__ import annotations

import pandas as pd
import pytest

from scitune import parse_experiment
from scitune.analysis.rounds import round2_experiment
from scitune.errors import NotFoundError

ROUND1 = """\
experiment: r1
goal: Which optimizer settings train best in short runs?
train: m:train
objective: {{metric: val_error, mode: min}}
budget: {{trials_per_study: 8, max_train_steps: 1000, eval_every: 50}}
hyperparameters:
  scientific: {{width: [64, 128]}}
  nuisance:
    learning_rate: {{low: 1.0e-4, high: 1.0, scale: log}}
    warmup_steps: {{low: 0, high: 100, type: int}}
    activation: [relu, gelu, tanh]
    {schedule}
  fixed: {{batch_size: 32{fixed}}}
"""


def round1(schedule: str = "", fixed: str = ", schedule: linear"):
    return parse_experiment(ROUND1.format(schedule=schedule, fixed=fixed))


def trials(rows: list[tuple[str, float, dict]]) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "study": st, "trial": i, "state": "completed", "best_value": v, "best_step": 500,
                          "params": p} for i, (st, v, p) in enumerate(rows)])


ROWS = [
    ("width=64", 0.05, {"learning_rate": 0.01, "warmup_steps": 20, "activation": "relu"}),
    ("width=64", 0.06, {"learning_rate": 0.02, "warmup_steps": 60, "activation": "gelu"}),
    ("width=64", 0.30, {"learning_rate": 0.9, "warmup_steps": 5, "activation": "tanh"}),  # not among the best 2
    ("width=128", 0.04, {"learning_rate": 0.005, "warmup_steps": 40, "activation": "relu"}),
    ("width=128", 0.07, {"learning_rate": 0.03, "warmup_steps": 90, "activation": "relu"}),
]


def test_round2_narrows_around_the_best_and_keeps_the_linear_decay_length() -> None:
    plan = round2_experiment(round1(), trials(ROWS), top=2, factor=10)
    r2 = parse_experiment(plan.text)
    assert r2.name == "r1-round2" and r2.goal.startswith("Round 2 of r1: its best configurations trained 10000 steps instead of 1000.")
    assert (r2.budget.max_train_steps, r2.budget.eval_every, r2.budget.trials_per_study) == (10000, 500, 4)
    lr = r2.space["learning_rate"]
    assert 1e-4 <= lr.low <= 0.005 and 0.03 <= lr.high < 0.9 and lr.scale == "log"  # 0.9 was not a best trial
    assert r2.space["activation"].values == ("relu", "gelu")
    # warmup transfers: fixed at the overall best trial's length; the decay keeps Round 1's length
    assert r2.fixed == {"batch_size": 32, "schedule": "linear", "warmup_steps": 40, "decay_steps": 960}
    assert "warmup_steps" not in r2.space.names
    assert r2.scientific == {"width": [64, 128]}
    assert plan.best["trial"].tolist() == [3, 0, 1, 4]
    assert any("decay_steps fixed at Round 1's 960" in n for n in plan.notes)


def test_round2_schedule_rules_for_cosine_tuned_and_constant_schedules() -> None:
    cosine = round2_experiment(round1(fixed=", schedule: cosine"), trials(ROWS), top=2, max_train_steps=3000)
    assert "decay_steps" not in parse_experiment(cosine.text).fixed
    assert any("cosine decay: the base learning rate is kept" in n for n in cosine.notes)
    rows = [(st, v, {**p, "schedule": "linear" if i % 2 else "cosine"}) for i, (st, v, p) in enumerate(ROWS)]
    tuned = round2_experiment(round1(schedule="schedule: [linear, cosine, constant]", fixed=""), trials(rows), top=2)
    space = parse_experiment(tuned.text).space
    assert space["schedule"].values == ("linear", "cosine")
    assert space["decay_steps"].values == (960,) and space["decay_steps"].when.to_dict() == {"schedule": ["linear"]}
    constant = round2_experiment(round1(fixed=""), trials(ROWS), top=1)
    assert any("nothing to rescale" in n for n in constant.notes)
    with pytest.raises(NotFoundError, match="no completed trial"):
        round2_experiment(round1(), trials(ROWS).assign(state="failed"))


