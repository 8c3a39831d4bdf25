"""Adam presets: which hyperparameters the playbook opens on each side of its trial thresholds, and
the `adam: {preset: auto}` spelling in an experiment file."""

from __future__ import annotations

import pytest

from scitune import ConfigError, parse_experiment
from scitune.config.presets import adam_parameters, adam_search_space
from scitune.errors import UsageError


@pytest.mark.parametrize(
    ("trials", "opened"),
    [
        (1, ["learning_rate"]),
        (9, ["learning_rate"]),
        (10, ["learning_rate", "one_minus_beta1"]),
        (24, ["learning_rate", "one_minus_beta1"]),
        (25, ["learning_rate", "one_minus_beta1", "epsilon"]),
        (49, ["learning_rate", "one_minus_beta1", "epsilon"]),
        (50, ["learning_rate", "one_minus_beta1", "epsilon", "one_minus_beta2"]),
        (200, ["learning_rate", "one_minus_beta1", "epsilon", "one_minus_beta2"]),
    ],
)
def test_budget_thresholds(trials: int, opened: list[str]) -> None:
    assert adam_parameters(trials) == opened
    assert list(adam_search_space(trials)) == opened


def test_ranges_are_log_scale_with_beta_as_one_minus_beta() -> None:
    space = adam_search_space(60, when={"optimizer": "adam"})
    assert all(spec["scale"] == "log" and spec["when"] == {"optimizer": "adam"} for spec in space.values())
    assert 0 < space["one_minus_beta1"]["low"] < space["one_minus_beta1"]["high"] < 1
    with pytest.raises(UsageError):
        adam_parameters(0)


def experiment(trials: int, nuisance: str, fixed: str = "{optimizer: adam}") -> str:
    entries = "".join(f"    {line}\n" for line in nuisance.splitlines())
    return (
        "experiment: adam\n"
        "goal: Tune Adam as the playbook's budget rule says.\n"
        "train: m:train\n"
        "objective: {metric: val_error}\n"
        f"budget: {{trials_per_study: {trials}, max_train_steps: 10, eval_every: 5}}\n"
        "hyperparameters:\n"
        "  nuisance:\n"
        f"{entries}"
        f"  fixed: {fixed}\n"
    )


@pytest.mark.parametrize(("trials", "count"), [(9, 1), (10, 2), (24, 2), (25, 3), (49, 3), (50, 4)])
def test_preset_in_the_experiment_file_follows_trials_per_study(trials: int, count: int) -> None:
    parsed = parse_experiment(experiment(trials, "adam: {preset: auto}\nweight_decay: {low: 1.0e-6, high: 1.0e-2, scale: log}"))
    names = list(parsed.hyperparameters.nuisance)
    assert names == [*adam_parameters(trials), "weight_decay"] and len(names) == count + 1
    assert parsed.space["learning_rate"].scale == "log"


def test_preset_spellings_and_mistakes() -> None:
    mine = parse_experiment(experiment(30, "adam: {preset: auto}\nlearning_rate: {low: 1.0e-3, high: 1.0e-2, scale: log}"))
    assert mine.space["learning_rate"].low == 1e-3  # a name written out wins over the preset's
    sized = parse_experiment(experiment(8, "adam: {preset: 30}"))
    assert list(sized.hyperparameters.nuisance) == adam_parameters(30)
    fixed_rate = parse_experiment(experiment(12, "adam: {preset: auto}", "{optimizer: adam, learning_rate: 0.01}"))
    assert list(fixed_rate.hyperparameters.nuisance) == ["one_minus_beta1"]
    conditional = parse_experiment(experiment(12, "optimizer: [adam, sgd]\nadam: {preset: auto, when: {optimizer: adam}}",
                                              "{}"))
    assert conditional.space["one_minus_beta1"].when.to_dict() == {"optimizer": ["adam"]}
    with pytest.raises(ConfigError, match=r"exp.yaml:8: hyperparameters.nuisance.adam: preset must be 'auto'"):
        parse_experiment(experiment(8, "adam: {preset: many}"), "exp.yaml")
    with pytest.raises(ConfigError, match="unknown key 'ranges'"):
        parse_experiment(experiment(8, "adam: {preset: auto, ranges: {}}"), "exp.yaml")


