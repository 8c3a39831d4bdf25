"""Hand-written SQL for the per-trial hot path: claiming, reporting, finishing.

SQLAlchemy Core builds and caches a statement per call; for the few statements that run for every
trial and every batch of points that costs more than the database work itself (about 0.3 ms a
statement). These are plain SQL that SQLite and PostgreSQL both accept, written with ``:name``
placeholders and handed straight to the driver, converted to its parameter style once.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, Sequence

from sqlalchemy import Connection
from sqlalchemy.engine import CursorResult

from scitune.states import CLAIMABLE, TrialState

_CLAIMABLE = ", ".join(f"'{state.value}'" for state in CLAIMABLE)

# {indexed}: SQLite's "INDEXED BY ix_trials_claimable" (without statistics its planner would pick the
# state index and sort every pending trial); empty on PostgreSQL, whose planner finds the index.
_NEXT_FROM = """
FROM trials t {indexed} JOIN studies s ON s.id = t.study_id
WHERE s.experiment_id = :experiment_id AND t.state IN (%(claimable)s) AND {scope}
ORDER BY t.number, t.study_id
LIMIT 1
""" % {"claimable": _CLAIMABLE}

NEXT_TRIAL = "SELECT t.id, t.study_id, s.name, t.number, t.params, t.seed, t.attempts, t.directory" + _NEXT_FROM

TAKE_TRIAL = """
UPDATE trials SET state = '%(running)s', owner = :owner, host = :host, started_at = :now, heartbeat_at = :now,
    finished_at = NULL, reason = NULL, traceback = NULL, best_step = NULL, best_value = NULL,
    attempts = :attempts
WHERE id = :id AND state IN (%(claimable)s)
""" % {"running": TrialState.RUNNING.value, "claimable": _CLAIMABLE}

FINISH_TRIAL = """
UPDATE trials SET state = :state, reason = :reason, traceback = :traceback, finished_at = :now,
    best_step = :best_step, best_value = :best_value, owner = :new_owner
WHERE id = :id AND owner = :owner AND state = '%(running)s'
""" % {"running": TrialState.RUNNING.value}

# {best} is ", best_step = :best_step, best_value = :best_value" or empty; {mine} "AND owner = :owner" or empty.
PROGRESS_TRIAL = """
UPDATE trials SET heartbeat_at = :now {best}
WHERE id = :id {mine}
"""

CLAIM_INDEX_HINT = "INDEXED BY ix_trials_claimable"

# PostgreSQL: each per-trial call is ONE statement, sent in autocommit (it is its own transaction),
# so one round trip instead of five (pool ping, BEGIN, select, update, COMMIT). A trial's points
# travel as three arrays unnested by the server: one statement whatever the batch's size, where an
# executemany sends a statement per point. (SQLite, in-process, keeps the statements above.)

# Find and take the next trial in one statement; the row lock of the subquery (SKIP LOCKED) keeps
# concurrent claimers off each other's trial. RETURNING gives the attempt number after the update.
PG_CLAIM = ("""
UPDATE trials SET state = '%(running)s', owner = :owner, host = :host, started_at = :now, heartbeat_at = :now,
    finished_at = NULL, reason = NULL, traceback = NULL, best_step = NULL, best_value = NULL,
    attempts = trials.attempts + 1
FROM studies st
WHERE st.id = trials.study_id AND trials.state IN (%(claimable)s) AND trials.id = (SELECT t.id""" % {
    "running": TrialState.RUNNING.value, "claimable": _CLAIMABLE}) + _NEXT_FROM.replace("{indexed}", "") + """
    FOR UPDATE OF t SKIP LOCKED)
RETURNING trials.id, trials.study_id, st.name, trials.number, trials.params, trials.seed, trials.attempts,
    trials.directory
"""

_PG_POINTS = """SELECT CAST({trial} AS integer), u.name, u.step, u.value
FROM {source}unnest(CAST(:names AS text[]), CAST(:steps AS integer[]), CAST(:vals AS double precision[]))
    AS u(name, step, value)
ON CONFLICT (trial_id, name, step) DO UPDATE SET value = excluded.value"""

# The heartbeat (and best so far) with the batch of points; {best} and {mine} as in PROGRESS_TRIAL.
# The points are written whoever owns the trial, as the two statements above do.
PG_PROGRESS_WITH_POINTS = """
WITH beat AS (UPDATE trials SET heartbeat_at = :now {best} WHERE id = :id {mine})
INSERT INTO metrics (trial_id, name, step, value)
""" + _PG_POINTS.format(trial=":id", source="")

# The final state and the last points together; the points only when the state was written (the
# trial is still this owner's): the count of rows finished says which.
PG_FINISH = ("""
WITH done AS (""" + FINISH_TRIAL.strip() + """ RETURNING id),
points AS (INSERT INTO metrics (trial_id, name, step, value)
""" + _PG_POINTS.format(trial="done.id", source="done, ") + """)
SELECT count(*) FROM done
""")


def point_arrays(rows: Any) -> dict[str, list[Any]]:
    """A batch of ``(step, name, value)`` points as the three arrays of the PG_ statements: the
    last value of a step reported twice (one statement cannot update a row twice), NaN as NULL."""
    last: dict[tuple[str, int], float | None] = {}
    for step, name, value in rows:
        number = None if value is None else float(value)
        last[(str(name), int(step))] = None if number is None or math.isnan(number) else number
    return {"names": [k[0] for k in last], "steps": [k[1] for k in last], "vals": list(last.values())}

INSERT_POINTS = """
INSERT INTO metrics (trial_id, name, step, value) VALUES (:trial_id, :name, :step, :value)
ON CONFLICT (trial_id, name, step) DO UPDATE SET value = excluded.value
"""

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=None)
def _for_driver(sql: str, paramstyle: str) -> tuple[str, tuple[str, ...]]:
    """The statement in the driver's parameter style, and the parameter order for positional ones."""
    names = tuple(_NAMED.findall(sql))
    if paramstyle == "named":
        return sql, ()
    if paramstyle == "pyformat":
        return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%")), ()
    if paramstyle == "qmark":
        return _NAMED.sub("?", sql), names
    if paramstyle == "format":
        return _NAMED.sub("%s", sql.replace("%", "%%")), names
    raise ValueError(f"unsupported DB-API parameter style {paramstyle!r}")


def run(conn: Connection, sql: str, params: dict[str, Any] | Sequence[dict[str, Any]]) -> CursorResult:
    """Execute ``sql`` (``:name`` placeholders) with one parameter dict, or many for executemany."""
    text, order = _for_driver(sql, conn.dialect.paramstyle)
    if order:
        if isinstance(params, dict):
            params = tuple(params[name] for name in order)
        else:
            params = [tuple(p[name] for name in order) for p in params]
    return conn.exec_driver_sql(text, params)


def run_rows(conn: Connection, sql: str, rows: Sequence[tuple]) -> CursorResult:
    """executemany with rows already as tuples in the order the placeholders first appear: no
    per-row dict for positional drivers (SQLite), the hot path of metric ingestion."""
    text, order = _for_driver(sql, conn.dialect.paramstyle)
    if not order:
        names = tuple(dict.fromkeys(_NAMED.findall(sql)))
        return conn.exec_driver_sql(text, [dict(zip(names, row)) for row in rows])
    return conn.exec_driver_sql(text, rows)


def json_value(raw: Any) -> Any:
    """A JSON column read through the driver: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(raw) if isinstance(raw, (str, bytes)) else raw
