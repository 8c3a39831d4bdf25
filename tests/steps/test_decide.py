"""Retrain, compare, launch and the experiment log, end to end through the real runner, on a trainer
whose truth is planted: objective = the variant's effect + seed noise of a known size."""

from __future__ import annotations

import io
import random
import shutil
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from helpers import postgres_database, run_cli
from scitune import Store, load_experiment, parse_experiment, run_experiment
from scitune.analysis import best_per_study, study_summary
from scitune.analysis.compare import ADOPT, NOT_ENOUGH, WORSE
from scitune.cli import main
from scitune.errors import NotFoundError
from scitune.search import rerun_seeds
from scitune.steps.decide import compare_trials, incumbent, launch
from scitune.steps.log import add_note, experiment_log
from scitune.steps.naming import resolve_side, resolve_trial
from scitune.steps.retrain import retrain

SIGMA = 0.01
STEPS = 4
EFFECT = {"same": 0.0, "better": -0.06, "worse": 0.06}  # six noise widths either way

NOISY = f'''
"""Planted truth: the final val_error is 1 + the variant's effect + Gaussian seed noise."""
import random

EFFECT = {EFFECT!r}

def train(hp, trial):
    noise = random.Random(trial.seed).gauss(0.0, hp["sigma"])
    bonus = hp.get("rerun_bonus", 0.0) if trial.study.endswith("/retrain") else 0.0
    final = 1.0 + EFFECT[hp["variant"]] + noise - bonus
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=final + 0.5 / step)
'''


def planted_value(variant: str, seed: int) -> float:
    """What NOISY reports at its best (last) step for a trial of ``variant`` with ``seed``."""
    return 1.0 + EFFECT[variant] + random.Random(seed).gauss(0.0, SIGMA) + 0.5 / STEPS


def experiment_text(name: str, variants: str, trials: int, bonus: float = 0.0) -> str:
    return textwrap.dedent(f"""\
        experiment: {name}
        goal: Does the variant lower the validation error?
        train: noisy:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {STEPS}, eval_every: 2}}
        hyperparameters:
          scientific: {{variant: {variants}}}
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
          fixed: {{sigma: {SIGMA}, rerun_bonus: {bonus}}}
        """)


def _run(folder: Path, db: Store, file: str, text: str) -> None:
    (folder / file).write_text(text)
    experiment, config = load_experiment(folder / file)
    run_experiment(experiment, db, config_text=config, config_path=folder / file, workers=2)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    """One store: experiment `planted` (variants same, better, worse; 3 trials each) with the best
    trial of every study and a second trial of `same` retrained 5 times; experiment `bonus` whose
    reruns report a far better objective than any search trial."""
    folder = tmp_path_factory.mktemp("planted")
    (folder / "noisy.py").write_text(NOISY)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        mp.chdir(folder)
        mp.delenv("SCITUNE_STORE", raising=False)
        db = Store(str(folder / "s.db"))
        _run(folder, db, "exp.yaml", experiment_text("planted", "[same, better, worse]", 3))
        _run(folder, db, "bonus.yaml", experiment_text("bonus", "[same]", 2, bonus=10.0))
        before = {name: db.trials(name) for name in ("planted", "bonus")}
        best = {v: resolve_trial(db, "planted", f"variant={v}") for v in EFFECT}
        other = next(n for n in range(3) if n != best["same"].number)
        results = {v: retrain(db, "planted", f"variant={v}", 5, workers=2) for v in EFFECT}
        results["other"] = retrain(db, "planted", f"variant=same/{other}", 5, workers=2)
        bonus = retrain(db, "bonus", "variant=same/0", 3)
        yield SimpleNamespace(folder=folder, db=db, before=before, best=best, other=other, results=results,
                              bonus=bonus)
        db.close()


@pytest.mark.slow
def test_reruns_use_new_seeds_and_measure_the_planted_noise(planted) -> None:
    for variant, trial in planted.best.items():
        result = planted.results[variant]
        assert result.run.states["completed"] == 5
        reruns = planted.db.trials("planted", kind="retrain")
        mine = reruns[reruns["parent_trial_id"] == trial.id].sort_values("trial")
        seeds = mine["seed"].tolist()
        assert seeds == rerun_seeds(trial.seed, 5) and trial.seed not in seeds and len(set(seeds)) == 5
        assert list(mine["study"].unique()) == [f"{trial.study}/{trial.number}/retrain"]
        assert all(p == trial.params for p in mine["params"])  # the same configuration, only the seed differs
        v = result.variance
        assert v.values == pytest.approx([planted_value(variant, s) for s in seeds])
        assert v.original == pytest.approx(planted_value(variant, trial.seed))
        assert 0.3 * SIGMA < v.std < 2.5 * SIGMA and v.ci_low < v.mean < v.ci_high
        assert v.mean == pytest.approx(1.0 + EFFECT[variant] + 0.5 / STEPS, abs=3 * SIGMA)


def test_planted_improvement_is_adopted_regression_is_worse_and_a_null_change_is_not_adopted(planted) -> None:
    db, best = planted.db, planted.best
    assert compare_trials(db, best["same"], best["better"]).comparison.verdict == ADOPT
    assert compare_trials(db, best["same"], best["worse"]).comparison.verdict == WORSE
    # Two trials of one study: the same truth, different seeds (the search chose one for its luck).
    null = compare_trials(db, best["same"], resolve_trial(db, "planted", f"variant=same/{planted.other}"))
    assert null.comparison.verdict == NOT_ENOUGH and null.comparison.accounts_for_variance
    # Without reruns the comparison says it cannot account for trial variance, and what to run.
    unretrained = next(n for n in range(3) if n != best["better"].number)
    lone = compare_trials(db, best["same"], resolve_trial(db, "planted", f"variant=better/{unretrained}"))
    assert "cannot fully account for trial variance" in lone.comparison.assumption
    assert lone.suggestions() == [f"scitune retrain planted --trial variant=better/{unretrained} --seeds 5"]


def test_reruns_never_change_the_study_results(planted) -> None:
    db = planted.db
    assert planted.bonus.variance.mean < -8  # the reruns are far better than any search trial ...
    for name, before in planted.before.items():
        after = db.trials(name)  # ... yet the search results read the same
        pd.testing.assert_frame_equal(study_summary(after, "min"), study_summary(before, "min"))
        empty = pd.DataFrame(columns=["trial_id", "step", "path"])
        pd.testing.assert_frame_equal(best_per_study(after, empty, "min"), best_per_study(before, empty, "min"))
        exp_id = db.experiment(name).id
        assert db.progress(exp_id, "min")["best"] == pytest.approx(before["best_value"].min())
        assert len(after) == len(before)


def test_retrain_is_idempotent_and_adds_seeds_up_to_the_total(planted) -> None:
    db = planted.db
    first = db.trials("bonus", kind="retrain").set_index("trial")
    again = retrain(db, "bonus", "variant=same/0", 3)
    assert again.plan.finished == 3 and again.run.states["completed"] == 3
    grown = retrain(db, "bonus", "variant=same/0", 5)
    after = db.trials("bonus", kind="retrain").set_index("trial")
    assert len(after) == 5 and grown.variance.n == 5
    for number, row in first.iterrows():  # the first three were not run again, and kept their seeds
        assert after.loc[number, "finished_at"] == row["finished_at"] and after.loc[number, "seed"] == row["seed"]


def test_naming_trials(planted) -> None:
    db, best = planted.db, planted.best
    same = best["same"]
    assert resolve_trial(db, "planted", same.name).id == same.id
    assert resolve_trial(db, "planted", str(same.id)).id == same.id
    assert resolve_trial(db, "planted", "best").id == best["better"].id
    assert resolve_side(db, "planted").id == best["better"].id
    assert resolve_side(db, f"planted/{same.name}").id == resolve_side(db, str(same.id)).id == same.id
    rerun_id = int(db.trials("planted", kind="retrain")["id"].iloc[0])
    bonus_id = int(db.trials("bonus")["id"].iloc[0])
    for ref, words in [("variant=nope/1", "has no study 'variant=nope'"), ("variant=same/9", "has no trial 9"),
                       ("width", "no trial or study 'width'"), (str(rerun_id), "is a rerun of"),
                       (str(bonus_id), "belongs to experiment 'bonus'"), ("99999", "no trial with id 99999")]:
        with pytest.raises(NotFoundError, match=words):
            resolve_trial(db, "planted", ref)


@pytest.mark.slow
def test_command_line_compare_launch_incumbent_log_and_a_moved_store(
    planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    store = tmp_path / "work" / "s.db"
    store.parent.mkdir()
    shutil.copy(planted.folder / "s.db", store)  # this test's own copy: launches and notes go here
    monkeypatch.chdir(tmp_path)  # never from the experiment's folder
    better, same = planted.best["better"], planted.best["same"]

    def cli(*args: str) -> SimpleNamespace:
        """The real command line (its error handling included), in this process."""
        monkeypatch.setattr(sys, "argv", ["scitune", *args, "--store", str(store)])
        with pytest.raises(SystemExit) as ended:
            main()
        captured = capsys.readouterr()
        return SimpleNamespace(returncode=ended.value.code or 0, stdout=captured.out, stderr=captured.err)

    status = cli("status", "planted")
    assert status.returncode == 0 and "retrain variance" in status.stdout
    table = pd.read_csv(io.StringIO(cli("trials", "planted", "--format", "csv").stdout))
    row = table[table["id"] == better.id].iloc[0]
    assert row["reruns"] == 5 and row["rerun_mean"] == pytest.approx(planted.results["better"].variance.mean)

    compared = cli("compare", "planted/variant=same", "planted/variant=better")
    assert compared.returncode == 0 and "verdict: adopt" in compared.stdout
    wrong = cli("compare", "planted/variant=same", "planted/width=3")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: ") and len(wrong.stderr.splitlines()) == 1

    assert cli("launch", "planted", "--trial", "variant=same", "--note", "the baseline").returncode == 0
    refused = cli("launch", "planted", "--trial", "variant=worse", "--note", "no")
    assert refused.returncode == 1 and "does not beat" in refused.stderr and "worse" in refused.stderr
    launched = cli("launch", "planted", "--trial", "variant=better", "--note", "better variant, no extra cost")
    assert launched.returncode == 0 and "verdict: adopt" in launched.stdout
    history = pd.read_csv(io.StringIO(cli("launches", "--format", "csv").stdout))
    assert history["verdict"].tolist() == ["first incumbent", "adopt"]
    assert history["trial_id"].tolist() == [same.id, better.id] and history["gain_low"].iloc[1] > 0

    fixed = yaml.safe_load(cli("incumbent", "--format", "yaml").stdout)["hyperparameters"]["fixed"]
    assert fixed == better.params
    # ready to become the fixed values of the next experiment: tune the learning rate again
    fixed.pop("learning_rate")
    fixed.pop("variant")
    nxt = yaml.safe_load(experiment_text("next", "[better]", 2))
    nxt["hyperparameters"]["fixed"] = fixed
    assert parse_experiment(yaml.safe_dump(nxt)).fixed == fixed

    assert cli("note", "planted", "first round: seed noise 0.01 planted").returncode == 0
    assert cli("note", "planted", "--study", "variant=better", "adopted").returncode == 0
    log_csv = cli("log", "--format", "csv").stdout
    log = pd.read_csv(io.StringIO(log_csv))
    mine = log[log["experiment"] == "planted"].set_index("study")
    assert list(mine.index) == ["variant=same", "variant=better", "variant=worse"]  # no rerun rows
    assert (mine["completed"] == 3).all() and mine["config_path"].iloc[0] == str(planted.folder / "exp.yaml")
    assert mine["config_text"].iloc[0] == (planted.folder / "exp.yaml").read_text()
    assert "adopted" in mine.loc["variant=better", "notes"] and "adopted" not in mine.loc["variant=same", "notes"]
    assert "seed noise 0.01" in mine.loc["variant=same", "notes"]
    assert "launch 2" in mine.loc["variant=better", "launched"] and "(n=5)" in mine.loc["variant=better", "retrained"]
    assert mine.loc["variant=better", "best_trial_id"] == better.id
    assert mine.loc["variant=same", "reproduce"] == f"scitune run {planted.folder / 'exp.yaml'}"

    # Retraining from another folder finds the training code through the stored config path.
    more = cli("retrain", "bonus", "--trial", "variant=same/1", "--seeds", "2")
    assert more.returncode == 0, more.stderr
    reruns = Store(str(store)).trials("bonus", kind="retrain")
    assert (reruns[reruns["study"] == "variant=same/1/retrain"]["state"] == "completed").sum() == 2

    # The store file alone carries the log: copied elsewhere, read by a new process in another folder.
    log_csv = cli("log", "--format", "csv").stdout
    moved = tmp_path / "elsewhere" / "copy.db"
    moved.parent.mkdir()
    shutil.copy(store, moved)
    copied = run_cli("log", "--format", "csv", "--store", str(moved), cwd=moved.parent)
    assert copied.returncode == 0 and copied.stdout == log_csv


@pytest.mark.slow
@pytest.mark.postgres
def test_decisions_on_postgres(workdir: Path) -> None:
    """Retrain, compare, launch, notes and the log on a PostgreSQL store (skipped without a server)."""
    url, drop = postgres_database()
    (workdir / "noisy.py").write_text(NOISY)
    db = Store(url)
    try:
        _run(workdir, db, "exp.yaml", experiment_text("pgdecide", "[same, better]", 2))
        for variant in ("same", "better"):
            assert retrain(db, "pgdecide", f"variant={variant}", 3).variance.n == 3
        evidence = compare_trials(db, resolve_side(db, "pgdecide/variant=same"), resolve_side(db, "pgdecide/variant=better"))
        assert evidence.comparison.verdict == ADOPT
        launch(db, "pgdecide", "variant=same", "baseline")
        done = launch(db, "pgdecide", "variant=better", "better")
        assert done.evidence["verdict"] == ADOPT and incumbent(db).trial_id == done.trial_id
        add_note(db, "pgdecide", "on postgres")
        log = experiment_log(db, "pgdecide")
        assert log["notes"].str.contains("on postgres").all() and log["retrained"].notna().all()
    finally:
        db.close()
        drop()
