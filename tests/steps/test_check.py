"""``scitune check`` and the design review at the start of ``scitune run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli
from planted import experiment_yaml
from scitune import run_experiment
from scitune.errors import DesignRefused
from scitune.steps.check import check_experiment, refuse

STEP_BUDGET = experiment_yaml("refused", trials=10, scientific="{width: [8]}").replace(
    "learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}",
    "learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}\n    max_train_steps: [4, 8]",
)


def test_run_refuses_a_step_budget_tuned_as_nuisance_before_the_store_is_touched(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(STEP_BUDGET)
    seen = []
    with pytest.raises(DesignRefused, match="refused by the design review: the step budget") as err:
        run_experiment(workdir / "exp.yaml", str(workdir / "s.db"), on_check=seen.append)
    assert "check: {ignore: [step_budget_nuisance]}" in (err.value.hint or "")
    assert err.value.exit_code == 2 and [i.rule for i in err.value.issues] == ["step_budget_nuisance"]
    assert not (workdir / "s.db").exists()  # nothing written
    assert [i.rule for i in seen[0].refusals] == ["step_budget_nuisance"]  # told before refusing


def test_check_prints_every_issue_with_its_section_and_exits_2_on_a_refusal(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(STEP_BUDGET)
    result = cli("check", "exp.yaml")
    assert result.exit_code == 2
    assert "refuse step_budget_nuisance: the step budget (max_train_steps)" in result.stdout
    assert 'playbook: "Deciding how long to train when training is not compute-bound"' in result.stdout
    assert "1 refusal(s), 0 warning(s), 0 note(s)" in result.stdout

    (workdir / "ok.yaml").write_text(experiment_yaml("fine"))
    fine = cli("check", "ok.yaml")
    assert fine.exit_code == 0 and "the design review found nothing to fix" in fine.stdout


def test_a_silenced_refusal_lets_the_run_go_on(workdir: Path) -> None:
    silenced = STEP_BUDGET + "check: {ignore: [step_budget_nuisance]}\n"
    (workdir / "exp.yaml").write_text(silenced)
    review = check_experiment(workdir / "exp.yaml")
    refuse(review)  # nothing to refuse
    assert not review.issues and [i.rule for i in review.ignored] == ["step_budget_nuisance"]
    shown = cli("check", "exp.yaml")
    assert shown.exit_code == 0 and "silenced by the file's check: section: step_budget_nuisance" in shown.stdout


def test_run_prints_the_review_before_refusing(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(STEP_BUDGET)
    result = cli("run", "exp.yaml", "--store", str(workdir / "s.db"))
    assert isinstance(result.exception, DesignRefused)  # the console entry point prints it as one line, exit 2
    assert "refuse step_budget_nuisance: the step budget (max_train_steps)" in result.stdout
    assert "scitune check FILE" in result.stdout and not (workdir / "s.db").exists()


def test_check_as_json(workdir: Path) -> None:
    import json

    (workdir / "exp.yaml").write_text(STEP_BUDGET)
    result = cli("check", "exp.yaml", "--format", "json")
    assert result.exit_code == 2
    record = json.loads(result.stdout)
    assert record["experiment"] == "refused" and record["ignored"] == []
    (issue,) = record["issues"]
    assert issue["rule"] == "step_budget_nuisance" and issue["severity"] == "refuse"
    assert issue["section"] == "Deciding how long to train when training is not compute-bound"


def test_silencing_a_rule_later_is_not_a_changed_experiment(workdir: Path) -> None:
    path = workdir / "exp.yaml"
    path.write_text(experiment_yaml("later", trials=1, scientific="{width: [8]}"))
    run_experiment(path, str(workdir / "s.db"))
    path.write_text(path.read_text() + "check: {ignore: [space_too_large]}\n")
    again = run_experiment(path, str(workdir / "s.db"))  # resumes: nothing left to run
    assert again.states["completed"] == 1
