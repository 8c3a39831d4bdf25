"""The store: round trips, claiming, schema versions, refusing what it cannot read."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, update

from scitune.errors import (
    ExperimentChangedError,
    NotFoundError,
    SchemaVersionError,
    StoreError,
)
from scitune.store import SCHEMA_VERSION, Store, resolve_url
from scitune.store.schema import meta


def _store_with_trials(url: str, n: int = 4) -> tuple[Store, int, int]:
    store = Store(url)
    exp = store.ensure_experiment("e", "a goal", {"budget": {"trials_per_study": n}, "x": 1}, "experiment: e\n")
    study = store.ensure_study(exp, "width=8", {"width": 8}, {"algorithm": "quasi_random", "seed": 0})
    store.ensure_trials(study, [(i, {"learning_rate": 10.0 ** -i, "width": 8}, 100 + i) for i in range(n)])
    return store, exp, study


def test_round_trip_of_trials_and_points(store_url: str) -> None:
    store, exp, _ = _store_with_trials(store_url)
    claimed = store.claim(exp, "h:t:1:2", "h")
    assert claimed is not None and claimed.number == 0 and claimed.params == {"learning_rate": 1.0, "width": 8}
    assert claimed.seed == 100 and claimed.attempt == 1
    store.write_metrics(claimed.id, [(1, "val_error", 0.5), (1, "train_loss", float("nan"))], best=(1, 0.5), owner="h:t:1:2")
    assert store.finish(claimed.id, "h:t:1:2", "completed", [(2, "val_error", 0.25), (2, "train_loss", math.inf)], best=(2, 0.25))

    reopened = Store(store_url)
    trials = reopened.trials("e")
    row = trials[trials["trial"] == 0].iloc[0]
    assert row["state"] == "completed" and row["best_step"] == 2 and row["best_value"] == 0.25
    assert row["host"] == "h" and row["started_at"] <= row["finished_at"]
    points = reopened.metrics([claimed.id])
    values = {(r.name, r.step): r.value for r in points.itertuples()}
    assert values[("val_error", 1)] == 0.5 and values[("val_error", 2)] == 0.25
    assert math.isnan(values[("train_loss", 1)]) and values[("train_loss", 2)] == math.inf
    assert reopened.experiment("e").config_text == "experiment: e\n"


def test_claims_hand_out_each_trial_once(store_url: str) -> None:
    store, exp, _ = _store_with_trials(store_url, n=5)
    other = Store(store_url)
    got = []
    for i in range(6):
        claimed = (store if i % 2 else other).claim(exp, f"h:t:1:{i}", "h")
        got.append(None if claimed is None else claimed.number)
    assert got == [0, 1, 2, 3, 4, None]


def test_finish_refuses_a_trial_that_is_no_longer_yours(store_url: str) -> None:
    store, exp, _ = _store_with_trials(store_url, n=1)
    claimed = store.claim(exp, "h:t:1:2", "h")
    assert store.reap_lost(exp, lambda owner, hb: True) == 1  # declared lost ...
    again = store.claim(exp, "h:t:9:9", "h")  # ... and taken by another runner
    assert again is not None and again.id == claimed.id and again.attempt == 2
    assert not store.finish(claimed.id, "h:t:1:2", "completed", [(1, "val_error", 0.1)], best=(1, 0.1))
    assert store.metrics([claimed.id]).empty  # the stale worker's late points were not written


def test_releasing_one_worker_leaves_a_worker_whose_pid_it_prefixes(store_url: str) -> None:
    store, exp, _ = _store_with_trials(store_url, n=2)
    dead = store.claim(exp, "h:t:1:123", "h")
    alive = store.claim(exp, "h:t:1:1234", "h")  # pid 123 is a prefix of pid 1234
    assert store.release("h:t:1:123", "failed", "worker died", exact=True) == 1
    states = store.trials("e").set_index("id")["state"]
    assert states[dead.id] == "failed" and states[alive.id] == "running"
    assert store.release("h:t:1:", "interrupted", "stopped") == 1  # the runner's own prefix: the rest


def test_a_step_reported_twice_in_one_batch_keeps_its_last_value(store_url: str) -> None:
    """PostgreSQL writes a batch as one statement, which cannot update a row twice: the batch is
    reduced to the last value of each step first, as the row-by-row insert keeps it on SQLite."""
    store, exp, _ = _store_with_trials(store_url, n=1)
    claimed = store.claim(exp, "h:t:1:2", "h")
    store.write_metrics(claimed.id, [(1, "val_error", 0.9), (1, "val_error", 0.7), (2, "loss", float("nan"))],
                        owner="h:t:1:2")
    assert store.finish(claimed.id, "h:t:1:2", "completed", [(2, "loss", float("nan")), (2, "loss", 0.3),
                                                             (1, "val_error", 0.6)], best=(1, 0.6))
    values = {(r.name, r.step): r.value for r in store.metrics([claimed.id]).itertuples()}
    assert values == {("val_error", 1): 0.6, ("loss", 2): 0.3}
    assert not store.finish(claimed.id, "h:t:1:2", "completed", [(3, "loss", 0.1)])  # finished already
    assert len(store.metrics([claimed.id])) == 2  # ... and its points untouched


def test_each_per_trial_call_is_one_statement_on_postgresql(store_url: str) -> None:
    """Claim, a batch of points and finish are one statement each on PostgreSQL, sent without
    BEGIN/COMMIT or a pool ping: one round trip each (they were five)."""
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite runs in-process: round trips cost nothing there")
    from sqlalchemy import event

    store, exp, _ = _store_with_trials(store_url, n=2)
    sent: list[str] = []
    autocommit: list[bool] = []  # no BEGIN/COMMIT: psycopg sends each statement as it is

    def seen(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)
        autocommit.append(conn.connection.dbapi_connection.autocommit)

    event.listen(store.engine, "before_cursor_execute", seen)
    claimed = store.claim(exp, "h:t:1:2", "h")
    store.write_metrics(claimed.id, [(s, "val_error", 1 / s) for s in range(1, 30)], best=(29, 1 / 29), owner="h:t:1:2")
    assert store.finish(claimed.id, "h:t:1:2", "completed", [(30, "val_error", 0.01)], best=(30, 0.01))
    assert len(sent) == 3 and autocommit == [True] * 3, sent
    assert not store.engine.pool._pre_ping  # nor a ping before each
    assert len(store.metrics([claimed.id])) == 30


def test_rerun_of_an_interrupted_trial_starts_its_curve_afresh(store_url: str) -> None:
    store, exp, _ = _store_with_trials(store_url, n=1)
    claimed = store.claim(exp, "h:t:1:2", "h")
    store.write_metrics(claimed.id, [(1, "val_error", 0.9), (2, "val_error", 0.8)], owner="h:t:1:2")
    store.finish(claimed.id, "h:t:1:2", "interrupted", reason="stopped")
    again = store.claim(exp, "h:t:1:3", "h")
    assert again.id == claimed.id
    assert store.metrics([claimed.id]).empty


def test_changed_experiment_is_refused_but_a_larger_budget_is_not(store_url: str) -> None:
    store, _, _ = _store_with_trials(store_url)
    store.ensure_experiment("e", "a goal", {"budget": {"trials_per_study": 9}, "x": 1}, "text")
    with pytest.raises(ExperimentChangedError, match=r"changed: x"):
        store.ensure_experiment("e", "a goal", {"budget": {"trials_per_study": 9}, "x": 2}, "text")


def test_unknown_names_are_clear_errors(store_url: str) -> None:
    store, _, _ = _store_with_trials(store_url)
    with pytest.raises(NotFoundError, match="no experiment named 'nope'") as err:
        store.trials("nope")
    assert "known experiments: e" in err.value.hint
    with pytest.raises(NotFoundError, match="has no study 'width=99'"):
        store.trials("e", study="width=99")


@pytest.mark.parametrize("version, words", [(SCHEMA_VERSION + 1, "newer"), (0, "older")])
def test_schema_version_mismatch(store_url: str, version: int, words: str) -> None:
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(version)))
    store.close()
    with pytest.raises(SchemaVersionError, match=f"schema version {version}, {words}"):
        Store(store_url)


def test_a_new_store_gets_tables_added_since(store_url: str) -> None:
    """Tables added within a schema version (an additive upgrade) are created when an older
    store of that version is opened."""
    Store(store_url).close()
    with Store(store_url).engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE checkpoints")
    store = Store(store_url)
    assert "checkpoints" in inspect(store.engine).get_table_names()


def test_files_that_are_not_scitune_stores(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        Store(str(junk))
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="not a scitune store"):
        Store(str(foreign))
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "missing" / "s.db"))


def test_store_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCITUNE_STORE", raising=False)
    assert resolve_url(None) == "sqlite:///scitune.db"
    assert resolve_url("runs.db") == f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("SCITUNE_STORE", "postgresql://u@localhost/db")
    assert resolve_url(None) == "postgresql://u@localhost/db"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"


def test_metric_points_are_batched_not_one_transaction_each(store_url: str) -> None:
    """A trial reporting 300 points writes them in a handful of transactions."""
    from scitune.config import Objective
    from scitune.run.trial import Trial

    store, exp, _ = _store_with_trials(store_url, n=1)
    claimed = store.claim(exp, "h:t:1:2", "h")
    calls = []

    def flush(rows, best):
        calls.append(len(rows))
        store.write_metrics(claimed.id, rows, best, "h:t:1:2")

    trial = Trial(study="s", number=0, params={}, seed=0, max_train_steps=100, eval_every=1,
                  objective=Objective(metric="val_error"), flush=flush, flush_points=120, flush_seconds=3600)
    for step in range(1, 101):
        trial.report(step, train_loss=1.0 / step, val_loss=2.0 / step, val_error=3.0 / step)
    store.finish(claimed.id, "h:t:1:2", "completed", trial.take_buffer(), trial.best)
    assert calls == [120, 120]  # two batches during training, the last 60 points with the final state
    assert len(store.metrics([claimed.id])) == 300
    assert trial.best == (100, pytest.approx(0.03))


def test_an_older_store_gets_the_claim_index_and_claims_in_order(store_url: str) -> None:
    """The claim index was added within schema version 1: a store written without it gets it when
    opened, and claiming still takes trial 0 of every study, then trial 1, ..."""
    store, exp, _ = _store_with_trials(store_url, n=3)
    other = store.ensure_study(exp, "width=16", {"width": 16}, {"algorithm": "quasi_random", "seed": 0})
    store.ensure_trials(other, [(i, {"width": 16}, 100 + i) for i in range(3)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_trials_claimable")
    store.close()
    store = Store(store_url)
    assert "ix_trials_claimable" in {ix["name"] for ix in inspect(store.engine).get_indexes("trials")}
    got = [(c.study, c.number) for c in iter(lambda: store.claim(exp, "h:t:1:2", "h"), None)]
    assert got == [(s, n) for n in range(3) for s in ("width=8", "width=16")]


def test_claiming_reads_the_claim_index_instead_of_sorting_pending_trials(tmp_path: Path) -> None:
    """The next-trial query walks ix_trials_claimable in order and stops at its first row: no
    temporary B-tree sorting every pending trial (a claim would cost time proportional to them)."""
    from scitune.store import sql

    _store, _, _ = _store_with_trials(str(tmp_path / "s.db"), n=50)
    query = sql.NEXT_TRIAL.format(scope="s.kind = 'search'", indexed=sql.CLAIM_INDEX_HINT)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + query, {"experiment_id": 1}))
    assert "ix_trials_claimable" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("mode", ["min", "max"])
def test_summary_from_counts_and_best_candidates_equals_the_summary_of_every_trial(store_url: str, mode: str) -> None:
    """status counts states and narrows to best candidates in the database; the result must be the
    same table as study_summary over every trial: ties by number, infinities and NaN never best."""
    from scitune.analysis.summary import study_summary

    store = Store(store_url)
    exp = store.ensure_experiment("e", "g", {"x": 1}, "t")
    values = {"a": [0.5, math.inf, 0.25, 0.25, float("nan"), -math.inf, 0.75, None],
              "b": [0.3, 0.3, 0.9, None, 0.1, 0.2, None, None]}
    states = ["completed", "completed", "completed", "completed", "completed", "completed", "failed", "pending"]
    for name, vals in values.items():
        sid = store.ensure_study(exp, name, {}, {})
        store.ensure_trials(sid, [(i, {"lr": i}, i) for i in range(len(vals))])
    for name, vals in values.items():
        for number, (value, state) in enumerate(zip(vals, states)):
            if state == "pending":
                continue
            claimed = store.claim(exp, "h:t:1:2", "h", study_ids=[s.id for s in store.studies(exp) if s.name == name])
            assert claimed.number == number
            store.finish(claimed.id, "h:t:1:2", state, [], None if value is None else (number + 1, value))
    names = ["a", "b", "empty"]
    store.ensure_study(exp, "empty", {}, {})
    every = study_summary(store.trials("e"), mode, names)
    narrowed = study_summary(store.best_candidates("e", mode), mode, names, store.state_counts(exp))
    pd.testing.assert_frame_equal(every, narrowed)
    assert every["best_trial"].tolist()[:2] == ([2, 4] if mode == "min" else [0, 2])  # a tie goes to trial 2
    assert len(store.best_candidates("e", mode)) <= 4
    # The same from plain rows (``scitune status`` reads these, without pandas).
    from scitune.analysis.summary import SUMMARY_COLUMNS, study_summary_rows

    rows = store.best_candidate_rows("e", mode)
    assert rows == store.best_candidates("e", mode).to_dict("records")
    assert store.state_count_rows(exp) == list(store.state_counts(exp).itertuples(index=False, name=None))
    plain = study_summary_rows(rows, mode, names, store.state_count_rows(exp))
    pd.testing.assert_frame_equal(pd.DataFrame(plain, columns=SUMMARY_COLUMNS), every)


def test_an_experiment_its_studies_and_trials_are_planned_in_one_transaction(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(store_url)
    planned = [(f"width={w}", {"width": w}, {"algorithm": "quasi_random"}, [(0, {"width": w}, 1), (1, {"width": w}, 2)])
               for w in (8, 16)]
    calls = []
    real = Store._ensure_trials

    def fails_on_the_second_study(conn, study_id, points):
        calls.append(study_id)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(conn, study_id, points)

    monkeypatch.setattr(Store, "_ensure_trials", staticmethod(fails_on_the_second_study))
    with pytest.raises(RuntimeError):
        store.plan("e", "a goal", {"x": 1}, "experiment: e\n", planned)
    assert store.experiments() == []  # nothing of it: no experiment row, no study, no trial
    monkeypatch.setattr(Store, "_ensure_trials", staticmethod(real))
    exp = store.plan("e", "a goal", {"x": 1}, "experiment: e\n", planned)
    assert store.plan("e", "a goal", {"x": 1}, "experiment: e\n", planned) == exp  # idempotent
    assert len(store.trials("e")) == 4


def test_metrics_read_in_chunks_equal_one_read(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store.metrics reads through the driver in chunks of ids and of rows: the same frame (order
    by trial, name, step; NaN and infinities kept) whatever the chunk sizes."""
    import scitune.store.reads as reads

    store, exp, _ = _store_with_trials(store_url, n=7)
    ids = []
    for i in range(7):
        claimed = store.claim(exp, "h:t:1:2", "h")
        ids.append(claimed.id)
        rows = [(s, name, float(s * (i + 1))) for s in (3, 1, 2) for name in ("val_error", "loss")]
        rows.append((4, "loss", float("nan") if i % 2 else math.inf))
        store.finish(claimed.id, "h:t:1:2", "completed", rows, (1, 0.1))
    whole = store.metrics(ids[::-1])
    assert len(whole) == 7 * 7 and whole["trial_id"].is_monotonic_increasing
    assert whole[whole["trial_id"] == ids[0]]["step"].tolist() == [1, 2, 3, 4, 1, 2, 3]
    assert whole["value"].dtype == float and whole["value"].isna().sum() == 3
    assert whole["name"].dtype == pd.Series(["x"]).dtype  # pandas' own text dtype, built from codes
    assert whole[whole["trial_id"] == ids[0]]["name"].tolist() == ["loss"] * 4 + ["val_error"] * 3
    monkeypatch.setattr(reads, "_IDS_PER_QUERY", 2)
    monkeypatch.setattr(reads, "_ROWS_PER_CHUNK", 5)
    pd.testing.assert_frame_equal(store.metrics(ids), whole)
    assert store.metrics([]).empty and list(store.metrics([]).columns) == ["trial_id", "name", "step", "value"]
