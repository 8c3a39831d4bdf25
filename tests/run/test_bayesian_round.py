"""The Bayesian round: Optuna proposes, scitune's store and runner keep everything else."""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import run_cli
from scitune import Store, load_experiment, run_experiment
from scitune.analysis.infeasible import SamplerVerdict
from scitune.config import parse_experiment
from scitune.errors import ConfigError, ScituneError
from scitune.run import prepare
from scitune.run.proposer import BayesProposer
from scitune.search.bayes import BayesSearch, Observation, require_optuna
from scitune.search.quasi_random import QuasiRandomSearch

pytest.importorskip("optuna")

# Optimum at learning_rate = 10**-1.6, y = 0.3, just below a region that diverges (lr > 0.1, the top
# quarter of the log range), as the best learning rate often sits just below the unstable ones.
SYNTH = '''
import math, time

def train(hp, trial):
    x, y = math.log10(hp["learning_rate"]), hp["y"]
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp.get("step_seconds", 0.0))
        if hp.get("crash_above") is not None and x > hp["crash_above"]:
            raise RuntimeError("diverged into an exception")
        if trial.should_eval(step):
            value = float("nan") if x > -1.0 else (x + 1.6) ** 2 + (y - 0.3) ** 2 + 0.01 / step
            trial.report(step, val_error=value)
'''


def synth_yaml(name: str, search: str, trials: int, fixed: str = "{}", lr_low: str = "1.0e-4") -> str:
    return textwrap.dedent(
        f"""\
        experiment: {name}
        goal: Find the synthetic optimum next to a divergent region.
        train: synth:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: 2, eval_every: 1}}
        search: {search}
        hyperparameters:
          nuisance:
            learning_rate: {{low: {lr_low}, high: 1.0, scale: log}}
            y: {{low: 0.0, high: 1.0}}
          fixed: {fixed}
        """
    )


@pytest.fixture
def synth(workdir: Path) -> Path:
    (workdir / "synth.py").write_text(SYNTH)
    return workdir


def _load(folder: Path, text: str):
    """Write an experiment file named after its experiment and load it: (experiment, its text)."""
    path = folder / f"{parse_experiment(text).name}.yaml"
    path.write_text(text)
    return load_experiment(path)


def _prepare(folder: Path, text: str, db: Store):
    """Record an experiment (and its studies) without running it: (experiment, its id)."""
    experiment, config = _load(folder, text)
    return experiment, prepare(db, experiment, config)


def _run(folder: Path, text: str, workers: int = 1, store: str = "s.db"):
    experiment, config = _load(folder, text)
    path = folder / f"{experiment.name}.yaml"
    db = Store(str(folder / store))
    summary = run_experiment(experiment, db, config_text=config, config_path=path, workers=workers)
    return db, summary


@pytest.mark.slow
def test_bayesian_study_finds_the_optimum_and_avoids_the_divergent_region(synth: Path) -> None:
    budget, startup = 20, 6
    db, summary = _run(synth, synth_yaml("bo", f"{{algorithm: bayesian, seed: 0, startup_trials: {startup}}}", budget))
    _run(synth, synth_yaml("qr", "{algorithm: quasi_random, seed: 0}", budget))
    assert summary.states["completed"] + summary.states["infeasible"] == budget
    bo, qr = db.trials("bo"), db.trials("qr")
    assert sorted(bo["trial"]) == list(range(budget))

    def divergent(frame) -> list[bool]:
        return [math.log10(p["learning_rate"]) > -1.0 for p in frame["params"]]

    # The start-up points are the quasi-random ones; after them the GP, told that NaN trials violate
    # the constraint, rarely goes back into the divergent region while quasi-random keeps sampling it.
    assert [p for p in bo.sort_values("trial")["params"][:startup]] == [p for p in qr["params"][:startup]]
    modelled = bo[bo["trial"] >= startup]
    bo_share = sum(divergent(modelled)) / len(modelled)
    qr_share = sum(divergent(qr)) / len(qr)
    print(f"divergent proposals: bayesian {bo_share:.0%} of {len(modelled)}, quasi-random {qr_share:.0%} of {len(qr)}")
    assert qr_share >= 0.15 and bo_share < qr_share / 2
    assert (bo["state"] == "infeasible").sum() < (qr["state"] == "infeasible").sum()
    assert set(bo.loc[divergent(bo), "state"]) <= {"infeasible"}  # recorded as such, reason and all
    # It reaches the optimum's neighbourhood, closer than quasi-random gets with the same budget.
    best = bo.loc[bo["best_value"].idxmin()]
    assert abs(math.log10(best["params"]["learning_rate"]) + 1.6) < 0.2 and abs(best["params"]["y"] - 0.3) < 0.1
    assert best["best_value"] < 0.02 < qr["best_value"].min()


@pytest.mark.slow
def test_parallel_workers_get_distinct_points_and_the_budget_exactly(synth: Path) -> None:
    text = synth_yaml("par", "{algorithm: bayesian, sampler: tpe, seed: 1, startup_trials: 3}", 12,
                      fixed="{step_seconds: 0.05}")
    db, summary = _run(synth, text, workers=3)
    trials = db.trials("par")
    assert sorted(trials["trial"]) == list(range(12)) and summary.states["pending"] == summary.states["running"] == 0
    points = {(p["learning_rate"], p["y"]) for p in trials["params"]}
    assert len(points) == 12
    assert trials["host"].notna().all() and (trials["attempts"] == 1).all()
    # Another run of the same experiment finds its budget spent and proposes nothing more.
    db2, again = _run(synth, text, workers=2)
    assert len(db2.trials("par")) == 12 and again.states["completed"] + again.states["infeasible"] == 12


def test_a_proposal_that_lost_the_race_is_not_stored(synth: Path) -> None:
    text = synth_yaml("race", "{algorithm: bayesian, sampler: tpe, startup_trials: 1}", 4)
    db = Store(str(synth / "s.db"))
    experiment, experiment_id = _prepare(synth, text, db)
    study = db.studies(experiment_id)[0]
    first = db.add_running_trial(study.id, study.name, 0, {"learning_rate": 0.01, "y": 0.5}, 7, "a:1", "h")
    assert first is not None and first.number == 0 and first.attempt == 1
    assert db.add_running_trial(study.id, study.name, 0, {"learning_rate": 0.02, "y": 0.5}, 7, "b:2", "h") is None
    # The proposer aims at the next free number, and sees trial 0 as running (not as a free spot).
    proposer = BayesProposer(experiment)
    assert proposer.remaining(db, experiment_id) == 3
    claimed = proposer.propose(db, experiment_id, "b:2", "h")
    assert claimed is not None and claimed.number == 1
    observations, finished = proposer.observations(db, study, db.trials("race"))
    assert [o.verdict for o in observations] == [SamplerVerdict.UNKNOWN, SamplerVerdict.UNKNOWN] and finished == 0
    assert claimed.params != first.params


def test_a_failing_sampler_falls_back_to_the_quasi_random_point(synth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Store(str(synth / "s.db"))
    text = synth_yaml("fb", "{algorithm: bayesian, sampler: tpe, startup_trials: 1}", 3)
    experiment, experiment_id = _prepare(synth, text, db)
    proposer = BayesProposer(experiment)
    first = proposer.propose(db, experiment_id, "me:1", "h")  # nothing finished yet: quasi-random
    db.finish(first.id, "me:1", "completed", best=(2, 0.5))

    def boom(*_args: object, **_kwargs: object) -> dict:
        raise ValueError("boom")

    monkeypatch.setattr(BayesSearch, "propose", boom)
    with pytest.warns(RuntimeWarning, match=r"fb/default trial 1: the tpe sampler failed \(ValueError: boom\)"):
        second = proposer.propose(db, experiment_id, "me:1", "h")
    assert second is not None and second.params == QuasiRandomSearch(experiment.space, 0).points(1, 1)[0]


def test_warm_start_uses_exactly_the_explorations_finished_trials(synth: Path) -> None:
    # The exploration: every kind of ending, planted through the store as a runner would record it.
    explore = synth_yaml("explore", "{algorithm: quasi_random, seed: 3}", 8)
    db = Store(str(synth / "s.db"))
    _, explore_id = _prepare(synth, explore, db)
    endings = [("completed", 0.30, None), ("completed", 0.20, None), ("infeasible", None, "val_error is nan"),
               ("failed", None, "RuntimeError: boom"), ("failed", None, "timeout: killed after 5 s"),
               ("completed", 0.25, None), None, ("interrupted", None, "the runner was stopped")]
    for state in endings:
        claimed = db.claim(explore_id, "me:1", "h")
        if state is not None:
            db.finish(claimed.id, "me:1", state[0], best=(2, state[1]) if state[1] is not None else None,
                      reason=state[2])
    source = db.trials("explore").sort_values("trial")
    assert source["state"].tolist() == ["completed", "completed", "infeasible", "failed", "failed", "completed",
                                        "running", "interrupted"]
    finished_ids = source.loc[source["state"].isin(["completed", "infeasible", "failed"]), "id"].tolist()

    bo_text = synth_yaml("bo-warm", "{algorithm: bayesian, sampler: tpe, warm_start: explore}", 4)
    bo, bo_id = _prepare(synth, bo_text, db)
    study = db.studies(bo_id)[0]
    warm = study.search["warm_start"]
    assert warm == {"experiment": "explore", "study": "default", "trial_ids": sorted(finished_ids), "outside_space": 0}
    observations, finished = BayesProposer(bo).observations(db, study, db.trials("bo-warm"))
    by_id = dict(zip(source["id"], source["params"]))
    expected = [
        Observation({k: by_id[i][k] for k in ("learning_rate", "y")}, verdict, value)
        for i, (verdict, value) in zip([finished_ids[n] for n in (0, 1, 2, 3, 5)],
                                       [(SamplerVerdict.FEASIBLE, 0.30), (SamplerVerdict.FEASIBLE, 0.20), (SamplerVerdict.VIOLATED, None), (SamplerVerdict.VIOLATED, None),
                                        (SamplerVerdict.FEASIBLE, 0.25)])
    ]  # the timed-out failure (trial 4) says nothing about its point; trials 6 and 7 are not finished
    assert observations == expected and finished == 5

    # A refined (narrower) space leaves out the exploration's trials outside it, and says how many.
    narrow = synth_yaml("bo-narrow", "{algorithm: bayesian, sampler: tpe, warm_start: explore/default}", 4,
                        lr_low="0.05")
    inside = [i for i in finished_ids if by_id[i]["learning_rate"] >= 0.05]
    warm2 = db.studies(_prepare(synth, narrow, db)[1])[0].search["warm_start"]
    assert warm2["trial_ids"] == sorted(inside) and warm2["outside_space"] == len(finished_ids) - len(inside)


def test_warm_start_refusals_leave_the_store_untouched(synth: Path) -> None:
    db = Store(str(synth / "s.db"))
    _run(synth, synth_yaml("explore", "{algorithm: quasi_random}", 2))
    for search, fixed, words in [
        ("{algorithm: bayesian, warm_start: nowhere}", "{}", "no experiment named 'nowhere'"),
        ("{algorithm: bayesian, warm_start: explore/width=3}", "{}", "has no study 'width=3'"),
        ("{algorithm: bayesian, warm_start: explore}", "{step_seconds: 0.0}", "has other fixed values"),
    ]:
        text = synth_yaml("bo-bad", search, 2, fixed=fixed)
        with pytest.raises(ConfigError, match=words):
            _prepare(synth, text, db)
        assert [e.name for e in db.experiments()] == ["explore"]


def test_search_settings_are_validated(synth: Path) -> None:
    def error(search: str) -> str:
        with pytest.raises(ConfigError) as info:
            parse_experiment(synth_yaml("v", search, 2), "v.yaml")
        return str(info.value)

    assert "search.sampler: only for algorithm: bayesian" in error("{algorithm: quasi_random, sampler: gp}")
    assert "search.warm_start: only for algorithm: bayesian" in error("{warm_start: explore}")
    assert "search.sampler: Input should be 'gp' or 'tpe'" in error("{algorithm: bayesian, sampler: cma}")
    assert "is not EXPERIMENT or EXPERIMENT/STUDY" in error("{algorithm: bayesian, warm_start: '/x'}")
    assert "search.infeasible_sigma" in error("{algorithm: bayesian, infeasible_sigma: -1}")
    # Files without the new keys keep their stored definition.
    assert parse_experiment(synth_yaml("v", "{seed: 2}", 2)).canonical()["search"] == {"algorithm": "quasi_random",
                                                                                        "seed": 2}


@pytest.mark.slow
def test_missing_optuna_is_one_clear_line(synth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ScituneError) as info:
        require_optuna("tpe")
    assert "needs Optuna" in info.value.message and info.value.hint == "pip install 'scitune[bayes]'"
    # The command line, on a Python where importing optuna fails: one line, exit 2, nothing stored.
    fake = synth / "no-optuna" / "optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'optuna'\")\n")
    (synth / "bo.yaml").write_text(synth_yaml("bo", "{algorithm: bayesian}", 2))
    ran = run_cli("run", "bo.yaml", "--store", "s.db", cwd=synth, env={"PYTHONPATH": str(fake.parent)})
    assert ran.returncode == 2
    assert ran.stderr.strip() == ("error: search: algorithm: bayesian needs Optuna, which is not installed "
                                  "(hint: pip install 'scitune[bayes]')")
    assert Store(str(synth / "s.db")).experiments() == []
