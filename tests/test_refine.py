"""``scitune refine``: a narrower space from an exploration, or a refusal that says why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli
from scitune import Store, run_experiment
from scitune.analysis.space_refinement import refine_range, refine_space
from scitune.errors import RefineRefused
from scitune.config import load_experiment
from scitune.errors import ScituneError
from scitune.steps.refine import refine_experiment, write_refined
from scitune.space import ChoiceParam, RangeParam, SearchSpace

SPACE = SearchSpace.build([
    RangeParam("learning_rate", 1e-4, 1e-1, "log"),
    RangeParam("layers", 1, 8, integer=True),
    ChoiceParam("activation", ("relu", "tanh")),
])


def planted(best_lr: list[float], rest_lr: float = 1e-3, study: str = "default") -> pd.DataFrame:
    """Completed trials: the ones in ``best_lr`` are best (in that order), then ten worse ones."""
    rows = []
    for i, lr in enumerate(best_lr):
        rows.append((study, i, "completed", {"learning_rate": lr, "layers": 3 + i % 2, "activation": "relu"}, 0.1 + i / 100))
    for j in range(10):
        lr = rest_lr * (1.3**j)
        rows.append((study, len(best_lr) + j, "completed", {"learning_rate": lr, "layers": 1 + j % 8, "activation": "tanh"},
                     0.5 + j / 100))
    rows.append((study, 99, "infeasible", {"learning_rate": 0.09, "layers": 2, "activation": "relu"}, None))
    return pd.DataFrame(rows, columns=["study", "trial", "state", "params", "best_value"])


def test_ranges_shrink_around_the_best_trials_with_room_to_spare() -> None:
    trials = planted([3e-3, 1e-3, 6e-3])
    refined = refine_space(trials, SPACE, "min", top_k=3)
    lr = next(r for r in refined.ranges if r.param == "learning_rate")
    # Best trials span log10 -3 .. -2.22 (positions 0.333 .. 0.593 of 3 decades); the pad is half that
    # span (0.13), so the new range is positions 0.203 .. 0.723: about 10**-3.39 .. 10**-1.83.
    assert (lr.best_low, lr.best_high) == (1e-3, 6e-3)
    assert lr.low == pytest.approx(10**-3.39, rel=0.01) and lr.high == pytest.approx(10**-1.83, rel=0.01)
    assert lr.low <= 1e-3 / 1.5 and lr.high >= 6e-3 * 1.5  # comfortably around the best points
    assert lr.kept == pytest.approx(0.52, abs=0.01)
    assert refined.nuisance["learning_rate"] == {"low": lr.low, "high": lr.high, "scale": "log"}
    assert len(f"{lr.low:g}") <= len("0.000407")  # three significant digits, rounded outward
    layers = refined.nuisance["layers"]
    assert layers["type"] == "int" and layers["low"] <= 3 and layers["high"] >= 4 and layers["high"] - layers["low"] < 7
    assert refined.nuisance["activation"] == ["relu", "tanh"]  # lists of values are kept whole
    assert refined.best == {"default": 3}


def test_a_tight_cluster_keeps_a_minimum_margin_and_a_range_never_widens() -> None:
    param = RangeParam("x", 0.0, 1.0)
    low, high = refine_range(param, [0.5, 0.5, 0.5])
    assert (low, high) == (pytest.approx(0.4), pytest.approx(0.6))  # 10% of the old width on each side
    assert refine_range(param, [0.05, 0.2]) == (0.0, 0.3)  # clipped at the old bound; the pad is at least 0.1
    ints = RangeParam("n", 1, 4, integer=True)
    assert refine_range(ints, [2, 2, 2]) == (1.0, 3.0)


def test_best_trial_at_an_edge_is_refused_with_the_reason() -> None:
    trials = planted([0.095, 0.08, 0.07])  # the best learning rates crowd the top of the range
    with pytest.raises(RefineRefused) as info:
        refine_space(trials, SPACE, "min", top_k=3, edge_fraction=0.1)
    (reason,) = info.value.reasons
    assert reason.startswith("study 'default': the best trial (0) has learning_rate = 0.095, in the highest 10% of "
                             "its range [0.0001, 0.1] (3 of the top 3 there); widen it (e.g. high: ")
    assert info.value.hits[0].param == "learning_rate"


def test_a_lone_best_trial_at_an_edge_is_weak_evidence_and_the_range_keeps_that_edge() -> None:
    trials = planted([0.095, 3e-3, 1e-3])  # only the best is near the top; the rest get worse toward it
    refined = refine_space(trials, SPACE, "min", top_k=3)
    (weak,) = refined.weak_edges
    assert (weak.param, weak.edge, weak.near) == ("learning_rate", "high", 1)
    lr = next(r for r in refined.ranges if r.param == "learning_rate")
    assert lr.high == 0.1 and lr.low < 1e-3


def test_too_few_completed_trials_are_refused() -> None:
    trials = planted([3e-3]).head(2)
    with pytest.raises(RefineRefused, match="has 2 completed trial\\(s\\), fewer than the 3 best trials"):
        refine_space(trials, SPACE, "min", top_k=3)


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
