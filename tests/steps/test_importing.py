"""Importing an Optuna study (made here by the real Optuna) and CSV runs into the store."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from helpers import cli
from scitune import Store
from scitune.config import parse_experiment
from scitune.errors import NotFoundError, UsageError
from scitune.steps.importing import import_csv, import_optuna

optuna = pytest.importorskip("optuna")

# Trial numbers that the objective treats specially: what each must become is known.
CRASH, NAN_CURVE, INF_VALUE, PRUNE = 3, 4, 5, 6


def _curve(lr: float, step: int) -> float:
    """A curve that falls to its minimum at step 30 and rises after (so the best step is 30, not 50)."""
    return (math.log10(lr) + 2.0) ** 2 + 0.1 + 0.001 * (step - 30) ** 2


def _make_study(path: Path, name: str = "demo", trials: int = 14, direction: str = "minimize") -> str:
    storage = f"sqlite:///{path / 'optuna.db'}"
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name=name, storage=storage, direction=direction,
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(t: optuna.Trial) -> float:
        lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        t.suggest_float("wd", 0.0, 0.1)
        t.suggest_int("layers", 1, 4)
        t.suggest_categorical("act", ["relu", "tanh"])
        if t.number == CRASH:
            raise RuntimeError("boom")
        value = 0.0
        for step in range(10, 51, 10):
            value = _curve(lr, step)
            if t.number == NAN_CURVE and step == 20:
                value = float("nan")
            t.report(value, step)
            if t.number == PRUNE and step == 20:
                raise optuna.TrialPruned()
        return float("inf") if t.number == INF_VALUE else value

    study.optimize(objective, n_trials=trials, catch=(RuntimeError,))
    return storage


@pytest.fixture(scope="module")
def optuna_study(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One study for the tests that only read it (the real Optuna takes seconds to make one)."""
    return _make_study(tmp_path_factory.mktemp("optuna"))


def _by_optuna_number(db: Store, experiment: str) -> dict[int, dict]:
    trials = db.trials(experiment)
    return {int(r.seed): r._asdict() for r in trials.itertuples()}  # the seed is Optuna's trial number


@pytest.mark.slow
def test_states_curves_and_space(tmp_path: Path, optuna_study: str) -> None:
    db = Store(str(tmp_path / "s.db"))
    result = import_optuna(optuna_study, "demo", db)
    assert result.studies == ["default"]
    assert result.states["completed"] == 10 and result.states["failed"] == 2 and result.states["infeasible"] == 2
    rows = _by_optuna_number(db, "demo")
    assert rows[CRASH]["state"] == "failed" and "Optuna did not record why" in rows[CRASH]["reason"]
    assert rows[NAN_CURVE]["state"] == "infeasible" and "value is nan at step 20" in rows[NAN_CURVE]["reason"]
    assert rows[INF_VALUE]["state"] == "infeasible" and "inf" in rows[INF_VALUE]["reason"]
    assert rows[PRUNE]["state"] == "failed" and rows[PRUNE]["reason"] == "pruned by Optuna at step 20"
    # Intermediate values are the objective's curve; the best step is read over it (30), not the last.
    completed = [r for n, r in rows.items() if r["state"] == "completed"]
    assert all(r["best_step"] == 30 for r in completed)
    for r in completed:
        assert r["best_value"] == pytest.approx(_curve(r["params"]["lr"], 30))
    points = db.metrics([rows[0]["id"]])
    assert sorted(points["step"]) == [10, 20, 30, 40, 50] and set(points["name"]) == {"value"}
    # The pruned trial keeps the curve it had.
    assert sorted(db.metrics([rows[PRUNE]["id"]])["step"]) == [10, 20]
    # The space, from the distributions: a log float, a linear float, an int, a categorical.
    experiment = parse_experiment(db.experiment("demo").config_text, "<stored>")
    lr, wd, layers, act = (experiment.space[p] for p in ("lr", "wd", "layers", "act"))
    assert (lr.scale, lr.low, lr.high) == ("log", 1e-4, 1e-1)
    assert (wd.scale, wd.integer) == ("linear", False)
    assert layers.integer and (layers.low, layers.high) == (1, 4)
    assert list(act.values) == ["relu", "tanh"]
    assert experiment.objective.mode == "min" and experiment.budget.max_train_steps == 50
    assert experiment.budget.eval_every == 10


@pytest.mark.slow
def test_pruned_as_completed(tmp_path: Path, optuna_study: str) -> None:
    db = Store(str(tmp_path / "s.db"))
    import_optuna(optuna_study, "demo", db, pruned="completed", name="demo-pruned")
    rows = _by_optuna_number(db, "demo-pruned")
    assert rows[PRUNE]["state"] == "completed" and rows[PRUNE]["best_step"] == 20


@pytest.mark.slow
def test_scientific_splits_studies_and_reimport_adds_nothing(tmp_path: Path, optuna_study: str) -> None:
    db = Store(str(tmp_path / "s.db"))
    result = import_optuna(optuna_study, "demo", db, scientific=["act"], name="by-act", metric="val_loss")
    assert result.studies == ["act=relu", "act=tanh"]
    trials = db.trials("by-act")
    assert set(trials["study"]) == {"act=relu", "act=tanh"} and len(trials) == 14
    for study, group in trials.groupby("study"):
        assert {p["act"] for p in group["params"]} == {study.split("=")[1]}
        assert sorted(group["trial"]) == list(range(len(group)))
    assert db.experiment("by-act").objective.metric == "val_loss"
    again = import_optuna(optuna_study, "demo", db, scientific=["act"], name="by-act", metric="val_loss")
    assert sum(again.states.values()) == 0 and again.already == 14


@pytest.mark.slow
def test_a_grown_study_imports_only_its_new_trials(tmp_path: Path) -> None:
    storage = _make_study(tmp_path, trials=8)
    db = Store(str(tmp_path / "s.db"))
    import_optuna(storage, "demo", db)
    study = optuna.load_study(study_name="demo", storage=storage)
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True) + t.suggest_float("wd", 0.0, 0.1)
                   + t.suggest_int("layers", 1, 4) + len(t.suggest_categorical("act", ["relu", "tanh"])), n_trials=3)
    result = import_optuna(storage, "demo", db)
    assert result.already == 8 and result.states["completed"] == 3
    assert len(db.trials("demo")) == 11


@pytest.mark.slow
def test_maximize_and_the_command_line(tmp_path: Path) -> None:
    storage = _make_study(tmp_path, name="up", trials=4, direction="maximize")
    result = cli("import", "optuna", "--storage", storage, "--study", "up", "--as", "up-exp",
                 "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 0, result.output
    assert "up-exp: 4 trial(s) imported" in result.output
    assert Store(str(tmp_path / "s.db")).experiment("up-exp").objective.mode == "max"
    shown = cli("status", "up-exp", "--store", str(tmp_path / "s.db"))
    assert shown.exit_code == 0 and "default" in shown.output


@pytest.mark.slow
def test_mistakes_are_one_clear_error_and_write_nothing(tmp_path: Path, optuna_study: str) -> None:
    store = str(tmp_path / "s.db")
    with pytest.raises(NotFoundError, match="no Optuna study named 'nope'"):
        import_optuna(optuna_study, "nope", store)
    with pytest.raises(UsageError, match="--scientific depth: no such parameter"):
        import_optuna(optuna_study, "demo", store, scientific=["depth"])
    with pytest.raises(UsageError, match="not a valid experiment name"):
        import_optuna(optuna_study, "demo", store, name="bad name")
    assert not (tmp_path / "s.db").exists()


@pytest.mark.slow
def test_the_report_reads_an_import(tmp_path: Path, optuna_study: str) -> None:
    from scitune.steps.report import findings

    db = Store(str(tmp_path / "s.db"))
    import_optuna(optuna_study, "demo", db, scientific=["act"])
    assert isinstance(findings(db, "demo"), list)


# -- CSV --------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_csv_one_row_per_run(tmp_path: Path) -> None:
    file = _write(tmp_path / "runs.csv", """\
        run_id,status,params.lr,params.depth,params.opt,metrics.val_error,metrics.train_loss
        a,FINISHED,0.001,2,adam,0.20,0.5
        b,FINISHED,0.01,4,sgd,0.10,0.3
        c,FAILED,0.1,2,adam,,
        d,FINISHED,0.05,4,adam,nan,nan
        e,FINISHED,0.0005,3,sgd,0.15,0.4
        """)
    db = Store(str(tmp_path / "s.db"))
    result = import_csv(file, db, objective="val_error", scientific=["opt"])
    assert result.experiment == "runs" and result.studies == ["opt=adam", "opt=sgd"]
    trials = db.trials("runs")
    states = dict(zip(trials["params"].map(lambda p: p["lr"]), trials["state"]))
    assert states == {0.001: "completed", 0.01: "completed", 0.1: "failed", 0.05: "infeasible", 0.0005: "completed"}
    experiment = parse_experiment(db.experiment("runs").config_text, "<stored>")
    assert experiment.space["lr"].scale == "log" and experiment.space["depth"].integer
    best = trials.set_index(trials["params"].map(lambda p: p["lr"]))
    assert best.loc[0.01, "best_value"] == pytest.approx(0.10) and best.loc[0.01, "best_step"] == 1


def test_csv_one_row_per_run_and_step(tmp_path: Path) -> None:
    file = _write(tmp_path / "curves.csv", """\
        run,step,params.lr,metrics.val_error
        r1,100,0.01,0.5
        r1,200,0.01,0.3
        r1,300,0.01,0.4
        r2,100,0.001,0.6
        r2,200,0.001,0.55
        r2,300,0.001,0.5
        """)
    db = Store(str(tmp_path / "s.db"))
    import_csv(file, db, objective="val_error", name="curves")
    trials = db.trials("curves").set_index(db.trials("curves")["params"].map(lambda p: p["lr"]))
    assert trials.loc[0.01, "best_step"] == 200 and trials.loc[0.01, "best_value"] == pytest.approx(0.3)
    assert trials.loc[0.001, "best_step"] == 300
    experiment = db.experiment("curves")
    assert parse_experiment(experiment.config_text, "<s>").budget.eval_every == 100
    assert len(db.metrics(trials["id"].tolist())) == 6


def test_csv_mistakes_name_the_line(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    no_objective = _write(tmp_path / "a.csv", "run,params.lr,metrics.loss\nx,0.1,0.2\n")
    with pytest.raises(UsageError, match="no column 'metrics.val_error'"):
        import_csv(no_objective, store, objective="val_error")
    changed = _write(tmp_path / "b.csv", "run,step,params.lr,metrics.e\nx,1,0.1,0.2\nx,2,0.2,0.1\n")
    with pytest.raises(UsageError, match=r"b.csv:3: run x: params.lr differs from line 2"):
        import_csv(changed, store, objective="e")
    bad_step = _write(tmp_path / "c.csv", "run,step,params.lr,metrics.e\nx,one,0.1,0.2\n")
    with pytest.raises(UsageError, match=r"c.csv:2: step 'one'"):
        import_csv(bad_step, store, objective="e")
    bad_state = _write(tmp_path / "d.csv", "state,params.lr,metrics.e\nweird,0.1,0.2\n")
    with pytest.raises(UsageError, match=r"d.csv:2: state 'weird'"):
        import_csv(bad_state, store, objective="e")
    assert not (tmp_path / "s.db").exists()


def test_csv_from_the_command_line(tmp_path: Path) -> None:
    file = _write(tmp_path / "runs.csv", """\
        params.lr,metrics.val_error
        0.001,0.3
        0.01,0.2
        """)
    result = cli("import", "csv", str(file), "--objective", "val_error", "--as", "from-csv",
                 "--store", str(tmp_path / "s.db"))
    assert result.exit_code == 0, result.output
    assert "from-csv: 2 trial(s) imported (2 completed)" in result.output


def test_optuna_states_map_without_a_storage() -> None:
    """The mapping of one Optuna trial, on trials made in memory (fast: no storage)."""
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState as S
    from optuna.trial import create_trial

    from scitune.steps.importing import _optuna_trial

    dist = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}

    def make(state, value=None, curve=None, attrs=None):
        frozen = create_trial(state=state, value=value, params={"lr": 0.01}, distributions=dist,
                              intermediate_values=curve or {}, system_attrs=attrs or {})
        return _optuna_trial(frozen, "loss", "failed", final_step=50)

    done = make(S.COMPLETE, 0.3, {10: 0.5, 20: 0.2})
    assert done.state == "completed" and done.points == [(10, "loss", 0.5), (20, "loss", 0.3)]
    assert make(S.COMPLETE, 0.3).points == [(50, "loss", 0.3)]  # no curve: the value at the study's last step
    assert make(S.COMPLETE, float("inf")).state == "infeasible"
    assert make(S.FAIL).state == "failed"
    assert make(S.FAIL, attrs={"fail_reason": "The value nan is not acceptable."}).state == "infeasible"
    assert make(S.FAIL, curve={10: float("nan")}).state == "infeasible"
    pruned = make(S.PRUNED, curve={10: 0.9})
    assert pruned.state == "failed" and pruned.reason == "pruned by Optuna at step 10"
    assert make(S.RUNNING) is None


def test_a_source_whose_trials_changed_order_is_refused(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    file = _write(tmp_path / "runs.csv", "params.lr,metrics.e\n0.001,0.3\n0.01,0.2\n")
    import_csv(file, store, objective="e")
    _write(tmp_path / "runs.csv", "params.lr,metrics.e\n0.01,0.2\n0.001,0.3\n")
    with pytest.raises(UsageError, match="the source's trials changed order"):
        import_csv(file, store, objective="e")
