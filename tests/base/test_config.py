"""The experiment file: every mistake becomes one ConfigError naming the file, line, key path and rule;
valid files become the Experiment they describe. Then the same promises at the command line: exit
code 2, one line on stderr, and nothing written to the store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scitune.config import StudySpec, parse_experiment
from scitune.errors import ConfigError
from scitune.space import ChoiceParam, RangeParam

# Line numbers matter: the expected errors below point at them.
BASE = """\
experiment: cfgtest
goal: Does width change the validation error?
train: tinytrain:train
objective: {metric: val_error, mode: min}
budget: {trials_per_study: 2, max_train_steps: 4, eval_every: 2}
search: {algorithm: quasi_random, seed: 0}
hyperparameters:
  scientific:
    width: [8, 16]
  nuisance:
    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
    optimizer: [adam, sgd]
    layers: {low: 1, high: 4, type: int}
  fixed:
    batch_size: 32
"""

SOURCE = "exp.yaml"


def mutate(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_experiment(text, SOURCE)
    message = str(info.value)
    assert message == info.value.message
    assert "\n" not in message  # one line
    return message


def test_base_is_valid() -> None:
    experiment = parse_experiment(BASE, SOURCE)
    assert experiment.name == "cfgtest"
    assert experiment.goal == "Does width change the validation error?"
    assert experiment.train == "tinytrain:train" and experiment.command is None
    assert experiment.objective.metric == "val_error" and experiment.objective.mode == "min"
    assert experiment.budget.trials_per_study == 2 and experiment.budget.max_train_steps == 4
    assert experiment.fixed == {"batch_size": 32}
    assert experiment.space.names == ["optimizer", "learning_rate", "layers"]


# (text, line, key path, rule). line None: the key is absent from the file, so no line can be named.
BAD = [
    pytest.param(BASE + "colour: red\n", 16, "colour", "unknown key", id="unknown-top-level-key"),
    pytest.param(
        mutate("scale: log}", "sclae: log}"),
        11,
        "hyperparameters.nuisance.learning_rate.sclae",
        "unknown key",
        id="unknown-key-in-parameter",
    ),
    pytest.param(
        mutate("budget: {trials_per_study: 2,", "budget: {trails_per_study: 2, trials_per_study: 2,"),
        5,
        "budget.trails_per_study",
        "unknown key",
        id="unknown-key-in-budget",
    ),
    pytest.param(
        mutate("goal: Does width change the validation error?\n", ""),
        None,
        "goal",
        "required key is missing",
        id="missing-goal",
    ),
    pytest.param(
        mutate("goal: Does width change the validation error?", 'goal: "   "'),
        2,
        "goal",
        "the goal must say",
        id="empty-goal",
    ),
    pytest.param(
        mutate("low: 1.0e-4, high: 1.0e-1", "low: 0.1, high: 0.0001"),
        11,
        "hyperparameters.nuisance.learning_rate",
        "low (0.1) must be below high (0.0001)",
        id="low-above-high",
    ),
    pytest.param(
        mutate("low: 1.0e-4, high: 1.0e-1", "low: 0.01, high: 0.01"),
        11,
        "hyperparameters.nuisance.learning_rate",
        "must be below high",
        id="low-equals-high",
    ),
    pytest.param(
        mutate("low: 1.0e-4, high: 1.0e-1", "low: 0, high: 0.1"),
        11,
        "hyperparameters.nuisance.learning_rate",
        "log scale needs bounds above 0",
        id="log-low-zero",
    ),
    pytest.param(
        mutate("low: 1.0e-4, high: 1.0e-1", "low: -1.0e-3, high: 1.0e-1"),
        11,
        "hyperparameters.nuisance.learning_rate",
        "log scale needs bounds above 0",
        id="log-low-negative",
    ),
    pytest.param(
        mutate("{low: 1, high: 4, type: int}", "{low: 1.5, high: 4, type: int}"),
        13,
        "hyperparameters.nuisance.layers",
        "int bounds must be whole numbers",
        id="int-bounds-not-integers",
    ),
    pytest.param(
        mutate("[adam, sgd]", "[]"),
        12,
        "hyperparameters.nuisance.optimizer",
        "the list of values is empty",
        id="empty-nuisance-values",
    ),
    pytest.param(
        mutate("[8, 16]", "[]"),
        9,
        "hyperparameters.scientific.width",
        "the list of values is empty",
        id="empty-scientific-values",
    ),
    pytest.param(
        mutate("    batch_size: 32", "    batch_size: 32\n    learning_rate: 0.1"),
        16,
        "hyperparameters.fixed.learning_rate",
        "already nuisance: a hyperparameter has one role",
        id="nuisance-and-fixed",
    ),
    pytest.param(
        mutate("    width: [8, 16]", "    width: [8, 16]\n    optimizer: [adam]"),
        13,
        "hyperparameters.nuisance.optimizer",
        "already scientific: a hyperparameter has one role",
        id="scientific-and-nuisance",
    ),
    pytest.param(
        mutate("type: int}", "type: int, when: {optimiser: adam}}"),
        13,
        "hyperparameters.nuisance.layers.when",
        "condition on unknown parameter 'optimiser'",
        id="condition-on-unknown-parameter",
    ),
    pytest.param(
        mutate("type: int}", "type: int, when: {optimizer: adamw}}"),
        13,
        "hyperparameters.nuisance.layers.when.optimizer",
        "'adamw' is not one of optimizer's values",
        id="condition-value-impossible-nuisance",
    ),
    pytest.param(
        mutate("type: int}", "type: int, when: {width: 32}}"),
        13,
        "hyperparameters.nuisance.layers.when.width",
        "32 is not one of width's values",
        id="condition-value-impossible-scientific",
    ),
    pytest.param(
        mutate("type: int}", "type: int, when: {batch_size: 64}}"),
        13,
        "hyperparameters.nuisance.layers.when.batch_size",
        "never holds: batch_size is fixed at 32, so 'layers' would be absent from every trial",
        id="condition-value-impossible-fixed",
    ),
    pytest.param(
        mutate("{metric: val_error, mode: min}", "{mode: min}"),
        4,
        "objective.metric",
        "required key is missing",
        id="objective-metric-missing",
    ),
    pytest.param(
        mutate("trials_per_study: 2", "trials_per_study: -1"),
        5,
        "budget.trials_per_study",
        "must be at least 1",
        id="negative-trials",
    ),
    pytest.param(
        mutate("max_train_steps: 4", "max_train_steps: 0"),
        5,
        "budget.max_train_steps",
        "must be at least 1",
        id="zero-steps",
    ),
    pytest.param(
        mutate("train: tinytrain:train", "train: tinytrain.train"),
        3,
        "train",
        "must be 'module:function'",
        id="train-without-colon",
    ),
    pytest.param(
        mutate("train: tinytrain:train", "train: tiny-train:train:more"),
        3,
        "train",
        "must be 'module:function'",
        id="train-malformed",
    ),
    pytest.param(
        mutate("    batch_size: 32", "    batch_size: 32\n    batch_size: 64"),
        16,
        "hyperparameters.fixed.batch_size",
        "appears twice",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize("text, line, path, rule", BAD)
def test_bad_file_names_file_line_key_and_rule(text: str, line: int | None, path: str, rule: str) -> None:
    message = config_error(text)
    where = re.escape(SOURCE) + (f":{line}" if line else r"(:\d+)?")
    assert re.match(where + ": " + re.escape(path) + ": ", message), message
    assert rule in message, message


def test_duplicate_key_names_both_lines() -> None:
    message = config_error(mutate("    batch_size: 32", "    batch_size: 32\n    batch_size: 64"))
    assert message.startswith("exp.yaml:16: ")
    assert "'batch_size' appears twice" in message and "first on line 15" in message


def test_duplicate_top_level_key() -> None:
    message = config_error(BASE + "goal: another goal\n")
    assert message.startswith("exp.yaml:16: ") and "'goal' appears twice" in message and "line 2" in message


def test_repeated_scientific_value_is_refused() -> None:
    message = config_error(mutate("[8, 16]", "[8, 8]"))
    assert message.startswith("exp.yaml:9: hyperparameters.scientific.width: value 8 is listed twice"), message


def test_invalid_yaml_names_file_and_line() -> None:
    message = config_error(mutate("    width: [8, 16]", "    width: [8, 16"))
    assert re.match(r"exp\.yaml:1\d: not valid YAML: ", message), message


def test_tab_indentation_is_invalid_yaml() -> None:
    message = config_error(mutate("  fixed:\n    batch_size: 32", "  fixed:\n\tbatch_size: 32"))
    assert re.match(r"exp\.yaml:\d+: not valid YAML", message), message


@pytest.mark.parametrize(
    "text", ["- a\n- b\n", "just a sentence\n", "", "42\n"], ids=["list", "string", "empty", "number"]
)
def test_file_that_is_not_a_mapping(text: str) -> None:
    message = config_error(text)
    assert message.startswith("exp.yaml:1: (top level): ") and "mapping" in message


def test_every_problem_is_reported_a_line_each_in_file_order() -> None:
    text = mutate("max_train_steps: 4", "max_train_steps: 0", BASE + "colour: red\n")
    with pytest.raises(ConfigError) as info:
        parse_experiment(text, SOURCE)
    assert info.value.message.splitlines() == [
        "exp.yaml:5: budget.max_train_steps: must be at least 1",
        "exp.yaml:16: colour: unknown key",
    ]


def test_a_misspelt_key_suggests_the_valid_one_and_shows_the_missing_one() -> None:
    text = mutate("trials_per_study: 2", "trials_per_studdy: 2")
    text = mutate("scale: log", "scael: log", text)
    with pytest.raises(ConfigError) as info:
        parse_experiment(text, SOURCE)
    lines = info.value.message.splitlines()
    assert "exp.yaml:5: budget.trials_per_studdy: unknown key (did you mean trials_per_study?)" in lines
    assert "exp.yaml:5: budget.trials_per_study: required key is missing" in lines
    assert "exp.yaml:11: hyperparameters.nuisance.learning_rate.scael: unknown key (did you mean scale?)" in lines
    assert len(lines) == 3
    assert config_error(BASE + "zzzz: 1\n") == "exp.yaml:16: zzzz: unknown key"  # nothing close: no guess


def test_train_and_command_together_are_refused() -> None:
    message = config_error(mutate("train: tinytrain:train", "train: tinytrain:train\ncommand: [python, t.py]"))
    assert message.startswith("exp.yaml:3: train: ") and "exactly one of train" in message


# -- valid files --------------------------------------------------------------------------------


def test_exponent_without_dot_is_a_float() -> None:
    text = mutate("low: 1.0e-4, high: 1.0e-1", "low: 1e-4, high: 1E-1")
    text = mutate("    batch_size: 32", "    batch_size: 32\n    weight_decay: 5e-4\n    scale: -2e+3", text)
    experiment = parse_experiment(text, SOURCE)
    lr = experiment.space["learning_rate"]
    assert isinstance(lr, RangeParam) and lr.low == 1e-4 and lr.high == 0.1
    # fixed values are free-form, so only the loader can make these floats rather than strings
    assert experiment.fixed["weight_decay"] == 5e-4 and isinstance(experiment.fixed["weight_decay"], float)
    assert experiment.fixed["scale"] == -2000.0 and isinstance(experiment.fixed["scale"], float)
    assert experiment.fixed["batch_size"] == 32 and isinstance(experiment.fixed["batch_size"], int)


def test_bare_lists_are_categorical_or_discrete() -> None:
    text = mutate("    optimizer: [adam, sgd]", "    optimizer: [adam, sgd]\n    width_mult: [0.5, 1, 2]")
    experiment = parse_experiment(text, SOURCE)
    optimizer, mult = experiment.space["optimizer"], experiment.space["width_mult"]
    assert isinstance(optimizer, ChoiceParam) and optimizer.kind == "categorical"
    assert optimizer.values == ("adam", "sgd")
    assert isinstance(mult, ChoiceParam) and mult.kind == "discrete" and mult.values == (0.5, 1, 2)
    layers = experiment.space["layers"]
    assert isinstance(layers, RangeParam) and layers.kind == "int" and (layers.low, layers.high) == (1, 4)
    lr = experiment.space["learning_rate"]
    assert isinstance(lr, RangeParam) and lr.scale == "log" and lr.kind == "float"


def test_empty_role_sections_are_fine() -> None:
    head = BASE.split("hyperparameters:")[0]
    experiment = parse_experiment(head + "hyperparameters:\n  scientific:\n  nuisance:\n  fixed:\n", SOURCE)
    assert experiment.scientific == {} and experiment.fixed == {} and experiment.space.dimensions == 0
    assert experiment.studies() == [StudySpec("default", {})]  # no scientific hyperparameter: one study, plain tuning
    assert parse_experiment(head, SOURCE).studies() == [StudySpec("default", {})]  # the whole block omitted


def test_studies_are_the_cartesian_product_in_file_order() -> None:
    text = mutate("    width: [8, 16]", "    width: [16, 8]\n    depth: [3, 1, 2]\n    act: relu")
    experiment = parse_experiment(text, SOURCE)
    studies = [s.scientific for s in experiment.studies()]
    assert studies == [
        {"width": 16, "depth": 3, "act": "relu"},
        {"width": 16, "depth": 1, "act": "relu"},
        {"width": 16, "depth": 2, "act": "relu"},
        {"width": 8, "depth": 3, "act": "relu"},
        {"width": 8, "depth": 1, "act": "relu"},
        {"width": 8, "depth": 2, "act": "relu"},
    ]
    assert all(list(s) == ["width", "depth", "act"] for s in studies)


def test_conditional_nuisance_on_scientific_parameter_is_accepted() -> None:
    text = mutate("type: int}", "type: int, when: {width: 16}}")
    text = mutate("[adam, sgd]", "{values: [adam, sgd], when: {width: [8, 16]}}", text)
    experiment = parse_experiment(text, SOURCE)
    layers = experiment.space["layers"]
    assert layers.when.requires == {"width": (16,)}
    points = [experiment.space.point([0.1, 0.5, 0.5], study.scientific) for study in experiment.studies()]
    assert ["layers" in p for p in points] == [False, True]  # width=8, width=16
    assert all(p["optimizer"] == "adam" for p in points)


def test_conditional_nuisance_on_nuisance_and_fixed_parameters() -> None:
    text = mutate("type: int}", "type: int, when: {optimizer: sgd, batch_size: [16, 32]}}")
    experiment = parse_experiment(text, SOURCE)
    assert experiment.space["layers"].when.requires == {"optimizer": ("sgd",), "batch_size": (16, 32)}


# -- the command line ---------------------------------------------------------------------------

TRAINER = """
def train(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=hp["learning_rate"] * 10 + 1.0 / step)
"""


def scitune(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    return subprocess.run(
        [sys.executable, "-m", "scitune", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), result.stderr
    assert lines[0].startswith("error:"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def store_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("s.db*"))


CLI_BAD = [
    pytest.param(
        mutate("scale: log}", "sclae: log}"), "hyperparameters.nuisance.learning_rate.sclae", id="unknown-key"
    ),
    pytest.param(
        mutate("low: 1.0e-4, high: 1.0e-1", "low: 0.1, high: 0.0001"),
        "hyperparameters.nuisance.learning_rate",
        id="low-above-high",
    ),
    pytest.param(
        mutate("    width: [8, 16]", "    width: [8, 16]\n    optimizer: [adam]"),
        "hyperparameters.nuisance.optimizer",
        id="two-roles",
    ),
    pytest.param(
        mutate("type: int}", "type: int, when: {optimizer: adamw}}"),
        "hyperparameters.nuisance.layers.when.optimizer",
        id="impossible-condition",
    ),
    pytest.param(
        mutate("trials_per_study: 2", "trials_per_study: -1"), "budget.trials_per_study", id="negative-budget"
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("text, path", CLI_BAD)
def test_cli_bad_file_is_one_line_exit_2_and_no_store(tmp_path: Path, text: str, path: str) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(text)
    (tmp_path / "tinytrain.py").write_text(TRAINER)
    result = scitune("run", str(exp), "--store", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, "exp.yaml:", path)
    assert store_files(tmp_path) == []


@pytest.mark.slow
def test_cli_missing_train_module_is_one_line_exit_2_and_no_store(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(mutate("train: tinytrain:train", "train: no_such_module_xyz:train"))
    result = scitune("run", str(exp), "--store", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, "exp.yaml", "train", "no_such_module_xyz")
    assert store_files(tmp_path) == []


@pytest.mark.slow
def test_cli_changed_definition_is_refused_and_store_unchanged(tmp_path: Path) -> None:
    (tmp_path / "tinytrain.py").write_text(TRAINER)
    exp = tmp_path / "exp.yaml"
    store = str(tmp_path / "s.db")
    exp.write_text(BASE)
    first = scitune("run", str(exp), "--store", store, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = scitune("trials", "cfgtest", "--format", "json", "--store", store, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    rows = json.loads(before.stdout)
    assert len(rows) == 4 and {r["state"] for r in rows} == {"completed"}  # 2 studies x 2 trials

    exp.write_text(mutate("high: 1.0e-1, scale: log", "high: 1.0e-2, scale: log"))
    changed = scitune("run", str(exp), "--store", store, cwd=tmp_path)
    line = assert_one_line_error(changed, "cfgtest", "different definition")
    assert "hyperparameters.nuisance.learning_rate.high" in line

    after = scitune("trials", "cfgtest", "--format", "json", "--store", store, cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == rows
