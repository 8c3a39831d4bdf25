"""The Store: the only state that runners, workers and commands share.

Everything goes through short transactions. Claiming a trial is one transaction (so two runners on
one experiment never run the same trial); a trial's metric points are written in batches, never one
transaction per number; finishing a trial writes its last points and its final state together.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, delete, insert, inspect, select, update
from sqlalchemy.exc import DatabaseError, OperationalError

from scitune.errors import (
    ExperimentChangedError,
    SchemaVersionError,
    StoreError,
)
from scitune.states import ENDINGS, StudyKind, TrialState
from scitune.store import sql
from scitune.store.reads import StoreReads
from scitune.store.records import ClaimedTrial
from scitune.store.retry import retrying
from scitune.store.schema import (
    ADDED_INDEXES,
    PARAM_ROWS,
    PG_PARAM_ROWS,
    PG_PARAM_ROWS_FILL,
    SCHEMA_VERSION,
    SQLITE_PARAM_ROWS,
    SQLITE_PARAM_ROWS_FILL,
    checkpoints,
    experiments,
    launches,
    meta,
    metadata,
    metrics,
    notes,
    open_engine,
    resolve_url,
    sqlite_path,
    studies,
    test_results,
    trials,
)

MetricRow = tuple[int, str, float]  # (step, name, value)


def _dialect_insert(conn: Connection, table):  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def query_best(best: tuple[int, float] | None) -> str:
    return ", best_step = :best_step, best_value = :best_value" if best is not None else ""


def query_mine(owner: str | None) -> str:
    return "AND owner = :owner" if owner is not None else ""


def _definition_changes(old: Any, new: Any, path: str = "") -> list[str]:
    """Key paths where two experiment definitions differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            out += _definition_changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return out
    return [] if old == new else [path or "(whole file)"]


class Store(StoreReads):
    """Open (and if new, create) the store at ``url``; see :func:`resolve_url` for the default.
    With ``create=False`` a SQLite store that does not exist is an error naming its path (the
    read-only commands never leave an empty store behind)."""

    def __init__(self, url: str | None = None, create: bool = True) -> None:
        self.url = resolve_url(url)
        self._file = None if not self.url.startswith("sqlite") else sqlite_path(self.url)
        if self._file == ":memory:":
            self._file = None
        if not create and self._file is not None and not Path(self._file).is_file():
            raise StoreError(f"no store at {Path(self._file).resolve()}",
                             hint="give --store (or $SCITUNE_STORE) the store a run wrote")
        self.engine = open_engine(self.url)
        try:
            self._ensure_schema()
        except (DatabaseError, OperationalError) as err:
            self.engine.dispose()
            raise StoreError(f"cannot open store {self.url}: {getattr(err, 'orig', err)}") from None
        self._identity = self._file_identity()

    def _file_identity(self) -> tuple[int, int] | None:
        if self._file is None:
            return None
        try:
            info = os.stat(self._file)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def check_still_there(self) -> None:
        """Raise StoreError when the SQLite store file was deleted or replaced since it was opened
        (its writers would otherwise go on writing into a file nobody can read any more)."""
        if self._file is None:
            return
        now = self._file_identity()
        if now != self._identity:
            what = "deleted" if now is None else "replaced by another file"
            raise StoreError(f"store {self._file} was {what} while this run used it; the run stopped")

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(scitune_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _statement(self) -> Iterator[Connection]:
        """A connection for one statement that is its own transaction (autocommit): on PostgreSQL
        no BEGIN and COMMIT round trips around it."""
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_schema(self) -> None:
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Serialize concurrent first opens (SQLite's BEGIN IMMEDIATE does this there).
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            tables = set(inspect(conn).get_table_names())
            if meta.name not in tables:
                if tables:
                    raise StoreError(
                        f"{self.url} holds tables that are not a scitune store ({', '.join(sorted(tables))})",
                        hint="point --store at a new file or an empty database",
                    )
                metadata.create_all(conn)
                for index in ADDED_INDEXES:
                    conn.exec_driver_sql(index)
                if conn.dialect.name == "sqlite":
                    for statement in SQLITE_PARAM_ROWS:
                        conn.exec_driver_sql(statement)
                elif conn.dialect.name == "postgresql":
                    for statement in PG_PARAM_ROWS:
                        conn.exec_driver_sql(statement)
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            try:
                version = int(row[0]) if row else 0
            except (TypeError, ValueError):
                raise StoreError(
                    f"store {self.url} has a schema version that is not a number ({str(row[0])[:40]!r}); "
                    "it was not written by scitune, or it is damaged",
                    hint="point --store at a scitune store, or a new file",
                ) from None
            if version == SCHEMA_VERSION:
                # Tables added within a schema version (new, additive capabilities) appear on open.
                metadata.create_all(conn, checkfirst=True)
                for index in ADDED_INDEXES:  # indexes added to tables an older store already has
                    conn.exec_driver_sql(index)
                if conn.dialect.name == "sqlite":
                    for statement in SQLITE_PARAM_ROWS:
                        conn.exec_driver_sql(statement)
                    if PARAM_ROWS not in tables:  # an older store: its trials' parameters, once
                        conn.exec_driver_sql(SQLITE_PARAM_ROWS_FILL)
                elif conn.dialect.name == "postgresql" and PARAM_ROWS not in tables:  # PostgreSQL: the rows' table, triggers, and its trials, once
                    for statement in PG_PARAM_ROWS:
                        conn.exec_driver_sql(statement)
                    conn.exec_driver_sql(PG_PARAM_ROWS_FILL)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"store {self.url} has schema version {version}, newer than this scitune understands "
                f"({SCHEMA_VERSION})",
                hint="upgrade scitune (pip install -U scitune) to read it",
            )
        if version < SCHEMA_VERSION:
            raise SchemaVersionError(
                f"store {self.url} has schema version {version}, older than any this scitune can upgrade "
                f"(it reads version {SCHEMA_VERSION})",
                hint="use the scitune version that wrote it, or start a new store",
            )

    # -- experiments and studies ---------------------------------------------------------------

    @retrying
    def ensure_experiment(
        self,
        name: str,
        goal: str,
        definition: Mapping[str, Any],
        config_text: str,
        config_path: str | None = None,
        command: str | None = None,
        growable: Sequence[str] = ("budget.trials_per_study", "report"),
    ) -> int:
        """Record the experiment, or check that the stored one is the same experiment.

        Only the keys in ``growable`` (and keys below them) may differ: a study can be enlarged, and
        the report's thresholds read results without changing them. Any other change would silently
        mix trials of two different experiments under one name, so it is refused."""
        with self._write() as conn:
            return self._ensure_experiment(conn, name, goal, definition, config_text, config_path, command, growable)

    @staticmethod
    def _ensure_experiment(
        conn: Connection, name: str, goal: str, definition: Mapping[str, Any], config_text: str,
        config_path: str | None, command: str | None, growable: Sequence[str],
    ) -> int:
        now = time.time()
        row = conn.execute(select(experiments).where(experiments.c.name == name)).mappings().first()
        values = dict(
            goal=goal,
            definition=dict(definition),
            config_text=config_text,
            config_path=config_path,
            command=command,
            updated_at=now,
        )
        if row is None:
            # Another runner may be planning the same experiment at this moment (PostgreSQL, read
            # committed): insert unless it got there first, then read whichever row won.
            stmt = _dialect_insert(conn, experiments).values(name=name, created_at=now, **values)
            result = conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]).returning(experiments.c.id))
            inserted = result.scalar()
            if inserted is not None:
                return int(inserted)
            row = conn.execute(select(experiments).where(experiments.c.name == name)).mappings().one()
        changes = [
            c for c in _definition_changes(row["definition"], dict(definition))
            if not any(c == g or c.startswith(g + ".") for g in growable)
        ]
        if changes:
            raise ExperimentChangedError(
                f"experiment '{name}' is already in the store with a different definition "
                f"(changed: {', '.join(changes)})",
                hint="give the changed experiment a new name, or use another --store",
            )
        conn.execute(update(experiments).where(experiments.c.id == row["id"]).values(**values))
        return int(row["id"])


    @retrying
    def ensure_study(
        self,
        experiment_id: int,
        name: str,
        scientific: Mapping[str, Any],
        search: Mapping[str, Any],
        kind: StudyKind = StudyKind.SEARCH,
        parent_trial_id: int | None = None,
    ) -> int:
        with self._write() as conn:
            return self._ensure_study(conn, experiment_id, name, scientific, search, kind, parent_trial_id)

    @staticmethod
    def _ensure_study(
        conn: Connection, experiment_id: int, name: str, scientific: Mapping[str, Any], search: Mapping[str, Any],
        kind: StudyKind = StudyKind.SEARCH, parent_trial_id: int | None = None,
    ) -> int:
        stmt = _dialect_insert(conn, studies).values(
            experiment_id=experiment_id,
            name=name,
            scientific=dict(scientific),
            search=dict(search),
            kind=str(kind),
            parent_trial_id=parent_trial_id,
            created_at=time.time(),
        )
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["experiment_id", "name"]))
        return int(
            conn.execute(
                select(studies.c.id).where(studies.c.experiment_id == experiment_id, studies.c.name == name)
            ).scalar_one()
        )

    @retrying
    def ensure_trials(self, study_id: int, points: Sequence[tuple[int, Mapping[str, Any], int]]) -> None:
        """Create the study's trials ``(number, params, seed)`` that do not exist yet as pending, and
        drop never-started trials beyond them (the study was shrunk)."""
        with self._write() as conn:
            self._ensure_trials(conn, study_id, points)

    @staticmethod
    def _ensure_trials(conn: Connection, study_id: int, points: Sequence[tuple[int, Mapping[str, Any], int]]) -> None:
        now = time.time()
        if points:
            rows = [
                dict(study_id=study_id, number=n, params=dict(p), seed=s, state=TrialState.PENDING.value, attempts=0,
                     created_at=now)
                for n, p, s in points
            ]
            stmt = _dialect_insert(conn, trials).on_conflict_do_nothing(index_elements=["study_id", "number"])
            conn.execute(stmt, rows)
        conn.execute(
            delete(trials).where(
                trials.c.study_id == study_id, trials.c.state == TrialState.PENDING,
                trials.c.number >= len(points),
            )
        )

    @retrying
    def plan(
        self,
        name: str,
        goal: str,
        definition: Mapping[str, Any],
        config_text: str,
        planned: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any], Sequence[tuple[int, Mapping[str, Any], int]] | None]],
        config_path: str | None = None,
        command: str | None = None,
        growable: Sequence[str] = ("budget.trials_per_study", "report"),
    ) -> int:
        """Record an experiment, its studies ``(name, scientific, search, points)`` and their
        trials in ONE transaction, so that no failure leaves part of them (``points`` None: a study
        whose trials are made later, a Bayesian one). Idempotent, like the ``ensure_*`` calls."""
        with self._write() as conn:
            experiment_id = self._ensure_experiment(conn, name, goal, definition, config_text, config_path, command,
                                                    growable)
            for study, scientific, search, points in planned:
                study_id = self._ensure_study(conn, experiment_id, study, scientific, search)
                if points is not None:
                    self._ensure_trials(conn, study_id, points)
        return experiment_id

    # -- running trials ------------------------------------------------------------------------

    def claim(
        self, experiment_id: int, owner: str, host: str, study_ids: Sequence[int] | None = None
    ) -> ClaimedTrial | None:
        """Take the next pending or interrupted trial of the experiment's search studies (of
        ``study_ids`` instead, when given), or None when none is left.

        Trials are taken by number across studies (trial 0 of every study, then trial 1, ...), so
        partial results stay comparable between scientific values."""
        now = time.time()
        if study_ids is not None:
            scope = f"t.study_id IN ({', '.join(str(int(i)) for i in study_ids) or 'NULL'})"
        else:
            scope = f"s.kind = '{StudyKind.SEARCH.value}'"
        if self._postgres:
            return self._claim_postgres(experiment_id, owner, host, scope, now)
        return self._claim_sqlite(experiment_id, owner, host, scope, now)

    @retrying
    def _claim_sqlite(self, experiment_id: int, owner: str, host: str, scope: str, now: float) -> ClaimedTrial | None:
        query = sql.NEXT_TRIAL.format(scope=scope, indexed=sql.CLAIM_INDEX_HINT)
        with self._write() as conn:
            row = sql.run(conn, query, {"experiment_id": experiment_id}).first()
            if row is None:
                return None
            trial_id, study_id, study, number, params, seed, attempts, directory = row
            taken = sql.run(
                conn, sql.TAKE_TRIAL, {"owner": owner, "host": host, "now": now, "attempts": attempts + 1, "id": trial_id}
            ).rowcount
            if taken != 1:
                return None
            latest = self._resume_point(conn, trial_id) if attempts else None
        return ClaimedTrial(
            trial_id, study_id, study, number, dict(sql.json_value(params)), int(seed), attempts + 1,
            directory, latest.step if latest else None, latest.path if latest else None,
        )

    def _claim_postgres(self, experiment_id: int, owner: str, host: str, scope: str, now: float) -> ClaimedTrial | None:
        """PostgreSQL: find and take the trial in one autocommitted statement (one round trip);
        a rerun's truncation then follows in a transaction of its own. Either part is retried on
        its own after a lost connection: retrying the whole would take a second trial while the
        first stayed running under this owner."""
        row = self._take_postgres(experiment_id, owner, host, scope, now)
        if row is None:
            return None
        trial_id, study_id, study, number, params_value, seed, attempt, directory = row
        latest = self._resume_rerun(trial_id) if attempt > 1 else None
        return ClaimedTrial(
            trial_id, study_id, study, number, dict(sql.json_value(params_value)), int(seed), int(attempt),
            directory, latest[0] if latest else None, latest[1] if latest else None,
        )

    @retrying
    def _take_postgres(self, experiment_id: int, owner: str, host: str, scope: str, now: float) -> Any:
        params = {"experiment_id": experiment_id, "owner": owner, "host": host, "now": now}
        with self._statement() as conn:
            return sql.run(conn, sql.PG_CLAIM.format(scope=scope), params).first()

    @retrying
    def _resume_rerun(self, trial_id: int) -> tuple[int, str | None] | None:
        with self._write() as conn:
            latest = self._resume_point(conn, trial_id)
        return (latest.step, latest.path) if latest else None

    def _resume_point(self, conn: Connection, trial_id: int) -> Any:
        """A rerun's latest checkpoint (None: none); its points and checkpoints after it are
        forgotten. Only a trial that ran before can have any."""
        latest = conn.execute(
            select(checkpoints.c.step, checkpoints.c.path)
            .where(checkpoints.c.trial_id == trial_id)
            .order_by(checkpoints.c.step.desc())
            .limit(1)
        ).first()
        # A rerun continues from its latest checkpoint, or starts its curve afresh: either way no
        # step may appear twice.
        self._truncate(conn, trial_id, latest.step if latest else None)
        return latest

    @retrying
    def add_running_trial(
        self, study_id: int, study: str, number: int, params: Mapping[str, Any], seed: int, owner: str, host: str
    ) -> ClaimedTrial | None:
        """Insert trial ``number`` of a study as already running for ``owner`` (a point proposed by
        an adaptive search), or return None when another runner inserted that number first: the
        unique (study_id, number) constraint decides, so a proposal made without knowing of a
        newer trial is never stored and the caller proposes again."""
        now = time.time()
        with self._write() as conn:
            stmt = _dialect_insert(conn, trials).values(
                study_id=study_id, number=number, params=dict(params), seed=seed, state=TrialState.RUNNING.value, owner=owner,
                host=host, attempts=1, created_at=now, started_at=now, heartbeat_at=now,
            )
            result = conn.execute(stmt.on_conflict_do_nothing(index_elements=["study_id", "number"]))
            if result.rowcount != 1:
                return None
            trial_id = conn.execute(
                select(trials.c.id).where(trials.c.study_id == study_id, trials.c.number == number)
            ).scalar_one()
        return ClaimedTrial(int(trial_id), study_id, study, number, dict(params), int(seed), 1)

    @staticmethod
    def _truncate(conn: Connection, trial_id: int, keep_through: int | None) -> None:
        """Forget a trial's points and checkpoints after step ``keep_through`` (all when None)."""
        if keep_through is None:
            conn.execute(delete(metrics).where(metrics.c.trial_id == trial_id))
            conn.execute(delete(checkpoints).where(checkpoints.c.trial_id == trial_id))
        else:
            conn.execute(delete(metrics).where(metrics.c.trial_id == trial_id, metrics.c.step > keep_through))
            conn.execute(
                delete(checkpoints).where(checkpoints.c.trial_id == trial_id, checkpoints.c.step > keep_through)
            )

    @retrying
    def restart(self, trial_id: int) -> None:
        """Start a claimed trial from scratch after all (its checkpoint file was gone)."""
        with self._write() as conn:
            self._truncate(conn, trial_id, None)

    @retrying
    def set_directory(self, trial_id: int, directory: str) -> None:
        with self._write() as conn:
            conn.execute(update(trials).where(trials.c.id == trial_id).values(directory=directory))

    @retrying
    def record_checkpoint(
        self, trial_id: int, step: int | None, path: str | None, dropped: Sequence[int] = ()
    ) -> None:
        """One transaction: a new checkpoint (unless ``step`` is None), and the rows of the ones
        just deleted."""
        with self._write() as conn:
            if step is not None:
                stmt = _dialect_insert(conn, checkpoints).values(trial_id=trial_id, step=step, path=path,
                                                                  created_at=time.time())
                conn.execute(stmt.on_conflict_do_update(index_elements=["trial_id", "step"],
                                                        set_={"path": path, "created_at": time.time()}))
            if dropped:
                conn.execute(delete(checkpoints).where(checkpoints.c.trial_id == trial_id,
                                                       checkpoints.c.step.in_(list(dropped))))

    @retrying
    def write_metrics(
        self, trial_id: int, rows: Iterable[MetricRow], best: tuple[int, float] | None = None, owner: str | None = None
    ) -> None:
        """One transaction: a batch of points, the trial's best so far and its heartbeat."""
        params: dict[str, Any] = {"now": time.time(), "id": trial_id}
        query = sql.PROGRESS_TRIAL.format(best=query_best(best), mine=query_mine(owner))
        if best is not None:
            params.update(best_step=best[0], best_value=best[1])
        if owner is not None:
            params["owner"] = owner
        if self._postgres:
            arrays = sql.point_arrays(rows)
            if arrays["names"]:
                query = sql.PG_PROGRESS_WITH_POINTS.format(best=query_best(best), mine=query_mine(owner))
                params.update(arrays)
            with self._statement() as conn:
                sql.run(conn, query, params)
            return
        with self._write() as conn:
            self._insert_points(conn, trial_id, rows)
            sql.run(conn, query, params)

    @retrying
    def finish(
        self,
        trial_id: int,
        owner: str,
        state: str,
        rows: Iterable[MetricRow] = (),
        best: tuple[int, float] | None = None,
        reason: str | None = None,
        traceback: str | None = None,
    ) -> bool:
        """Write the last points and the final state together. Returns False (and writes nothing)
        when the trial is no longer this owner's, e.g. it was declared lost and taken by another."""
        if state not in ENDINGS:
            raise ValueError(f"cannot finish a trial as {state!r}")
        params = {
            "state": str(state), "reason": reason, "traceback": traceback, "now": time.time(),
            "best_step": best[0] if best else None, "best_value": best[1] if best else None,
            "new_owner": owner if state == TrialState.INTERRUPTED else None, "id": trial_id, "owner": owner,
        }
        if self._postgres:  # one statement: the state, and the points only if the state was written
            with self._statement() as conn:
                return sql.run(conn, sql.PG_FINISH, {**params, **sql.point_arrays(rows)}).scalar() == 1
        with self._write() as conn:
            if sql.run(conn, sql.FINISH_TRIAL, params).rowcount != 1:
                return False  # nothing written: the trial is someone else's now
            self._insert_points(conn, trial_id, rows)
        return True

    @staticmethod
    def _insert_points(conn: Connection, trial_id: int, rows: Iterable[MetricRow]) -> None:
        # Reporting a step twice keeps the last value rather than failing the trial.
        batch = [(trial_id, n, s, v if v == v else None) for s, n, v in rows]  # v != v: NaN, stored as NULL
        if batch:
            sql.run_rows(conn, sql.INSERT_POINTS, batch)

    @retrying
    def heartbeat(self, owner_prefix: str) -> None:
        with self._write() as conn:
            conn.execute(
                update(trials)
                .where(trials.c.state == TrialState.RUNNING, trials.c.owner.startswith(owner_prefix, autoescape=True))
                .values(heartbeat_at=time.time())
            )

    @retrying
    def release(self, owner_prefix: str, state: str, reason: str, *, exact: bool = False) -> int:
        """Mark every trial still running under ``owner_prefix`` as ``state`` (interrupted or failed);
        ``exact``: only the trials of that one owner (worker ``...:123`` is a prefix of ``...:1234``)."""
        mine = trials.c.owner == owner_prefix if exact else trials.c.owner.startswith(owner_prefix, autoescape=True)
        with self._write() as conn:
            return conn.execute(
                update(trials)
                .where(trials.c.state == TrialState.RUNNING, mine)
                .values(state=str(state), reason=reason, finished_at=time.time())
            ).rowcount

    @retrying
    def reap_lost(self, experiment_id: int, is_lost: Callable[[str, float], bool]) -> int:
        """Mark running trials whose runner is gone as interrupted, so they run again.
        ``is_lost(owner, heartbeat_at)`` decides; it sees every running trial of the experiment."""
        with self._write() as conn:
            running = conn.execute(
                select(trials.c.id, trials.c.owner, trials.c.heartbeat_at)
                .join(studies, studies.c.id == trials.c.study_id)
                .where(studies.c.experiment_id == experiment_id, trials.c.state == TrialState.RUNNING)
            ).all()
            lost = [r.id for r in running if is_lost(r.owner or "", r.heartbeat_at or 0.0)]
            if lost:
                conn.execute(
                    update(trials)
                    .where(trials.c.id.in_(lost), trials.c.state == TrialState.RUNNING)
                    .values(state=TrialState.INTERRUPTED.value, reason="its runner was lost (killed or stopped responding)")
                )
        return len(lost)

    # -- managing experiments ------------------------------------------------------------------

    @retrying
    def delete_experiment(self, name: str) -> list[str]:
        """Delete an experiment and everything recorded of it (studies, trials, metric points,
        checkpoint rows, launches, notes, test results) in one transaction. Returns the paths its
        trials' folders and checkpoints had, for the caller to remove (the store holds no files)."""
        record = self.experiment(name)
        with self._write() as conn:
            study_ids = select(studies.c.id).where(studies.c.experiment_id == record.id)
            trial_ids = select(trials.c.id).where(trials.c.study_id.in_(study_ids))
            paths = [r[0] for r in conn.execute(select(trials.c.directory).where(
                trials.c.id.in_(trial_ids), trials.c.directory.is_not(None))).all()]
            kept = select(checkpoints.c.path).where(checkpoints.c.trial_id.in_(trial_ids))
            paths += [r[0] for r in conn.execute(kept)]
            conn.execute(delete(metrics).where(metrics.c.trial_id.in_(trial_ids)))
            conn.execute(delete(checkpoints).where(checkpoints.c.trial_id.in_(trial_ids)))
            conn.execute(delete(test_results).where(test_results.c.trial_id.in_(trial_ids)))
            conn.execute(delete(launches).where(
                (launches.c.experiment_id == record.id) | launches.c.trial_id.in_(trial_ids)))
            conn.execute(delete(notes).where(notes.c.experiment_id == record.id))
            conn.execute(delete(trials).where(trials.c.study_id.in_(study_ids)))
            conn.execute(delete(studies).where(studies.c.experiment_id == record.id))
            conn.execute(delete(experiments).where(experiments.c.id == record.id))
        self.settle()
        return paths

    @retrying
    def rename_experiment(self, old: str, new: str, config_text: str) -> None:
        """Give experiment ``old`` the name ``new`` (its definition says so too; ``config_text`` is
        its file's text with the new name). Refused when ``new`` is taken."""
        record = self.experiment(old)
        with self._write() as conn:
            if conn.execute(select(experiments.c.id).where(experiments.c.name == new)).first() is not None:
                raise StoreError(f"an experiment named '{new}' is already in {self.safe_url}",
                                 hint=f"delete it first (scitune delete {new}) or choose another name")
            conn.execute(update(experiments).where(experiments.c.id == record.id).values(
                name=new, definition={**record.definition, "experiment": new}, config_text=config_text,
                updated_at=time.time()))
        self.settle()

    # -- decisions -----------------------------------------------------------------------------

    @retrying
    def add_launch(
        self, experiment_id: int, trial_id: int, study: str, trial: int, config: Mapping[str, Any],
        objective: Mapping[str, Any], evidence: Mapping[str, Any], note: str, command: str | None,
    ) -> int:
        """Record a launch (a new incumbent and its evidence); returns its id."""
        return self._insert_decision(launches, dict(
            experiment_id=experiment_id, trial_id=trial_id, study=study, trial=trial, config=dict(config),
            objective=dict(objective), evidence=dict(evidence), note=note, command=command, created_at=time.time(),
        ))

    @retrying
    def add_note(self, experiment_id: int, text: str, study_id: int | None = None) -> int:
        """Attach a note to an experiment (or one of its studies); returns its id."""
        return self._insert_decision(notes, dict(experiment_id=experiment_id, study_id=study_id, text=text,
                                                 created_at=time.time()))

    @retrying
    def add_test_result(
        self, trial_id: int, step: int, checkpoint: str, function: str, metrics: Mapping[str, float | None],
        command: str | None = None,
    ) -> int:
        """Record one test-set evaluation; returns its id. Non-finite values are stored as null."""
        values = {k: (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in metrics.items()}
        return self._insert_decision(test_results, dict(
            trial_id=trial_id, step=step, checkpoint=checkpoint, function=function, metrics=values, command=command,
            created_at=time.time(),
        ))

    def _insert_decision(self, table: Any, row: dict[str, Any]) -> int:
        """Write one decision record and settle it into the store file; returns its id."""
        with self._write() as conn:
            new_id = int(conn.execute(insert(table).values(**row)).inserted_primary_key[0])
        self.settle()
        return new_id

    def settle(self) -> None:
        """Copy what was just written from SQLite's write-ahead log into the store file itself, so
        that a copy of the file alone carries it even while another process (a runner) keeps the
        store open. Nothing to do on PostgreSQL."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
