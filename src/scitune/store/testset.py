"""The test-set table: final evaluations of chosen trials, kept apart from everything that ranks trials.

The playbook looks at the test set once, after the Bayesian round has chosen a configuration. A
test result therefore lives in its own table, which no search, ranking or report reads: nothing
can select on it by accident. Part of the store's schema version 1 (an added table appears when an
existing store is opened).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, Table, Text, insert, select

from scitune.store.schema import metadata

test_results = Table(
    "test_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trial_id", Integer, ForeignKey("trials.id"), nullable=False),
    Column("step", Integer, nullable=False),  # the step of the checkpoint evaluated
    Column("checkpoint", Text, nullable=False),
    Column("function", Text, nullable=False),  # module:function that evaluated it
    Column("metrics", JSON, nullable=False),  # {name: value}; NaN and infinities stored as null
    Column("command", Text),
    Column("created_at", Float, nullable=False),
)


def record_test_result(
    store: Any, trial_id: int, step: int, checkpoint: str, function: str, metrics: Mapping[str, float],
    command: str | None = None,
) -> int:
    """Store one test evaluation; returns its id."""
    values = {k: (float(v) if math.isfinite(float(v)) else None) for k, v in metrics.items()}
    with store._write() as conn:
        result = conn.execute(insert(test_results).values(
            trial_id=trial_id, step=step, checkpoint=checkpoint, function=function, metrics=values,
            command=command, created_at=time.time(),
        ))
        return int(result.inserted_primary_key[0])


def read_test_results(store: Any, trial_ids: Sequence[int]) -> pd.DataFrame:
    """Every test evaluation of the given trials, oldest first."""
    with store._read() as conn:
        rows = conn.execute(
            select(test_results).where(test_results.c.trial_id.in_([int(i) for i in trial_ids]))
            .order_by(test_results.c.id)
        ).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in test_results.columns])
