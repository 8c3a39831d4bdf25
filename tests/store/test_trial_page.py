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
