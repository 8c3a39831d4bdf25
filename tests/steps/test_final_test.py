"""The final test-set check: the chosen trial's best checkpoint, recorded apart from selection."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import run_cli
from scitune import Store, load_experiment, run_experiment
from scitune.errors import ConfigError, ScituneError
from scitune.steps.final_test import run_test

MODULE = '''
import math
from scitune.run.checkpoints import load_state

def train(hp, trial):
    x = math.log10(hp["learning_rate"])
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            # Best at step 2, worse after: the best checkpoint is not the last one.
            trial.report(step, val_error=(x + 2) ** 2 + abs(step - 2) / 10)
            trial.save_checkpoint(step, {"x": x, "step": step})

def evaluate(hp, checkpoint):
    state = load_state(checkpoint)
    assert abs(state["x"] - math.log10(hp["learning_rate"])) < 1e-12
    return {"test_error": (state["x"] + 2) ** 2 + 0.05, "checkpoint_step": state["step"]}
'''


def _yaml(test: str = "model:evaluate") -> str:
    return textwrap.dedent(
        f"""\
        experiment: final
        goal: What does the chosen configuration score on the test set?
        train: model:train
        test: {test}
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: 4, max_train_steps: 4, eval_every: 1}}
        checkpoints: {{keep_best: 1}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0, scale: log}}
        """
    )


@pytest.mark.slow
def test_the_best_trial_is_tested_at_its_best_checkpoint_and_recorded_apart(workdir: Path) -> None:
    (workdir / "model.py").write_text(MODULE)
    (workdir / "final.yaml").write_text(_yaml())
    experiment, text = load_experiment(workdir / "final.yaml")
    store = Store(str(workdir / "scitune.db"))
    run_experiment(experiment, store, config_text=text, config_path=workdir / "final.yaml")
    before = store.trials("final")
    best = before.loc[before["best_value"].idxmin()]

    ran = run_cli("test", "final", "--metric", "test_error", cwd=workdir)
    assert ran.returncode == 0, ran.stderr
    assert f"final trial default/{best['trial']}: val_error {best['best_value']:.4g} at its best step 2" in ran.stdout
    assert "test set, checkpoint of step 2: test_error" in ran.stdout and "never used for selection" in ran.stdout

    results = store.test_results(before["id"].tolist())
    assert len(results) == 1
    row = results[0]
    assert row.trial_id == best["id"] and row.step == 2 and row.function == "model:evaluate"
    assert row.metrics["checkpoint_step"] == 2 and row.command == "scitune test final --metric test_error"
    # The search results are untouched: selection never reads the test table.
    after = store.trials("final")
    assert after[["state", "best_value", "best_step"]].equals(before[["state", "best_value", "best_step"]])

    # A named trial, and another function given on the command line.
    other = before[before["id"] != best["id"]].iloc[0]
    result = run_test(store, "final", f"default/{other['trial']}", function="model:evaluate")
    assert result.trial.id == other["id"] and result.step == 2 and set(result.metrics) == {"test_error", "checkpoint_step"}
    assert len(store.test_results(before["id"].tolist())) == 2
    with pytest.raises(ScituneError, match="returned test_error, checkpoint_step, not 'test_loss'"):
        run_test(store, "final", metric="test_loss")
    with pytest.raises(ConfigError, match="test: module 'model' has no function 'nothing'"):
        run_test(store, "final", function="model:nothing")


def test_an_experiment_without_a_test_function_says_how_to_give_one(workdir: Path) -> None:
    (workdir / "model.py").write_text(MODULE)
    text = _yaml().replace("test: model:evaluate\n", "")
    (workdir / "final.yaml").write_text(text)
    experiment, config = load_experiment(workdir / "final.yaml")
    store = Store(str(workdir / "scitune.db"))
    run_experiment(experiment, store, config_text=config, config_path=workdir / "final.yaml")
    with pytest.raises(ScituneError) as info:
        run_test(store, "final")
    assert "names no test function" in info.value.message and "--function" in info.value.hint
    # Adding test: to the file afterwards is not a different experiment: no trial depends on it.
    (workdir / "final.yaml").write_text(_yaml())
    experiment, config = load_experiment(workdir / "final.yaml")
    run_experiment(experiment, store, config_text=config, config_path=workdir / "final.yaml")
    assert run_test(store, "final").function == "model:evaluate"
