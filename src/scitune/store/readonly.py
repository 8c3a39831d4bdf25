"""A store opened for reading only: what the dashboard looks through.

:class:`~scitune.store.Store` creates a missing store and adds tables on open; a viewer must do
neither. :class:`ReadOnlyStore` has every read of :class:`~scitune.store.reads.StoreReads` and no
write: a SQLite file is opened with ``mode=ro`` (SQLite itself refuses any write), a PostgreSQL
connection with ``default_transaction_read_only`` on. A missing file or an older or newer schema is
one clear error, never a new empty store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.exc import DatabaseError, OperationalError

from scitune.errors import SchemaVersionError, StoreError
from scitune.store.reads import StoreReads
from scitune.store.schema import SCHEMA_VERSION, display_url, meta, resolve_url


class ReadOnlyStore(StoreReads):
    """Open the existing store at ``url`` (see :func:`~scitune.store.resolve_url`) for reading only."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        self.engine = _read_only_engine(self.url)
        try:
            with self._read() as conn:
                if meta.name not in set(inspect(conn).get_table_names()):
                    raise StoreError(f"{display_url(self.url)} is not a scitune store (no {meta.name} table)",
                                     hint="point --store at the store your runs wrote")
                row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        except (DatabaseError, OperationalError) as err:
            self.engine.dispose()
            raise StoreError(f"cannot open store {display_url(self.url)}: {getattr(err, 'orig', err)}") from None
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            self.engine.dispose()
            raise SchemaVersionError(
                f"store {display_url(self.url)} has schema version {version}; this scitune reads {SCHEMA_VERSION}",
                hint="use the scitune version that wrote it",
            )

    def close(self) -> None:
        self.engine.dispose()


def _read_only_engine(url: str):  # type: ignore[no-untyped-def]
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:" or not Path(path).is_file():
            raise StoreError(f"no store at {path or url}", hint="run an experiment first, or pass --store")
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=60,
                                                                              check_same_thread=False))

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # explicit BEGIN below: one snapshot per read
            dbapi_connection.execute("PRAGMA busy_timeout=60000")

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN")

        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, pool_pre_ping=True,
                             connect_args={"options": "-c default_transaction_read_only=on"})
    except ModuleNotFoundError as err:
        raise StoreError(f"cannot open store {display_url(url)}: its database driver is not installed ({err})",
                         hint="pip install 'scitune[postgres]'" if "psycopg" in str(err) else None) from None
    except Exception as err:  # noqa: BLE001 - unknown dialects alike
        raise StoreError(f"cannot open store {display_url(url)}: {err}") from None
