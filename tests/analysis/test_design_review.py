"""The design review: each rule on a planted experiment where the right verdict is known, its
silence, and a well-designed experiment that passes."""

from __future__ import annotations

import textwrap

import pytest

from scitune.analysis.design_review import (
    NOTE,
    REFUSE,
    SECTIONS,
    WARNING,
    design_review,
    trials_needed,
)
from scitune.config import DESIGN_RULES, parse_experiment
from scitune.errors import ConfigError


def make(nuisance: str, *, trials: int = 16, fixed: str = "{batch_size: 64}", scientific: str = "{width: [8, 16]}",
         extra: str = "") -> str:
    return textwrap.dedent(f"""\
        experiment: design
        goal: Does width change the validation error?
        train: toytrainer:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: 100, eval_every: 10}}
        hyperparameters:
          scientific: {scientific}
          nuisance: {nuisance}
          fixed: {fixed}
        """) + extra


def rules(text: str) -> dict[str, list]:
    review = design_review(parse_experiment(text))
    out: dict[str, list] = {}
    for issue in review.issues:
        out.setdefault(issue.rule, []).append(issue)
    return out


GOOD = "{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, weight_decay: {low: 1.0e-6, high: 1.0e-2, scale: log}}"


def test_a_well_designed_experiment_passes() -> None:
    assert rules(make(GOOD)) == {}


def test_the_step_budget_as_nuisance_is_refused_as_scientific_it_is_not() -> None:
    found = rules(make("{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, max_train_steps: [100, 1000]}"))
    (issue,) = found["step_budget_nuisance"]
    assert issue.severity == REFUSE and issue.params == ("max_train_steps",)
    assert "budget.max_train_steps" in issue.suggestion and "steps sweep" in issue.suggestion
    epochs = rules(make("{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, epochs: {low: 1, high: 9, type: int}}"))
    assert epochs["step_budget_nuisance"][0].params == ("epochs",)
    assert "step_budget_nuisance" not in rules(make(GOOD, scientific="{max_train_steps: [100, 1000]}"))


def test_the_batch_size_as_nuisance_warns_and_names_the_throughput_tool() -> None:
    found = rules(make("{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, batch_size: [32, 64, 128]}",
                       fixed="{}"))
    (issue,) = found["batch_size_nuisance"]
    assert issue.severity == WARNING and "batch-size throughput" in issue.suggestion
    assert "batch_size_nuisance" not in rules(make(GOOD))  # fixed: fine


@pytest.mark.parametrize("spec, flagged", [
    ("{low: 1.0e-4, high: 1.0e-1}", True),  # three decades, linear
    ("{low: 0.0, high: 0.1}", True),  # from 0: every decade below the top one is starved
    ("{low: 0.01, high: 0.1}", False),  # one decade: linear is fine
    ("{low: 1.0e-4, high: 1.0e-1, scale: log}", False),
])
def test_a_learning_rate_on_a_linear_scale_over_a_decade_warns(spec: str, flagged: bool) -> None:
    found = rules(make(f"{{learning_rate: {spec}}}"))
    assert ("learning_rate_linear" in found) is flagged
    if flagged:
        issue = found["learning_rate_linear"][0]
        assert issue.severity == WARNING and "scale: log" in issue.suggestion
        assert issue.data["share_top_decade"] >= 0.9  # the planted fact: 90% of a linear range is its top decade


def test_optimizer_hyperparameters_fixed_or_scientific_get_a_note() -> None:
    found = rules(make("{weight_decay: {low: 1.0e-6, high: 1.0e-2, scale: log}}",
                       fixed="{learning_rate: 0.01, epsilon: 1.0e-8}", scientific="{momentum: [0.9, 0.99]}"))
    fixed, scientific = found["optimizer_not_nuisance"]
    assert fixed.severity == scientific.severity == NOTE
    assert set(fixed.params) == {"learning_rate", "epsilon"} and "hold only at these values" in fixed.evidence
    assert "Adam budget rule also leaves epsilon untuned" in fixed.evidence  # 16 < 25 trials
    assert scientific.params == ("momentum",)


@pytest.mark.parametrize("dims, trials, severity", [
    (1, 3, None), (2, 10, None), (2, 9, NOTE), (3, 16, NOTE), (3, 12, WARNING), (4, 50, None), (6, 16, WARNING),
])
def test_a_nuisance_space_too_large_for_the_budget_warns_with_the_numbers(dims: int, trials: int,
                                                                          severity: str | None) -> None:
    names = ["learning_rate", "weight_decay", "dropout", "label_smoothing", "one_minus_beta1", "warmup_steps"]
    nuisance = "{" + ", ".join(f"{n}: {{low: 0.01, high: 0.1}}" for n in names[:dims]) + "}"
    found = [i for i in rules(make(nuisance, trials=trials)).get("space_too_large", []) if i.data.get("dimensions")]
    if severity is None:
        assert not found
        return
    (issue,) = found
    assert issue.severity == severity
    assert issue.data == {"dimensions": dims, "trials": trials, "needed": trials_needed(dims),
                          "fits": issue.data["fits"]}
    assert f"{trials_needed(dims)} trials per study" in issue.evidence and str(trials) in issue.title


def test_the_trials_needed_follow_the_adam_budget_rule() -> None:
    assert [trials_needed(d) for d in range(1, 7)] == [1, 10, 25, 50, 100, 200]


def test_a_list_with_more_values_than_the_trials_can_try_warns() -> None:
    found = rules(make("{activation: [relu, gelu, tanh, silu, elu, selu]}", trials=12))
    (issue,) = found["space_too_large"]
    assert issue.data == {"values": 6, "trials": 12, "needed": 18} and "2.0 times" in issue.evidence


def test_a_conditional_parameter_that_can_never_be_active_is_named() -> None:
    nuisance = """{
      optimizer: [adam, sgd],
      one_minus_beta1: {low: 0.01, high: 0.5, scale: log, when: {optimizer: adam}},
      momentum: {low: 0.5, high: 0.99, when: {optimizer: sgd, one_minus_beta1: [0.1]}},
      ls: {low: 0.0, high: 0.2, when: {layers: [9]}},
      wd: {low: 0.0, high: 0.2, when: {layers: [3]}},
      layers: {low: 1, high: 8, type: int},
      nest: {values: [1, 2], when: {optimizer: adam}},
      deep: {low: 0.0, high: 1.0, when: {nest: [2], optimizer: sgd}},
      fine: {low: 0.0, high: 1.0, when: {nest: [2], optimizer: adam}}}"""
    found = rules(make(nuisance, trials=400))
    never = {i.params[0]: i for i in found["never_active"]}
    # momentum: its parent is a float range (an exact value is never drawn, and it is adam-only);
    # ls: 9 is outside layers' [1, 8]; deep: nest exists only for adam, deep wants sgd.
    assert set(never) == {"momentum", "ls", "deep"}
    assert all(i.severity == WARNING for i in never.values())
    assert "float range" in never["momentum"].evidence and "[1, 8]" in never["ls"].evidence
    assert "itself conditional" in never["deep"].evidence


def test_rules_are_silenced_by_the_files_check_section() -> None:
    text = make("{learning_rate: {low: 1.0e-4, high: 1.0e-1}, batch_size: [32, 64]}", fixed="{}",
                extra="check: {ignore: [batch_size_nuisance]}\n")
    review = design_review(parse_experiment(text))
    assert {i.rule for i in review.issues} == {"learning_rate_linear"}
    assert [i.rule for i in review.ignored] == ["batch_size_nuisance"]
    assert design_review(parse_experiment(text), ignore=[]).warnings[0].rule == "batch_size_nuisance"


def test_a_misspelt_rule_in_the_check_section_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"check\.ignore: 'batch_size_nuisanse' is not a design-review rule; "
                                          r"did you mean batch_size_nuisance\?"):
        parse_experiment(make(GOOD, extra="check: {ignore: [batch_size_nuisanse]}\n"))


def test_sections_are_the_playbooks() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]  # CI keeps a copy of shared/ beside the clone
    found = [p for p in (root / "shared", root.parent / "shared", Path("/work/shared"))
             if (p / "playbook" / "tuning-playbook-seed.txt").exists()]
    if not found:
        pytest.skip("the playbook (shared/playbook) is not beside this checkout")
    seed = found[0] / "playbook" / "tuning-playbook-seed.txt"
    text = seed.read_text(encoding="utf-8").replace("*", "")
    assert set(SECTIONS) == set(DESIGN_RULES)
    for section in SECTIONS.values():
        assert section in text


@pytest.mark.slow
def test_the_trial_budget_keeps_the_best_trial_as_close_to_the_optimum_as_dimensions_grow() -> None:
    """benchmarks/design_budget.py, fewer repetitions: at trials_needed(d) the best quasi-random
    trial's squared distance to a random optimum, per dimension, stays about the same for d = 2..6;
    at half the budget it is worse (by 25% or more here)."""
    import sys

    from helpers import REPO

    sys.path.insert(0, str(REPO))
    from benchmarks.design_budget import distances

    sizes = tuple(sorted({trials_needed(d) for d in range(2, 7)} | {trials_needed(d) // 2 for d in range(2, 7)}))
    table = distances(reps=40, dims=range(2, 7), sizes=sizes)
    at_budget = [table[(d, trials_needed(d))] for d in range(2, 7)]
    assert max(at_budget) < 2.5 * min(at_budget)
    assert all(table[(d, trials_needed(d) // 2)] > 1.2 * table[(d, trials_needed(d))] for d in (3, 4, 5, 6))
