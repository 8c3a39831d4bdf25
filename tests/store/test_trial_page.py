"""The paged trial read and the read-only store, on SQLite and PostgreSQL: SQL sorts, filters and
pages; the read-only store reads what the store wrote and refuses to write."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from planted import plant_store, planted_experiment, shaped_outcome
from scitune.store import Store
from scitune.store.readonly import ReadOnlyStore
from scitune.store.schema import notes


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_pages_sort_filter_and_refuse_writes(store_url: str) -> None:
    exp, text = planted_experiment(trials=10)
    writer = Store(store_url)
    plant_store(writer, exp, text, shaped_outcome("clean"))
    writer.close()
    store = ReadOnlyStore(store_url)
    eid = store.experiment("planted").id
    page, total = store.trial_page(eid, limit=4, offset=8)
    assert total == 20 and page["id"].tolist() == [9, 10, 11, 12]
    best, _ = store.trial_page(eid, sort="best_value", limit=20)
    assert best["best_value"].tolist() == sorted(best["best_value"])
    by_lr, _ = store.trial_page(eid, sort="param:learning_rate", descending=True, limit=20)
    lrs = [p["learning_rate"] for p in by_lr["params"]]
    assert lrs == sorted(lrs, reverse=True)
    ranged, n = store.trial_page(eid, study="width=64", ranges={"learning_rate": (1e-3, None)}, limit=20)
    assert n == len(ranged) > 0 and all(p["learning_rate"] >= 1e-3 for p in ranged["params"])
    assert set(ranged["study"]) == {"width=64"}
    assert store.activity(eid)[:2] == (20, 20)
    assert store.trial_row(1)["study"] == "width=64"
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(insert(notes).values(experiment_id=eid, text="x", created_at=0.0))
    store.close()


def _objective_store(path: str) -> tuple[Store, int]:
    """Two studies of 30 trials: objectives with ties and NULLs (failed trials), mixed states."""
    from scitune.store.schema import trials

    store = Store(f"sqlite:///{path}")
    eid = store.ensure_experiment("e", "g", {"x": 1}, "t")
    sids = [store.ensure_study(eid, name, {"w": i}, {}) for i, name in enumerate(("a", "b"))]
    rows = []
    for i in range(60):
        failed = i % 7 == 3
        rows.append({"id": i + 1, "study_id": sids[i % 2], "number": i // 2, "seed": i, "attempts": 1,
                     "params": {"lr": (i * 37 % 11) / 10}, "state": "infeasible" if failed else "completed",
                     "created_at": float(i), "best_value": None if failed else float(i * 13 % 9)})
    with store.engine.begin() as conn:
        conn.execute(insert(trials), rows)
    return store, eid


def test_objective_pages_equal_a_plain_sort_with_ties_by_id_and_missing_last(tmp_path) -> None:
    """The objective sort reads another index on SQLite; every page must still be the page of a
    plain sort: missing objectives last either way, ties by id in the sort's direction."""
    store, eid = _objective_store(str(tmp_path / "s.db"))
    every, _ = store.trial_page(eid, limit=100)
    for study in (None, "b"):
        for states in ((), ("completed",), ("infeasible",)):
            for descending in (False, True):
                rows = every[(every["study"] == study) | (study is None)]
                rows = rows[rows["state"].isin(states)] if states else rows
                rows = rows[rows["params"].map(lambda p: p["lr"] >= 0.3)]
                done = rows[rows["best_value"].notna()].sort_values(
                    ["best_value", "id"], ascending=not descending)
                expected = done["id"].tolist() + rows[rows["best_value"].isna()].sort_values(
                    "id", ascending=not descending)["id"].tolist()
                got = []
                for offset in range(0, 60, 7):
                    page, total = store.trial_page(eid, study=study, states=states, ranges={"lr": (0.3, None)},
                                                   sort="best_value", descending=descending, limit=7, offset=offset)
                    got += page["id"].tolist()
                assert total == len(expected) and got == expected, (study, states, descending)
    store.close()


def test_objective_pages_walk_the_objective_index_without_a_sort(tmp_path) -> None:
    """SQLite without statistics would take the study or state index and sort every trial; the
    page query must instead walk ix_trials_best_value (created on open) with no temporary B-tree."""
    import sqlite3

    from sqlalchemy import event

    from scitune.store.schema import BEST_VALUE_INDEX

    store, eid = _objective_store(str(tmp_path / "s.db"))
    seen: list[tuple[str, tuple]] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    for states in ((), ("completed", "infeasible")):
        for descending in (False, True):
            seen.clear()
            store.trial_page(eid, study="a", states=states, sort="best_value", descending=descending, offset=5)
            statement, params = next((s, p) for s, p in seen if "ORDER BY" in s and "LIMIT" in s)
            with sqlite3.connect(tmp_path / "s.db") as conn:
                plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params))
            assert BEST_VALUE_INDEX in plan and "TEMP B-TREE" not in plan, plan
    store.close()


def _param_store(url: str) -> tuple[Store, int]:
    """Two studies of 30 trials whose "lr" has ties, nulls and is missing from some trials."""
    from scitune.store.schema import trials

    store = Store(url if "://" in url else f"sqlite:///{url}")
    eid = store.ensure_experiment("e", "g", {"x": 1}, "t")
    sids = [store.ensure_study(eid, name, {"w": i}, {}) for i, name in enumerate(("a", "b"))]
    rows = []
    for i in range(60):
        params = {"w": i % 2} if i % 9 == 4 else {"lr": None if i % 11 == 5 else (i * 37 % 7) / 10, "w": i % 2}
        rows.append({"id": i + 1, "study_id": sids[i % 2], "number": i // 2, "seed": i, "attempts": 1,
                     "params": params, "state": "infeasible" if i % 5 == 1 else "completed",
                     "created_at": float(i), "best_value": float(i * 13 % 9)})
    with store.engine.begin() as conn:
        conn.execute(insert(trials), rows)
    return store, eid


# Ranges: none, one, one on a hyperparameter some trials lack, two at once, and an open one (no filter).
_RANGES = ({}, {"lr": (0.2, None)}, {"lr": (0.1, 0.5), "w": (None, 0)}, {"w": (1, 1), "lr": (None, 0.4)},
           {"lr": (None, None)})
_SORTS = ("param:lr", "best_value", "id")


def _pages(store: Store, eid: int, sorts: tuple[str, ...] = _SORTS) -> dict:
    """Every sort, range and direction, each with one of the four study and state filters in turn,
    paged 25 rows at a time through the end (a page crosses from valued to missing trials)."""
    out = {}
    scopes = [(study, states) for study in (None, "b") for states in ((), ("completed",))]
    combos = [(sort, ranges, descending) for sort in sorts for ranges in _RANGES for descending in (False, True)]
    for k, (sort, ranges, descending) in enumerate(combos):
        study, states = scopes[k % len(scopes)]
        got = []
        for offset in range(0, 75, 25):
            page, total = store.trial_page(eid, study=study, states=states, ranges=ranges, sort=sort,
                                           descending=descending, limit=25, offset=offset)
            got += page["id"].tolist()
        out[sort, study, states, tuple(ranges.items()), descending] = (total, got)
    return out


def _expected(every, sort: str, study, states, ranges, descending: bool) -> list[int]:
    """The page order pandas gives: filtered, sorted by the key (missing or null last), ties by id."""
    rows = every[(every["study"] == study) | (study is None)]
    rows = rows[rows["state"].isin(states)] if states else rows
    for name, (low, high) in ranges:
        value = rows["params"].map(lambda p, name=name: p.get(name))
        keep = value.map(lambda v, low=low, high=high: (low is None and high is None) or (
            v is not None and (low is None or v >= low) and (high is None or v <= high)))
        rows = rows[keep]
    key = rows["params"].map(lambda p: p.get(sort[6:])) if sort.startswith("param:") else rows[sort]
    valued = rows.assign(key=key)[key.notna()].sort_values(["key", "id"], ascending=not descending)
    return valued["id"].tolist() + rows[key.isna()].sort_values("id", ascending=not descending)["id"].tolist()


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_pages_from_parameter_rows_equal_the_json_filter_and_sort(store_url: str, monkeypatch) -> None:
    """Both stores page a hyperparameter sort, and count and filter parameter ranges (several at
    once, with a state filter), from their parameter rows; every page (missing and null values last,
    ties by id) must be what pandas gives on the JSON column, and stay so as trials come and go."""
    from scitune.store.schema import PARAM_ROWS

    store, eid = _param_store(store_url)
    every, _ = store.trial_page(eid, limit=100)
    pages = _pages(store, eid)
    for (sort, study, states, ranges, descending), (total, got) in pages.items():
        expected = _expected(every, sort, study, states, ranges, descending)
        assert total == len(expected) and got == expected, (sort, study, states, ranges, descending)
    # Deep pages check ranges against the trials in range read once, not by a probe each: the same pages.
    from scitune.store import reads

    monkeypatch.setattr(reads, "_PROBED_PAGES", 0)
    assert _pages(store, eid, sorts=("param:lr", "best_value")) == {k: v for k, v in pages.items() if k[0] != "id"}
    monkeypatch.undo()
    # The JSON column's own filters and sort (a store without parameter rows) give the same pages.
    with store.engine.begin() as conn:
        rows_before = conn.exec_driver_sql(f"SELECT count(*) FROM {PARAM_ROWS}").scalar()
        conn.exec_driver_sql(f"DROP TABLE {PARAM_ROWS}")
        if store.engine.dialect.name == "postgresql":  # as a store from before them: no triggers either
            for event in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER tr_{PARAM_ROWS}_{event} ON trials")
    assert _pages(store, eid, sorts=("param:lr",)) == {k: v for k, v in pages.items() if k[0] == "param:lr"}
    store.close()
    reopened = Store(store.url)  # an older store: its trials' parameters are copied in on open
    with reopened.engine.begin() as conn:
        refilled = conn.exec_driver_sql(f"SELECT count(*) FROM {PARAM_ROWS}").scalar()
    assert refilled == rows_before == sum(len(p) for p in every["params"])  # one row per (trial, name)
    assert _pages(reopened, eid, sorts=("param:lr",)) == {k: v for k, v in pages.items() if k[0] == "param:lr"}
    reopened.delete_experiment("e")  # its trials' rows go with them
    with reopened.engine.begin() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {PARAM_ROWS}").scalar() == 0
    reopened.close()


def test_hyperparameter_pages_walk_the_parameter_index_without_a_sort(tmp_path) -> None:
    import sqlite3

    from sqlalchemy import event

    store, eid = _param_store(str(tmp_path / "s.db"))
    seen: list[tuple[str, tuple]] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: seen.append((statement, params)))
    for states in ((), ("completed",)):
        for descending in (False, True):
            seen.clear()
            store.trial_page(eid, study="a", states=states, sort="param:lr", descending=descending, limit=5, offset=3)
            statement, params = next((s, p) for s, p in seen if "ORDER BY" in s and "LIMIT" in s)
            with sqlite3.connect(tmp_path / "s.db") as conn:
                plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params))
            assert "ix_trial_params_order" in plan and "TEMP B-TREE" not in plan, plan
    store.close()


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_trial_whose_params_are_not_numbers_is_still_written(store_url: str) -> None:
    """The parameter rows' triggers must never fail a trial's insert or update: text, lists, objects,
    booleans and numbers beyond a float's range are written, and every such trial is on the pages."""
    from scitune.store.schema import trials

    store, eid = _param_store(store_url)
    odd = ["relu", [1, 2], {"a": 1}, True, "1e999", " 2.5 ", "1e99999", 10**400]
    with store.engine.begin() as conn:
        conn.execute(insert(trials), [{"id": 61 + k, "study_id": 1, "number": 99 + k, "seed": 0, "attempts": 0,
                                       "params": {"lr": v}, "state": "pending", "created_at": 0.0}
                                      for k, v in enumerate(odd)])
        conn.execute(trials.update().where(trials.c.id == 61).values(params={"lr": "tanh", "x": [3]}))
    for descending in (False, True):
        page, total = store.trial_page(eid, sort="param:lr", descending=descending, limit=100)
        assert total == 60 + len(odd) and sorted(page["id"]) == list(range(1, 61 + len(odd)))
    _, ranged = store.trial_page(eid, ranges={"lr": (2, 3)})
    assert ranged >= 1  # " 2.5 " reads as a number on both stores
    store.close()


def test_a_trial_whose_params_sqlite_cannot_parse_is_still_written(tmp_path) -> None:
    """The parameter rows' trigger must never fail a trial's insert: JSON that SQLite cannot read
    (NaN) gives no rows, and the trial sorts with the ones missing that hyperparameter."""
    from scitune.store.schema import trials

    store, eid = _param_store(str(tmp_path / "s.db"))
    with store.engine.begin() as conn:
        conn.execute(insert(trials), [{"id": 61, "study_id": 1, "number": 99, "seed": 0, "attempts": 0,
                                       "params": {"lr": float("nan")}, "state": "pending", "created_at": 0.0}])
    page, total = store.trial_page(eid, sort="param:lr", limit=100)
    assert total == 61 and 61 in page["id"].tolist()
    store.close()
