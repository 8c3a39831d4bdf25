"""An experiment from Python values: ``define_experiment`` with a train callable, run as a file would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitune import define_experiment, run_experiment
from scitune.config import parse_experiment
from scitune.errors import ConfigError
from scitune.store import Store


def train(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=abs(hp["learning_rate"] - 0.01) + 1.0 / step)


BUDGET = {"trials_per_study": 3, "max_train_steps": 4, "eval_every": 2}


def test_an_experiment_from_python_values_runs_with_its_callable(tmp_path: Path) -> None:
    loaded = define_experiment("values", "Does width matter?", train, objective="val_error", budget=BUDGET,
                               scientific={"width": [8, 16]},
                               nuisance={"learning_rate": {"low": 1e-4, "high": 1e-1, "scale": "log"}},
                               fixed={"batch_size": 32}, check={"ignore": ["space_too_large"]})
    assert loaded.experiment.train == f"{__name__}:train" and loaded.config_path is None
    assert parse_experiment(loaded.config_text) == loaded.experiment  # the stored text is the same experiment
    summary = run_experiment(loaded, str(tmp_path / "s.db"))
    assert summary.states["completed"] == 6
    trials = Store(str(tmp_path / "s.db")).trials("values")
    assert set(trials["state"]) == {"completed"} and set(trials["best_step"]) == {4}


def test_a_lambda_is_stored_as_main_train_and_mistakes_name_the_key() -> None:
    loaded = define_experiment("lam", "A lambda trains?", lambda hp, trial: None, objective={"metric": "loss"},
                               budget=BUDGET)
    assert loaded.experiment.train == "__main__:train" and loaded.experiment.objective.mode == "min"
    with pytest.raises(ConfigError, match=r"<typo>:\d+: budget\.trials_per_studdy: unknown key"):
        define_experiment("typo", "Misspelt?", train, objective="val_error",
                          budget={**BUDGET, "trials_per_studdy": 3})
