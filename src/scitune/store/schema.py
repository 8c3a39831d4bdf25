"""The store's tables (every one of them), its schema version, and how an engine is opened.

SQLAlchemy Core only: the same tables and statements serve SQLite (the default, in WAL mode) and,
by URL, PostgreSQL. Times are UNIX seconds (float) so they compare the same on both. Tables added
within a schema version (new, additive capabilities) are created when an existing store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)

from scitune.errors import StoreError
from scitune.states import CLAIMABLE, StudyKind

SCHEMA_VERSION = 1
DEFAULT_URL = "sqlite:///scitune.db"
STORE_ENV = "SCITUNE_STORE"

metadata = MetaData()

meta = Table(
    "scitune_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("goal", Text, nullable=False),
    Column("definition", JSON, nullable=False),  # the validated experiment, canonical form
    Column("config_text", Text, nullable=False),  # the experiment file exactly as written
    Column("config_path", Text),
    Column("command", Text),  # the command line that reproduces it
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

studies = Table(
    "studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("scientific", JSON, nullable=False),
    Column("search", JSON, nullable=False),  # algorithm, seed, dimension order, scipy version
    # "search": a study of the experiment's search; "retrain": reruns of one trial's configuration
    # with other seeds, tied to that trial and kept out of the search results.
    Column("kind", String(16), nullable=False, default=StudyKind.SEARCH.value),
    Column("parent_trial_id", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("experiment_id", "name"),
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id"), nullable=False),
    Column("number", Integer, nullable=False),  # index in the study's point sequence
    Column("params", JSON, nullable=False),  # every hyperparameter the trial trains with
    Column("seed", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # a scitune.states.TrialState
    Column("reason", Text),
    Column("traceback", Text),
    Column("host", String(255)),
    Column("owner", String(255)),  # host:runner-token:runner-pid:worker-pid while running
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("heartbeat_at", Float),
    Column("best_step", Integer),
    Column("best_value", Float),
    Column("directory", Text),  # the trial's own folder: checkpoints, logs, metrics file
    UniqueConstraint("study_id", "number"),
    Index("ix_trials_state", "state"),
)

# The claim query's index: only claimable trials, in the order they are taken (number, then study).
# Claiming reads its first entry instead of sorting every pending trial, so a claim costs the same
# at the 100,000th trial as at the 100th; a trial leaves the index when it is taken. Added within
# schema version 1, so every open creates it if missing (an older store gets it then). Plain DDL
# that SQLite and PostgreSQL both accept: SQLAlchemy's dialect-specific index options would import
# the PostgreSQL dialect on every start-up (a fifth of a second).
#
# The trial table's objective sort (the dashboard's pages, the best k of a study): trials in
# objective order with their id, study and state, so a page sorted by the objective walks this
# index from its start and stops after the page, reading neither the table nor a sort of every
# trial (100,000 trials: 114 -> 7 ms at offset 50,000). Also created on every open.
BEST_VALUE_INDEX = "ix_trials_best_value"
ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_trials_claimable ON trials (number, study_id) WHERE state IN (%s)"
    % ", ".join(f"'{state.value}'" for state in CLAIMABLE),
    f"CREATE INDEX IF NOT EXISTS {BEST_VALUE_INDEX} ON trials (best_value, id, study_id, state)",
)

metrics = Table(
    "metrics",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("step", Integer, nullable=False),
    Column("value", Float),  # NULL stands for NaN (SQLite cannot store NaN)
    PrimaryKeyConstraint("trial_id", "name", "step"),
    # Rows live in the primary key's B-tree itself: no second copy in a rowid table, so points
    # take about half the disk and insert faster.
    sqlite_with_rowid=False,
)


checkpoints = Table(
    "checkpoints",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.id"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("path", Text, nullable=False),  # absolute
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("trial_id", "step"),
)


# -- decisions: launches of a new incumbent, notes, the test set ------------------------------------

launches = Table(
    "launches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("trial_id", Integer, ForeignKey("trials.id"), nullable=False),
    Column("study", String(500), nullable=False),
    Column("trial", Integer, nullable=False),  # the trial's number in its study
    Column("config", JSON, nullable=False),  # every hyperparameter the incumbent trains with
    Column("objective", JSON, nullable=False),  # {metric, mode, value: mean over reruns or its own value}
    Column("evidence", JSON, nullable=False),  # the comparison it won, with its numbers
    Column("note", Text, nullable=False),
    Column("command", Text),  # reproduces the incumbent's training run
    Column("created_at", Float, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("study_id", Integer, ForeignKey("studies.id"), nullable=True),  # None: the whole experiment
    Column("text", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Final evaluations of chosen trials on the test set. The playbook looks at the test set once, after
# the Bayesian round has chosen a configuration: no search, ranking or report reads this table, so
# nothing can select on it by accident.
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


def resolve_url(url: str | None) -> str:
    """``--store`` value, else ``$SCITUNE_STORE``, else ``./scitune.db``. A bare path means SQLite."""
    if url is not None and not url.strip():
        raise StoreError("the store is given as an empty string; give a file path or a URL (sqlite:///..., postgresql://...)")
    url = url or os.environ.get(STORE_ENV) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def display_url(url: str | None) -> str:
    """The store URL as messages show it: resolved (:func:`resolve_url`), any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(resolve_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return resolve_url(url)


def open_engine(url: str) -> Engine:
    """An engine tuned for many short transactions from several processes."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not SQLAlchemy's psycopg2 default
    try:
        # No pool ping: it is a round trip before every transaction, and every Store method is
        # retried on a lost connection anyway (store/retry.py), the pool reconnecting then.
        return create_engine(url)
    except ModuleNotFoundError as err:
        raise StoreError(
            f"cannot open store {url.split('@')[-1]!r}: its database driver is not installed ({err})",
            hint="pip install 'scitune[postgres]'" if "psycopg" in str(err) else None,
        ) from None
    except Exception as err:  # noqa: BLE001 - unknown dialects alike
        raise StoreError(f"cannot open store {url.split('@')[-1]!r}: {err}") from None


SQLITE_FORM = "sqlite:///relative/path.db, sqlite:////absolute/path.db, or a plain file path"


def sqlite_path(url: str) -> str:
    """The file of a SQLite URL (``:memory:`` for an in-memory store); StoreError for a URL that is
    not one of the two forms SQLite accepts."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    head, sep, path = url.partition(":///")
    if not sep or head not in ("sqlite", "sqlite+pysqlite") or not path or "?" in path:
        raise StoreError(f"store URL {url!r} is not a SQLite URL scitune can open; write {SQLITE_FORM}")
    return path


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path != ":memory:":
        if not Path(path).parent.exists():
            raise StoreError(f"store {path}: folder {Path(path).parent} does not exist")
        if Path(path).is_dir():
            raise StoreError(f"store {path}: is a folder, not a store file")
    try:
        engine = create_engine(url, connect_args={"timeout": 60})
    except Exception as err:  # noqa: BLE001 - a URL SQLAlchemy cannot parse
        raise StoreError(f"store URL {url!r} cannot be opened ({err}); write {SQLITE_FORM}") from None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take over transaction control from the sqlite3 module (it would BEGIN lazily and
        # deferred), so that write transactions can take the write lock up front below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another process wrote in between; BEGIN IMMEDIATE waits its turn instead.
        write = connection.get_execution_options().get("scitune_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine

# SQLite only: every trial's hyperparameters as rows (name, value, trial id, study id), kept by triggers
# whatever writes the trials, so a table page sorted by a hyperparameter walks an index in
# (name, value, id) order instead of parsing 100,000 JSON objects and sorting them. The value is
# what CAST(json_extract(params, '$."name"') AS FLOAT) gives, the paged read's own key.
# PostgreSQL reads its JSON column directly. Created on open (an older store's trials are copied
# in then, once); a store without it (opened read-only before) is paged from the JSON column.
PARAM_ROWS = "trial_params"
_PARAM_ROWS_OF_NEW = (f"INSERT INTO {PARAM_ROWS} (name, value, trial_id, study_id) "
                      "SELECT key, CAST(value AS REAL), NEW.id, NEW.study_id "
                      "FROM json_each(CASE WHEN json_valid(NEW.params) THEN NEW.params ELSE '{}' END);")
SQLITE_PARAM_ROWS = (
    (f"CREATE TABLE IF NOT EXISTS {PARAM_ROWS} "
     "(name TEXT NOT NULL, value REAL, trial_id INTEGER NOT NULL, study_id INTEGER NOT NULL)"),
    f"CREATE INDEX IF NOT EXISTS ix_{PARAM_ROWS}_order ON {PARAM_ROWS} (name, value, trial_id, study_id)",
    # A trial's row for one hyperparameter in one probe (a range checked trial by trial; the
    # triggers' deletes by trial); it replaces the first stores' index on trial_id alone.
    f"CREATE INDEX IF NOT EXISTS ix_{PARAM_ROWS}_lookup ON {PARAM_ROWS} (trial_id, name, value)",
    f"DROP INDEX IF EXISTS ix_{PARAM_ROWS}_trial",
    f"CREATE TRIGGER IF NOT EXISTS tr_{PARAM_ROWS}_insert AFTER INSERT ON trials BEGIN {_PARAM_ROWS_OF_NEW} END",
    (f"CREATE TRIGGER IF NOT EXISTS tr_{PARAM_ROWS}_update AFTER UPDATE OF params, id, study_id ON trials BEGIN "
     f"DELETE FROM {PARAM_ROWS} WHERE trial_id = OLD.id; {_PARAM_ROWS_OF_NEW} END"),
    (f"CREATE TRIGGER IF NOT EXISTS tr_{PARAM_ROWS}_delete AFTER DELETE ON trials BEGIN "
     f"DELETE FROM {PARAM_ROWS} WHERE trial_id = OLD.id; END"),
)
SQLITE_PARAM_ROWS_FILL = (
    f"INSERT INTO {PARAM_ROWS} (name, value, trial_id, study_id) "
    "SELECT j.key, CAST(j.value AS REAL), t.id, t.study_id FROM trials t, "
    "json_each(CASE WHEN json_valid(t.params) THEN t.params ELSE '{}' END) j"
)

# PostgreSQL: the same parameter rows, kept by plpgsql triggers. A value is the hyperparameter as a
# float where it is one: a JSON number or a string that reads as one (beyond a float's range: NULL;
# too small for one: 0; an exponent of more than 4 digits: NULL), true/false as 1/0; anything else
# (text, lists, objects, null) NULL, so no trial's insert ever fails on its parameters. Inserts and deletes fire once per statement over
# the statement's rows (a bulk insert of thousands of trials costs one INSERT ... SELECT); an update
# of a trial's params or study, once per row. Created with the table on the open that first lacks
# it (under the open's advisory lock), which also copies in the trials already there.
PG_PARAM_ROWS = (
    (f"CREATE TABLE IF NOT EXISTS {PARAM_ROWS} "
     "(name TEXT NOT NULL, value DOUBLE PRECISION, trial_id INTEGER NOT NULL, study_id INTEGER NOT NULL)"),
    f"CREATE INDEX IF NOT EXISTS ix_{PARAM_ROWS}_order ON {PARAM_ROWS} (name, value, trial_id, study_id)",
    f"CREATE INDEX IF NOT EXISTS ix_{PARAM_ROWS}_lookup ON {PARAM_ROWS} (trial_id, name, value)",
    # Plain SQL (inlined into the triggers' INSERT ... SELECT, no plpgsql call per value); a CASE
    # evaluates only the branch it takes, so no cast below ever sees text it cannot read.
    r"""CREATE OR REPLACE FUNCTION scitune_param_value(v json) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
  WHEN json_typeof(v) = 'boolean' THEN CASE WHEN (v #>> '{}') = 'true' THEN 1.0 ELSE 0.0 END
  WHEN json_typeof(v) IN ('number', 'string')
       AND (v #>> '{}') ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,4})?\s*$' THEN
    CASE WHEN abs((v #>> '{}')::numeric) > 1.7976931348623157e308 THEN NULL
         WHEN abs((v #>> '{}')::numeric) < 2.2250738585072014e-308 THEN 0.0
         ELSE (v #>> '{}')::numeric::double precision END
END
$$""",
    f"""CREATE OR REPLACE FUNCTION scitune_{PARAM_ROWS}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {PARAM_ROWS} (name, value, trial_id, study_id)
  SELECT p.key, scitune_param_value(p.value), n.id, n.study_id FROM new_trials n,
    json_each(CASE WHEN json_typeof(n.params) = 'object' THEN n.params ELSE '{{}}'::json END) p;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION scitune_{PARAM_ROWS}_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM {PARAM_ROWS} WHERE trial_id = OLD.id;
  INSERT INTO {PARAM_ROWS} (name, value, trial_id, study_id)
  SELECT p.key, scitune_param_value(p.value), NEW.id, NEW.study_id FROM
    json_each(CASE WHEN json_typeof(NEW.params) = 'object' THEN NEW.params ELSE '{{}}'::json END) p;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION scitune_{PARAM_ROWS}_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM {PARAM_ROWS} WHERE trial_id IN (SELECT id FROM old_trials);
  RETURN NULL;
END $$""",
    f"DROP TRIGGER IF EXISTS tr_{PARAM_ROWS}_insert ON trials",
    (f"CREATE TRIGGER tr_{PARAM_ROWS}_insert AFTER INSERT ON trials REFERENCING NEW TABLE AS new_trials "
     f"FOR EACH STATEMENT EXECUTE FUNCTION scitune_{PARAM_ROWS}_insert()"),
    f"DROP TRIGGER IF EXISTS tr_{PARAM_ROWS}_update ON trials",
    (f"CREATE TRIGGER tr_{PARAM_ROWS}_update AFTER UPDATE OF params, id, study_id ON trials "
     f"FOR EACH ROW EXECUTE FUNCTION scitune_{PARAM_ROWS}_update()"),
    f"DROP TRIGGER IF EXISTS tr_{PARAM_ROWS}_delete ON trials",
    (f"CREATE TRIGGER tr_{PARAM_ROWS}_delete AFTER DELETE ON trials REFERENCING OLD TABLE AS old_trials "
     f"FOR EACH STATEMENT EXECUTE FUNCTION scitune_{PARAM_ROWS}_delete()"),
)
PG_PARAM_ROWS_FILL = (
    f"INSERT INTO {PARAM_ROWS} (name, value, trial_id, study_id) "
    "SELECT p.key, scitune_param_value(p.value), t.id, t.study_id FROM trials t, "
    "json_each(CASE WHEN json_typeof(t.params) = 'object' THEN t.params ELSE '{}'::json END) p"
)
