"""``scitune refine``: a narrower space from an exploration, or a refusal that says why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import run_cli
from scitune import Store, run_experiment
from scitune.config import load_experiment
from scitune.errors import ScituneError
from scitune.space import RangeParam
from scitune.steps.refine import refine_experiment, write_refined

SYNTH = '''
import math

def train(hp, trial):
    x, y = math.log10(hp["learning_rate"]), hp["y"]
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=(x + 1.6) ** 2 + (y - 0.3) ** 2 + 0.01 / step)
'''


def explore_yaml(name: str, lr_high: str) -> str:
    return textwrap.dedent(
        f"""\
        experiment: {name}
        goal: Where is the synthetic optimum?
        train: synth:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: 16, max_train_steps: 2, eval_every: 1}}
        search: {{algorithm: quasi_random, seed: 0}}
        hyperparameters:
          nuisance:
            learning_rate: {{low: 1.0e-4, high: {lr_high}, scale: log}}
            y: {{low: 0.0, high: 1.0}}
        """
    )


def _run(path: Path) -> None:
    experiment, text = load_experiment(path)
    run_experiment(experiment, Store(str(path.parent / "scitune.db")), config_text=text, config_path=path)


@pytest.mark.slow
def test_refine_writes_a_ready_experiment_file_and_refuses_an_edge(workdir: Path) -> None:
    (workdir / "synth.py").write_text(SYNTH)
    (workdir / "explore.yaml").write_text(explore_yaml("explore", "1.0"))
    _run(workdir / "explore.yaml")

    made = run_cli("refine", "explore", "--sampler", "tpe", "--trials", "4", cwd=workdir)
    assert made.returncode == 0, made.stderr
    path = workdir / "explore-bayes.yaml"  # beside the exploration's file
    assert f"wrote {path}" in made.stdout and "learning_rate: [0.0001, 1] -> [" in made.stdout
    experiment, text = load_experiment(path)
    assert text.startswith("# Bayesian round after the exploration 'explore'")
    assert experiment.search.algorithm == "bayesian" and experiment.search.warm_start == "explore"
    assert experiment.search.sampler == "tpe" and experiment.budget.trials_per_study == 4
    assert experiment.goal == "Where is the synthetic optimum?" and experiment.train == "synth:train"
    lr = experiment.space["learning_rate"]
    assert isinstance(lr, RangeParam) and lr.scale == "log" and 1e-4 < lr.low < 10**-1.6 < lr.high < 1.0
    store = Store(str(workdir / "scitune.db"))
    best = store.trials("explore").nsmallest(3, "best_value")
    assert all(lr.low < p["learning_rate"] < lr.high for p in best["params"])

    refined = refine_experiment(store, "explore", sampler="tpe", trials_per_study=4)
    assert refined.text.split("\n", 1)[1] == text.split("\n", 1)[1]  # the same file (the first line has the date)
    with pytest.raises(ScituneError, match="exists already"):
        write_refined(refined)
    # The file is ready: it runs the Bayesian round, warm-started from the exploration.
    _run(path)
    bayes = store.trials("explore-bayes")
    assert len(bayes) == 4 and set(bayes["state"]) == {"completed"}
    with pytest.raises(ScituneError, match="it is a bayesian round, not a quasi-random exploration"):
        refine_experiment(store, "explore-bayes")

    (workdir / "edge.yaml").write_text(explore_yaml("edge", "1.0e-2"))  # the optimum (10**-1.6) lies above it
    _run(workdir / "edge.yaml")
    refused = run_cli("refine", "edge", cwd=workdir)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: cannot refine 'edge': study 'default': the best trial")
    assert "learning_rate" in refused.stderr and "widen it (e.g. high: 0.1)" in refused.stderr
    assert "(hint: widen the range(s) named, run the exploration again, then refine)" in refused.stderr
    assert not (workdir / "edge-bayes.yaml").exists()
