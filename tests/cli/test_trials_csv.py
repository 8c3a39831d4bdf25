"""``scitune trials --format csv`` is written from plain columns, without pandas (issue 18 goal 2);
its bytes are those the frame pipeline wrote before (``DataFrame.to_csv(index=False)`` of the
trial table) for every option combination, on a store planted with every kind of cell: text,
lists, bools, ints in float columns, big ints, absent conditional parameters, NaN and None cells,
unicode, commas, quotes and newlines in reasons, and a retrained trial's rerun columns."""

from __future__ import annotations

import functools
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import postgres_database, run_cli
from planted import planted_experiment
from scitune.analysis.ranking import ranked
from scitune.analysis.summary import RERUN_COLUMNS
from scitune.analysis.table import kind_of
from scitune.cli import app
from scitune.cli._app import write_csv
from scitune.errors import UsageError
from scitune.states import STATES
from scitune.steps import retrain
from scitune.steps.results import trial_plain_rows, trial_rows
from scitune.store import Store

NAME = "cells"

# Per study, each trial's parameters (a key left out: an absent conditional parameter), state,
# best point and reason.
_TEXT = ["adam", "sgd", "größe, \"quoted\"", "line\nbreak", ""]
_REASONS = [None, "RuntimeError: a, b and \"c\"", "ünïcode ✓ reason", "two\nlines, one comma", "", None]


def _params(number: int, study: int, nonfinite: bool = True) -> dict:
    p = {
        "learning_rate": 10 ** -(1 + number % 4) * (1 + study),  # floats
        "layers": 1 + number % 3,  # ints, every trial
        "heads": 2 ** (number % 4),  # ints, absent in some trials: a float column
        "optimizer": _TEXT[number % len(_TEXT)],  # text, absent in some
        "shape": [number, number + 0.5] if number % 2 else [number],  # lists
        "nesterov": number % 2 == 0,  # bools, every trial
        "amsgrad": number % 3 == 0,  # bools, absent in some: a mixed column
        "seed_big": 2**63 + number,  # beyond int64: uint64
        "huge": 2**70 + number,  # beyond uint64: a mixed column
        "mixed": number if number % 2 else f"n{number}",  # ints and text
        "ratio": float("nan") if number == 3 else float("inf") if number == 4 else number / 7,  # NaN and inf
        **({} if nonfinite else {"ratio": None if number == 3 else number / 7}),  # (JSON on PostgreSQL: neither)
    }
    if number % 4 == 1:
        del p["heads"], p["optimizer"], p["amsgrad"]
    if number == 2:
        p["momentum"] = 0.9  # a parameter only one trial has
    return p


_STATES = ["completed", "completed", "failed", "infeasible", "completed", "completed", "completed", "completed",
           "completed", "running", "completed", "pending", "pending"]  # the last ones never claimed
_CLAIMED = _STATES.index("pending")


def _plant(path: Path | str, nonfinite: bool = True) -> None:
    store = Store(str(path))
    experiment, text = planted_experiment(NAME, trials=len(_STATES))
    eid = store.ensure_experiment(NAME, experiment.goal, experiment.canonical(), text, "cells.yaml")
    for s, spec in enumerate(experiment.studies()):
        sid = store.ensure_study(eid, spec.name, spec.scientific, {"algorithm": "quasi_random"})
        store.ensure_trials(sid, [(n, {**_params(n, s, nonfinite), **spec.scientific}, n) for n in range(len(_STATES))])
    for _ in range(_CLAIMED * 2):  # trial 0 of both studies, then trial 1, ...
        claimed = store.claim(eid, "planter", "host")
        state = _STATES[claimed.number]
        if state == "running":
            continue
        value = 0.5 - (claimed.number if claimed.number != 7 else 4) / 100  # trial 7 ties with trial 4
        best = (10 * (claimed.number + 1), value) if state == "completed" else None
        rows = [(10, "val_error", value if best else float("inf"))]
        reason = _REASONS[claimed.number % len(_REASONS)] if state != "completed" or claimed.number % 5 == 0 else None
        store.finish(claimed.id, "planter", state, rows, best, reason)
    # Trial 0 of width=64 retrained: its reruns' mean, sd and interval; trial 1, once (no sd).
    search = store.trials(NAME)
    for number, values in ((0, [0.51, 0.49, 0.5]), (1, [0.47])):
        parent = search[(search["study"] == "width=64") & (search["trial"] == number)].iloc[0]
        sid = store.ensure_study(eid, f"retrain-{number}", {}, {}, kind="retrain", parent_trial_id=int(parent["id"]))
        store.ensure_trials(sid, [(i, parent["params"], 100 + i) for i in range(len(values))])
        for value in values:
            claimed = store.claim(eid, "planter", "host", study_ids=[sid])
            store.finish(claimed.id, "planter", "completed", [(10, "val_error", value)], (10, value))
    # A second experiment, never retrained.
    experiment, text = planted_experiment("plain", trials=2)
    eid = store.ensure_experiment("plain", experiment.goal, experiment.canonical(), text, "plain.yaml")
    for spec in experiment.studies():
        sid = store.ensure_study(eid, spec.name, spec.scientific, {"algorithm": "quasi_random"})
        store.ensure_trials(sid, [(n, {"learning_rate": 0.1 / (n + 1), **spec.scientific}, n) for n in range(2)])
    while (claimed := store.claim(eid, "planter", "host")) is not None:
        store.finish(claimed.id, "planter", "completed", [(10, "val_error", 0.3)], (10, 0.3))
    store.close()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trials_csv") / "cells.db"
    _plant(path)
    return path


@pytest.fixture
def variances_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retrained trials' variances read once per test, not once per option combination (the
    planted store does not change): most of a combination's time otherwise."""
    monkeypatch.setattr(retrain, "retrain_variances", functools.cache(retrain.retrain_variances))


def _pandas_table(store: Store, experiment: str, study=None, *, states=None, sort=None, top=None,
                  columns=None) -> pd.DataFrame:
    """The trial table as the frame pipeline built it before the plain table (main at 2aaec77:
    steps.results.trial_rows over analysis.summary.trial_table): the oracle."""
    frame = store.trials(experiment, study)
    if states:
        frame = frame[frame["state"].isin(list(states))]
    params = frame["params"].tolist() if len(frame) else []
    names = list(dict.fromkeys(name for p in params for name in p))
    table = pd.DataFrame({"study": frame["study"].tolist(), "trial": frame["trial"].astype(int).tolist(),
                          "state": frame["state"].tolist(), "reason": frame["reason"].tolist()})
    for name in names:
        table[name] = [p.get(name) for p in params]
    table["best_objective"] = pd.to_numeric(frame["best_value"], errors="coerce").tolist()
    table["best_step"] = pd.array(pd.to_numeric(frame["best_step"], errors="coerce"), dtype="Int64")
    duration = pd.to_numeric(frame["finished_at"], errors="coerce") - pd.to_numeric(frame["started_at"], errors="coerce")
    table["duration_s"] = duration.round(3).tolist()
    ids = frame["id"].tolist()
    table["id"] = pd.array(ids, dtype="Int64")
    variances = retrain.retrain_variances(store, experiment)
    found = [variances.get(i) for i in ids]
    table["reruns"] = pd.array([v.n if v else 0 for v in found], dtype="Int64")
    for column, field in RERUN_COLUMNS.items():
        table[column] = [getattr(v, field) if v else None for v in found]
        table[column] = table[column].astype(float)
    sort = sort or ("best" if top is not None else None)
    if sort == "best":
        order = ranked(frame, store.experiment(experiment).objective.mode)["id"].tolist()
        rank = {trial_id: i for i, trial_id in enumerate(order)}
        table = table.iloc[table["id"].map(lambda i: rank.get(i, len(rank))).argsort(kind="stable")]
    elif sort:
        table = table.sort_values(sort.lstrip("-"), ascending=not sort.startswith("-"), kind="stable",
                                  na_position="last")
    if top is not None:
        table = table.head(top)
    if columns:
        table = table[list(columns)]
    return table.reset_index(drop=True)


def _plain_csv(store: Store, *args, **options) -> str:
    out = io.StringIO()
    write_csv(trial_plain_rows(store, NAME, *args, **options), out)
    return out.getvalue()


SORTS = [None, "best", "-best_objective", "best_objective", "trial", "-trial", "study", "-state", "reason",
         "-reason", "learning_rate", "-layers", "heads", "-heads", "optimizer", "-optimizer", "shape", "-nesterov",
         "amsgrad", "seed_big", "-huge", "ratio", "-ratio", "momentum", "duration_s", "-best_step", "-id",
         "-reruns", "rerun_mean", "-rerun_std"]
COLUMNS = [None, ["study", "trial", "reason", "best_objective"], ["id", "optimizer", "id", "heads", "rerun_ci_low"]]


def test_the_store_plants_every_kind_of_column(planted: Path) -> None:
    table = trial_plain_rows(Store(str(planted)), NAME)
    kinds = dict(zip(table.names, table.kinds))
    assert {kinds[c] for c in ("learning_rate", "layers", "heads", "optimizer", "shape", "nesterov", "amsgrad",
                               "seed_big", "huge", "mixed", "ratio", "momentum")} == {
        "float", "int", "uint", "text", "object", "bool"}
    assert kinds["heads"] == "float" and kinds["seed_big"] == "uint" and kinds["huge"] == "object"
    assert set(table.column("state")) == {"completed", "failed", "infeasible", "pending", "running"}
    assert max(table.column("reruns")) == 3


STATE_FILTERS = [None, ["completed"], ["failed", "infeasible"], ["pending", "running"]]


def _options() -> list[dict]:
    """Every sort with every state filter; every column choice and --top with every state filter
    and a few sorts."""
    combos = [dict(states=states, sort=sort, top=None, columns=None)
              for states, sort in itertools.product(STATE_FILTERS, SORTS)]
    combos += [dict(states=states, sort=sort, top=top, columns=columns)
               for states, sort, top, columns in itertools.product(
                   STATE_FILTERS, [None, "best", "-heads", "optimizer"], [None, 1, 4], COLUMNS[1:])]
    return combos


@pytest.mark.parametrize("study", [None, "width=256"])
@pytest.mark.usefixtures("variances_once")
def test_csv_is_the_frames_to_csv_for_every_option(planted: Path, study: str | None) -> None:
    store = Store(str(planted))
    for options in _options():
        try:
            expected = _pandas_table(store, NAME, study, **options)
        except KeyError:  # no trial of these states has the sorted parameter
            with pytest.raises(UsageError):
                trial_plain_rows(store, NAME, study, **options)
            continue
        assert _plain_csv(store, study, **options) == expected.to_csv(index=False), options
        # The frame (JSON and the terminal table) is the one the pipeline built: same dtypes, same
        # csv. A column without a single value may differ (object, not float64: the pipeline's
        # reasons of pending trials were NaN where the study's other trials had one, else None).
        frame = trial_rows(store, NAME, study, **options)
        assert list(frame.columns) == list(expected.columns)
        dtypes = [(a, b) for a, b, empty in zip(frame.dtypes.astype(str), expected.dtypes.astype(str),
                                                expected.isna().all()) if not empty]
        assert all(a == b for a, b in dtypes), (options, dtypes)
        assert frame.to_csv(index=False) == expected.to_csv(index=False), options


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.usefixtures("variances_once")
def test_csv_on_postgresql_is_the_frames_to_csv() -> None:
    url, drop = postgres_database()
    try:
        _plant(url, nonfinite=False)  # PostgreSQL's driver decodes the parameters' JSON itself
        store = Store(url)
        for options in _options()[::3]:
            try:
                expected = _pandas_table(store, NAME, None, **options)
            except KeyError:
                continue
            assert _plain_csv(store, None, **options) == expected.to_csv(index=False), options
        store.close()
    finally:
        drop()


def test_the_command_writes_the_same_bytes_and_json_stays(planted: Path) -> None:
    store = Store(str(planted))
    for args, options in (
            ([], {}),
            (["--state", "completed,failed", "--sort", "-heads", "--top", "5"],
             dict(states=["completed", "failed"], sort="-heads", top=5)),
            (["--study", "width=64", "--columns", "trial,reason,rerun_mean"],
             dict(columns=["trial", "reason", "rerun_mean"])),
            (["--top", "3"], dict(top=3))):
        study = "width=64" if "--study" in args else None
        result = CliRunner().invoke(app, ["trials", NAME, "--store", str(planted), "--format", "csv", *args])
        assert result.exit_code == 0, result.output
        expected = _pandas_table(store, NAME, study, **options)
        assert result.stdout == expected.to_csv(index=False)
        shown = CliRunner().invoke(app, ["trials", NAME, "--store", str(planted), "--format", "json", *args])
        records = expected.astype(object).where(expected.notna(), None).to_dict(orient="records")
        assert json.loads(shown.stdout) == json.loads(json.dumps(records, default=lambda v: v.item()))


def test_the_csv_command_imports_neither_pandas_nor_numpy(planted: Path) -> None:
    code = ("import sys; from scitune.cli import main; sys.argv = ['scitune', 'trials', 'plain', '--store', "
            f"{str(planted)!r}, '--format', 'csv', '--sort', 'best']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('pandas', 'numpy') if m in sys.modules], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"  # (an experiment with retrained trials reads them with pandas)
    assert done.stdout.splitlines()[0].startswith("study,trial,state,reason,")


def test_mistakes_are_usage_errors(planted: Path) -> None:
    store = Store(str(planted))
    for bad in (dict(sort="nope"), dict(columns=["nope"]), dict(states=["broke"]), dict(top=0), dict(sort="mixed"),
                dict(sort="-mixed")):
        with pytest.raises(UsageError):
            trial_plain_rows(store, NAME, **bad)
    assert set(STATES) >= set(trial_plain_rows(store, NAME).column("state"))
    # On the command line: one line naming the option, exit 2 (numbers and text cannot be ordered).
    done = run_cli("trials", NAME, "--store", str(planted), "--format", "csv", "--sort", "mixed", cwd=planted.parent)
    assert done.returncode == 2, done.stderr
    assert "--sort 'mixed'" in done.stderr and "Traceback" not in done.stderr and not done.stdout


def test_a_column_has_the_kind_pandas_gives_it() -> None:
    values = {"none": None, "true": True, "false": False, "int": 3, "negative": -2, "2**63": 2**63,
              "2**64": 2**64, "below int64": -(2**63) - 1, "float": 0.5, "nan": float("nan"),
              "inf": float("inf"), "text": "a", "empty": "", "list": [1, 2], "object": {"a": 1}}
    dtypes = {"float64": "float", "int64": "int", "uint64": "uint", "bool": "bool", "object": "object",
              str(pd.Series(["x"]).dtype): "text"}
    for size in (1, 2, 3):
        for combo in itertools.product(values.values(), repeat=size):
            frame = pd.DataFrame({"x": range(size)})
            frame["column"] = list(combo)
            assert kind_of(list(combo)) == dtypes[str(frame["column"].dtype)], combo
