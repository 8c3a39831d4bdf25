"""``scitune next``: the next round's file from planted stores whose right next step is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import cli
from planted import (
    Outcome,
    lr_quality,
    make_planted_store,
    plant_store,
    planted_experiment,
    shape,
    shaped_outcome,
)
from scitune.analysis.next_round import DONE, EXPLOIT, EXPLORE, SETTLE
from scitune.config import load_experiment
from scitune.errors import ScituneError
from scitune.space import RangeParam
from scitune.steps.next_round import next_name, next_round, write_next
from scitune.store import Store

LR_ONLY = "{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}}"


def planted(tmp_path: Path, outcome, **kwargs) -> tuple[Store, str]:
    experiment, text = planted_experiment(**kwargs)
    store = Store(str(tmp_path / "s.db"))
    plant_store(store, experiment, text, outcome)
    return store, experiment.name


def written(tmp_path: Path, store: Store, name: str):
    planned = next_round(store, name, out=tmp_path / "next.yaml")
    path = write_next(planned)
    experiment, text = load_experiment(path)  # scitune's own loader reads it
    return planned, experiment, text


def test_a_boundary_finding_widens_the_range_and_says_why_on_its_line(tmp_path: Path) -> None:
    store = Store(str(make_planted_store(tmp_path)))  # the optimum (lr 1.0) lies above the range [1e-4, 1e-1]
    planned, experiment, text = written(tmp_path, store, "planted")
    assert planned.plan.kind == EXPLORE and experiment.name == "planted-next"
    lr = experiment.space["learning_rate"]
    assert isinstance(lr, RangeParam) and lr.low == 1e-4 and lr.high == pytest.approx(10**0.5, rel=1e-3)
    line = next(line for line in text.splitlines() if line.strip().startswith("learning_rate:"))
    assert "# finding 2 (boundary): learning_rate's best trials at the high edge" in line and "0.1 -> 3.162" in line
    assert experiment.search.algorithm == "quasi_random"  # widened: explore again, not exploit
    assert experiment.goal == "Does a wider layer lower the planted validation error?"
    assert "Nothing has run" in text
    with pytest.raises(ScituneError, match="exists already"):
        write_next(planned)


def test_curves_still_improving_double_the_step_budget_and_an_unsettled_answer_gets_a_retrain_plan(
        tmp_path: Path) -> None:
    store, name = planted(tmp_path, shaped_outcome("improving"), nuisance=LR_ONLY)  # both studies tie
    planned, experiment, text = written(tmp_path, store, name)
    assert experiment.budget.max_train_steps == 2000 and experiment.budget.eval_every == 100  # same evaluations
    assert planned.commands == [f"scitune retrain {name} --trial width=64 --seeds 5",
                                f"scitune retrain {name} --trial width=256 --seeds 5"]
    assert all(f"#   {c}" in text for c in planned.commands)
    budget_line = next(line for line in text.splitlines() if "max_train_steps:" in line)
    assert "still_improving" in budget_line and "1000 -> 2000" in budget_line


def test_an_unsettled_answer_with_an_adequate_space_settles_first(tmp_path: Path) -> None:
    store, name = planted(tmp_path, shaped_outcome("clean"), nuisance=LR_ONLY)
    planned, experiment, text = written(tmp_path, store, name)
    assert planned.plan.kind == SETTLE and len(planned.commands) == 2
    assert [c.path for c in planned.plan.changes] == [("search", "seed")]  # a replicate, not the same trials
    assert experiment.search.seed == 1 and "# settle: the same design with the next quasi-random seed" in text
    assert experiment.space["learning_rate"] == planted_experiment(nuisance=LR_ONLY)[0].space["learning_rate"]


def test_an_adequate_settled_exploration_is_followed_by_the_bayesian_round(tmp_path: Path) -> None:
    store, name = planted(tmp_path, shaped_outcome("clean"), scientific="{}", nuisance=LR_ONLY)
    planned, experiment, text = written(tmp_path, store, name)
    assert planned.plan.kind == EXPLOIT
    assert experiment.search.algorithm == "bayesian" and experiment.search.warm_start == name
    lr = experiment.space["learning_rate"]
    assert 1e-4 < lr.low < 10**-2.5 < lr.high < 1e-1  # refined around the planted optimum
    assert "# exploit: learning_rate [0.0001, 0.1] ->" in text
    # Its own next round: a Bayesian round is not refined again.
    store2 = Store(str(tmp_path / "s.db"))
    experiment2, text2 = load_experiment(tmp_path / "next.yaml")
    plant_store(store2, experiment2, text2, shaped_outcome("clean"))
    again = next_round(store2, experiment2.name, out=tmp_path / "again.yaml")
    assert again.plan.kind == DONE and again.name == f"{name}-next2"
    # Planning the first round's next again skips the name the store already holds.
    assert next_round(store2, name, out=tmp_path / "third.yaml").name == f"{name}-next2"


def test_a_widened_probability_stays_inside_0_and_1(tmp_path: Path) -> None:
    grid = np.arange(50, 1001, 50)

    def outcome(study: str, number: int, params: dict) -> Outcome:  # more dropout is better, up to 1 and beyond
        floor = 0.05 + 0.04 * lr_quality(params) + 0.3 * (1 - params["dropout"])
        return Outcome("completed", {"val_error": shape("clean", grid, 1000, start=floor + 0.8, floor=floor,
                                                        seed=number)})

    store, name = planted(tmp_path, outcome, scientific="{}",
                          nuisance="{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, "
                                   "dropout: {low: 0.2, high: 0.9}}")
    _, experiment, text = written(tmp_path, store, name)
    dropout = experiment.space["dropout"]
    assert dropout.low == 0.2 and dropout.high == 1.0  # 0.9 + half the width would be 1.25
    assert "high 0.9 -> 1" in text  # the finding itself stays inside the domain
    assert experiment.budget.trials_per_study == 32  # few trials near the best: doubled


def test_next_names_count_rounds() -> None:
    assert [next_name(n) for n in ("a", "a-next", "a-next2", "a-nexts")] == ["a-next", "a-next2", "a-next3",
                                                                            "a-nexts-next"]


def test_the_command_writes_into_the_current_folder_and_never_over_a_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_planted_store(tmp_path)
    monkeypatch.chdir(tmp_path)
    made = cli("next", "planted", "--store", str(path))
    assert made.exit_code == 0, made.output
    assert (tmp_path / "planted-next.yaml").exists() and "explore again" in made.stdout
    assert "nothing has run" in made.stdout
    again = cli("next", "planted", "--store", str(path))
    assert again.exit_code != 0 and isinstance(again.exception, ScituneError)
    assert cli("next", "planted", "--store", str(path), "--force", "--name", "wider").exit_code == 0
    assert load_experiment(tmp_path / "wider.yaml")[0].name == "wider"


def test_the_file_goes_where_its_training_code_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from scitune.steps.next_round import _default_path, _moved_note

    original, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    original.mkdir()
    elsewhere.mkdir()
    (original / "zz_next_trainer.py").write_text("def train(hp, trial):\n    pass\n")
    experiment = SimpleNamespace(train="zz_next_trainer:train", command=None)
    monkeypatch.chdir(elsewhere)
    assert _default_path(experiment, original, "n.yaml") == original / "n.yaml"  # found only from there
    assert "found from" in _moved_note(experiment, original, elsewhere / "n.yaml")
    assert _moved_note(experiment, original, original / "n.yaml") is None
    monkeypatch.chdir(original)
    assert _default_path(experiment, original, "n.yaml") == original / "n.yaml"
    command = SimpleNamespace(train=None, command=["python", "train.py"])
    assert "relative paths" in _moved_note(command, original, elsewhere / "n.yaml")


def test_no_completed_trial_is_nothing_to_plan_from(tmp_path: Path) -> None:
    def failed(study: str, number: int, params: dict) -> Outcome:
        return Outcome("failed", {"val_error": np.array([])}, "boom")

    store, name = planted(tmp_path, failed, nuisance=LR_ONLY, trials=2)
    with pytest.raises(ScituneError, match="no completed trial: there are no findings"):
        next_round(store, name)
