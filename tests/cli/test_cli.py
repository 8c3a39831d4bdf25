"""The command line end to end on a tiny experiment, and the trial handle's contract."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import run_cli
from planted import experiment_yaml
from scitune.config import Objective
from scitune.errors import TrialInfeasible
from scitune.run.trial import Trial


@pytest.mark.slow
def test_run_status_and_trials(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("smoke", trials=3))
    ran = run_cli("run", "exp.yaml", "--workers", "2", cwd=workdir)
    assert ran.returncode == 0, ran.stderr
    assert "smoke: Does width change" in ran.stdout and "6/6" in ran.stdout
    assert (workdir / "scitune.db").exists()  # the default store, in the current folder

    status = run_cli("status", cwd=workdir)
    assert status.returncode == 0, status.stderr
    for text in ("width=8", "width=16", "best val_error (min)"):
        assert text in status.stdout

    csv = run_cli("trials", "smoke", "--format", "csv", cwd=workdir)
    table = pd.read_csv(io.StringIO(csv.stdout))
    assert list(table.columns) == [
        "study", "trial", "state", "reason", "behaviour", "width", "learning_rate", "best_objective", "best_step",
        "duration_s", "id", "reruns", "rerun_mean", "rerun_std", "rerun_ci_low", "rerun_ci_high",
    ]
    assert len(table) == 6 and set(table["state"]) == {"completed"} and set(table["best_step"]) == {8}
    assert (table["duration_s"] > 0).all()

    as_json = json.loads(run_cli("trials", "smoke", "--study", "width=16", "--format", "json", cwd=workdir).stdout)
    assert [r["study"] for r in as_json] == ["width=16"] * 3
    assert as_json[0]["learning_rate"] == table[table["study"] == "width=16"].iloc[0]["learning_rate"]

    shown = run_cli("trials", "smoke", cwd=workdir)
    assert shown.returncode == 0 and "learning_rate" in shown.stdout

    again = run_cli("run", "exp.yaml", cwd=workdir)  # nothing left to do, nothing re-run
    assert again.returncode == 0 and "6 of 6 trials already finished" in again.stdout


@pytest.mark.slow
def test_store_flag_and_environment(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("where", trials=1))
    assert run_cli("run", "exp.yaml", "--store", "other.db", cwd=workdir).returncode == 0
    assert (workdir / "other.db").exists() and not (workdir / "scitune.db").exists()
    via_env = run_cli("status", "where", cwd=workdir, env={"SCITUNE_STORE": str(workdir / "other.db")})
    assert via_env.returncode == 0 and "width=8" in via_env.stdout


@pytest.mark.slow
def test_user_mistakes_are_one_line_and_exit_2(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("mistakes", trials=1))
    run_cli("run", "exp.yaml", cwd=workdir)
    for args, words in [
        (("status", "nope"), "no experiment named 'nope'"),
        (("trials", "mistakes", "--study", "width=3"), "has no study 'width=3'"),
        (("run", "missing.yaml"), "missing.yaml: no such experiment file"),
    ]:
        result = run_cli(*args, cwd=workdir)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_help_is_useful() -> None:
    top = run_cli("--help", cwd=Path.cwd())
    assert top.returncode == 0 and all(cmd in top.stdout for cmd in ("run", "status", "trials"))
    sub = run_cli("trials", "--help", cwd=Path.cwd())
    assert "--format" in sub.stdout and "--study" in sub.stdout and "--store" in sub.stdout


def _trial(**kw) -> Trial:
    args = dict(study="s", number=0, params={}, seed=7, max_train_steps=10, eval_every=4, objective=Objective(metric="acc", mode="max"))
    return Trial(**{**args, **kw})


def test_should_eval_every_n_steps_and_at_the_last() -> None:
    trial = _trial()
    assert [s for s in range(1, 11) if trial.should_eval(s)] == [4, 8, 10]


def test_best_step_follows_the_objective_mode() -> None:
    trial = _trial()
    for step, acc in [(4, 0.5), (8, 0.9), (10, 0.7)]:
        trial.report(step, acc=acc, train_loss=1.0)
    assert trial.best == (8, 0.9)


@pytest.mark.parametrize("metrics, reason", [
    ({"acc": float("nan")}, "acc is nan at step 4"),
    ({"acc": 0.5, "train_loss": float("inf")}, "train_loss is inf at step 4"),
])
def test_non_finite_objective_or_loss_is_infeasible(metrics: dict, reason: str) -> None:
    trial = _trial()
    with pytest.raises(TrialInfeasible, match=reason):
        trial.report(4, **metrics)
    assert trial.infeasible_reason == reason


def test_non_finite_other_metric_is_recorded_not_fatal() -> None:
    trial = _trial()
    trial.report(4, acc=0.5, grad_norm=float("inf"))
    assert trial.infeasible_reason is None and trial.best == (4, 0.5)


@pytest.mark.parametrize("step, metrics, error", [
    (2.5, {"acc": 1.0}, "integer step"),
    (-1, {"acc": 1.0}, "must not be negative"),
    (3, {}, "at least one metric"),
    (3, {"acc": "high"}, "metric 'acc' must be a number"),
])
def test_report_rejects_bad_input(step, metrics: dict, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        _trial().report(step, **metrics)
