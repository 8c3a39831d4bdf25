"""Reading the store: experiments, studies, the trial table, metric points, checkpoints, launches,
notes and test results.

Read-only transactions, shared by every command that only looks (status, trials, best, report).
Rows leave as typed records (:mod:`scitune.store.records`); trials and metric points as frames."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from sqlalchemy import Connection, Engine, Text, column, func, select, table, text, type_coerce

from scitune.errors import NotFoundError
from scitune.states import STATES, StudyKind, TrialState
from scitune.store.records import (
    ExperimentRecord,
    LaunchRecord,
    NoteRecord,
    StudyRecord,
    TestResultRecord,
    TrialLocation,
)
from scitune.store.retry import retrying
from scitune.store.schema import (
    PARAM_ROWS,
    checkpoints,
    display_url,
    experiments,
    launches,
    notes,
    studies,
    test_results,
    trials,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    class _Pandas:
        """pandas, imported on first use: ``scitune status`` reads plain rows and never needs it."""

        def __getattr__(self, name: str) -> Any:
            import pandas

            return getattr(pandas, name)

    pd = _Pandas()

KindFilter = StudyKind | str | None
_IDS_PER_QUERY = 20_000  # trial ids inlined per metrics query (SQL text stays well under a megabyte)
_ROWS_PER_CHUNK = 20_000  # rows fetched (as Python tuples) at a time
_LARGEST = 1.7976931348623157e308  # the largest finite float: a bound that keeps out infinities
_PROBED_PAGES = 2_000  # pages ending within this many rows check a range by a probe per trial walked
_PARAM_ROWS_TABLE = table(PARAM_ROWS, column("name"), column("value"), column("trial_id"), column("study_id"))


def _range_terms(rows: Any, name: str, low: float | None, high: float | None) -> list[Any]:
    """A hyperparameter range on parameter rows: the name, then either bound (the paged read's JSON
    comparison, on the value the rows hold)."""
    terms = [rows.c.name == name]
    if low is not None:
        terms.append(rows.c.value >= float(low))
    if high is not None:
        terms.append(rows.c.value <= float(high))
    return terms


def _in_range(trial_id: Any, name: str, low: float | None, high: float | None, probe: bool) -> Any:
    """Whether the trial ``trial_id`` has ``name`` in [low, high]. ``probe``: one probe of the
    parameter rows' lookup index (trial_id, name, value) per trial checked, for a walk that stops
    after a shallow page (a few hundred probes); else the trials in range read once off the rows'
    order index and each trial checked against them (a fixed cost of a read of the range, cheaper
    than a probe each for counts and deep pages: 100,000 trials, 33,000 in range, 0.16 against 0.45 s
    on a loaded machine)."""
    rows = _PARAM_ROWS_TABLE.alias("in_range")
    if not probe:
        return trial_id.in_(select(rows.c.trial_id).where(*_range_terms(rows, name, low, high)))
    return select(rows.c.trial_id).where(rows.c.trial_id == trial_id, *_range_terms(rows, name, low, high)).exists()


def _json_values(raw: list[Any]) -> list[Any]:
    """JSON column values as Python objects: text (SQLite) parsed as one array in one call, which
    is several times faster than a parse per row on 100,000 rows; already decoded ones (PostgreSQL's
    driver decodes json itself) as they are."""
    if raw and all(isinstance(v, str) for v in raw):
        return json.loads("[" + ",".join(raw) + "]")
    return [json.loads(v) if isinstance(v, (str, bytes)) else v for v in raw]


class StoreReads:
    """The read half of :class:`~scitune.store.Store`."""

    url: str
    engine: Engine

    @property
    def safe_url(self) -> str:
        """The store URL with any password masked, for messages."""
        return display_url(self.url)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def _experiment_record(self, row: Any) -> ExperimentRecord:
        return ExperimentRecord(
            id=int(row["id"]), name=row["name"], goal=row["goal"], definition=dict(row["definition"]),
            config_text=row["config_text"], config_path=row["config_path"], command=row["command"],
            created_at=float(row["created_at"]), updated_at=float(row["updated_at"]), store_url=self.safe_url,
        )

    @retrying
    def experiment(self, name: str) -> ExperimentRecord:
        """The experiment called ``name``; :class:`NotFoundError` (listing the known ones) if none is."""
        with self._read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).mappings().first()
            if row is None:
                known = conn.execute(select(experiments.c.name).order_by(experiments.c.name)).scalars().all()
        if row is None:
            hint = f"known experiments: {', '.join(known)}" if known else "the store holds no experiment yet"
            raise NotFoundError(f"no experiment named '{name}' in {self.safe_url}", hint=hint)
        return self._experiment_record(row)

    @retrying
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(experiments).order_by(experiments.c.id)).mappings().all()
        return [self._experiment_record(r) for r in rows]

    @retrying
    def studies(self, experiment_id: int, kind: KindFilter = StudyKind.SEARCH) -> list[StudyRecord]:
        """The experiment's studies of ``kind`` (search, retrain, or None for all), oldest first."""
        with self._read() as conn:
            query = select(studies).where(studies.c.experiment_id == experiment_id).order_by(studies.c.id)
            if kind is not None:
                query = query.where(studies.c.kind == str(kind))
            rows = conn.execute(query).mappings().all()
        return [
            StudyRecord(
                name=r["name"], scientific=dict(r["scientific"]), id=int(r["id"]),
                experiment_id=int(r["experiment_id"]), search=dict(r["search"] or {}), kind=StudyKind(r["kind"]),
                parent_trial_id=r["parent_trial_id"], created_at=float(r["created_at"]),
            )
            for r in rows
        ]

    def study(self, experiment: ExperimentRecord, name: str, kind: KindFilter = StudyKind.SEARCH) -> StudyRecord:
        """One study of ``experiment`` by name; :class:`NotFoundError` (listing its studies) if none is."""
        found = self.studies(experiment.id, kind)
        for study in found:
            if study.name == name:
                return study
        raise NotFoundError(f"experiment '{experiment.name}' has no study '{name}'",
                            hint=f"its studies: {', '.join(s.name for s in found)}")

    @retrying
    def locate(self, trial_id: int) -> TrialLocation:
        """Which experiment and study hold trial ``trial_id``, and of which kind the study is."""
        with self._read() as conn:
            row = conn.execute(
                select(experiments.c.name.label("experiment"), studies.c.name.label("study"), studies.c.kind,
                       studies.c.parent_trial_id, trials.c.number)
                .join(studies, studies.c.id == trials.c.study_id)
                .join(experiments, experiments.c.id == studies.c.experiment_id)
                .where(trials.c.id == trial_id)
            ).mappings().first()
        if row is None:
            raise NotFoundError(f"no trial with id {trial_id} in {self.safe_url}",
                                hint="ids are in the id column of scitune trials")
        return TrialLocation(int(trial_id), row["experiment"], row["study"], StudyKind(row["kind"]),
                             row["parent_trial_id"], int(row["number"]))

    @retrying
    def launches(self) -> list[LaunchRecord]:
        """Every launch, oldest first; the last one is the current incumbent."""
        with self._read() as conn:
            rows = conn.execute(
                select(launches, experiments.c.name.label("experiment"))
                .join(experiments, experiments.c.id == launches.c.experiment_id)
                .order_by(launches.c.id)
            ).mappings().all()
        return [
            LaunchRecord(
                id=int(r["id"]), experiment_id=int(r["experiment_id"]), experiment=r["experiment"],
                trial_id=int(r["trial_id"]), study=r["study"], trial=int(r["trial"]), config=dict(r["config"]),
                objective=dict(r["objective"]), evidence=dict(r["evidence"]), note=r["note"], command=r["command"],
                created_at=float(r["created_at"]),
            )
            for r in rows
        ]

    @retrying
    def notes(self, experiment_id: int) -> list[NoteRecord]:
        """An experiment's notes, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(notes).where(notes.c.experiment_id == experiment_id).order_by(notes.c.id)
            ).mappings().all()
        return [NoteRecord(int(r["id"]), int(r["experiment_id"]), r["study_id"], r["text"], float(r["created_at"]))
                for r in rows]

    @retrying
    def test_results(self, trial_ids: Sequence[int]) -> list[TestResultRecord]:
        """Every test evaluation of the given trials, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(test_results).where(test_results.c.trial_id.in_([int(i) for i in trial_ids]))
                .order_by(test_results.c.id)
            ).mappings().all()
        return [
            TestResultRecord(int(r["id"]), int(r["trial_id"]), int(r["step"]), r["checkpoint"], r["function"],
                             dict(r["metrics"]), r["command"], float(r["created_at"]))
            for r in rows
        ]

    @retrying
    def checkpoints(self, trial_ids: Sequence[int]) -> pd.DataFrame:
        """The kept checkpoints of the given trials: trial_id, step, path."""
        with self._read() as conn:
            rows = conn.execute(
                select(checkpoints.c.trial_id, checkpoints.c.step, checkpoints.c.path)
                .where(checkpoints.c.trial_id.in_([int(i) for i in trial_ids]))
                .order_by(checkpoints.c.trial_id, checkpoints.c.step)
            ).all()
        return pd.DataFrame(rows, columns=["trial_id", "step", "path"])

    @retrying
    def progress(self, experiment_id: int, mode: str, study_ids: Sequence[int] | None = None) -> dict[str, Any]:
        """Trials by state and the best objective so far (of the search studies, or of
        ``study_ids``): cheap enough to poll."""
        best_of = func.min if mode == "min" else func.max
        joined = trials.join(studies, studies.c.id == trials.c.study_id)
        scope = [studies.c.experiment_id == experiment_id]
        scope.append(studies.c.id.in_(list(study_ids)) if study_ids is not None else studies.c.kind == StudyKind.SEARCH)
        with self._read() as conn:
            by_state = dict(
                conn.execute(
                    select(trials.c.state, func.count()).select_from(joined).where(*scope).group_by(trials.c.state)
                ).all()
            )
            best = conn.execute(
                select(best_of(trials.c.best_value))
                .select_from(joined)
                .where(*scope, trials.c.state.in_((TrialState.COMPLETED, TrialState.RUNNING)))
            ).scalar()
        return {"states": {s: int(by_state.get(s, 0)) for s in STATES}, "best": best}

    @retrying
    def state_counts(self, experiment_id: int, kind: KindFilter = StudyKind.SEARCH) -> pd.DataFrame:
        """Trials by study and state, counted in the database (``status`` of 100,000 trials reads a
        few rows instead of every trial): columns study, state, count."""
        return pd.DataFrame(self.state_count_rows(experiment_id, kind), columns=["study", "state", "count"])

    @retrying
    def state_count_rows(self, experiment_id: int, kind: KindFilter = StudyKind.SEARCH) -> list[tuple[str, str, int]]:
        """:meth:`state_counts` as plain (study, state, count) triples."""
        query = (
            select(studies.c.name, trials.c.state, func.count())
            .join(studies, studies.c.id == trials.c.study_id)
            .where(studies.c.experiment_id == experiment_id)
            .group_by(studies.c.name, trials.c.state)
        )
        if kind is not None:
            query = query.where(studies.c.kind == str(kind))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [(str(study), str(state), int(count)) for study, state, count in rows]

    @retrying
    def best_candidates(self, experiment: str, mode: str, kind: KindFilter = StudyKind.SEARCH) -> pd.DataFrame:
        """The rows of :meth:`trials` that can be a study's best trial: in each study, the completed
        trials whose finite objective equals the study's best one (ties included). The database
        narrows 100,000 trials to these few; :func:`scitune.analysis.ranking.ranked` over them gives
        the same first trial per study as over every trial, and stays the one rule."""
        return self._trials_frame(self._best_candidates_query(experiment, mode, kind))

    @retrying
    def best_candidate_rows(self, experiment: str, mode: str,
                            kind: KindFilter = StudyKind.SEARCH) -> list[dict[str, Any]]:
        """:meth:`best_candidates` as plain rows (a dict per trial, the frame's columns)."""
        with self._read() as conn:
            result = conn.execute(self._best_candidates_query(experiment, mode, kind))
            names = list(result.keys())
            rows = [dict(zip(names, row)) for row in result.all()]
        for row in rows:
            row["params"] = _json_values([row["params"]])[0]
        return rows

    def _best_candidates_query(self, experiment: str, mode: str, kind: KindFilter) -> Any:
        exp = self.experiment(experiment)
        finite = (trials.c.best_value > -_LARGEST) & (trials.c.best_value < _LARGEST)  # not NULL (NaN), not +-inf
        best_of = func.min if mode == "min" else func.max
        done = [trials.c.state == TrialState.COMPLETED.value, finite, studies.c.experiment_id == exp.id]
        if kind is not None:
            done.append(studies.c.kind == str(kind))
        best = (
            select(trials.c.study_id, best_of(trials.c.best_value).label("value"))
            .join(studies, studies.c.id == trials.c.study_id)
            .where(*done)
            .group_by(trials.c.study_id)
            .subquery()
        )
        query = self._trials_query(exp.id, kind).join(
            best, (best.c.study_id == trials.c.study_id) & (best.c.value == trials.c.best_value)
        ).where(*done)
        return query

    def _trials_query(self, experiment_id: int, kind: KindFilter) -> Any:
        query = (
            select(studies.c.name.label("study"), trials.c.number.label("trial"), trials.c.id, trials.c.study_id,
                   trials.c.state, trials.c.reason, type_coerce(trials.c.params, Text).label("params"), trials.c.seed,
                   trials.c.best_step, trials.c.best_value,
                   trials.c.started_at, trials.c.finished_at, trials.c.host, trials.c.attempts, trials.c.traceback,
                   trials.c.directory,
                   studies.c.kind, studies.c.parent_trial_id)
            .join(studies, studies.c.id == trials.c.study_id)
            .where(studies.c.experiment_id == experiment_id)
            .order_by(studies.c.id, trials.c.number)
        )
        if kind is not None:
            query = query.where(studies.c.kind == str(kind))
        return query

    def _trials_frame(self, query: Any) -> pd.DataFrame:
        with self._read() as conn:
            result = conn.execute(query)
            names = list(result.keys())
            rows = result.all()
        # Column by column from plain tuples: a frame from 100,000 row mappings costs seconds.
        columns = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]
        if "params" in names:
            i = names.index("params")
            columns[i] = _json_values(columns[i])
        return pd.DataFrame(dict(zip(names, columns)), columns=names)

    @retrying
    def trials(self, experiment: str, study: str | None = None, kind: KindFilter = StudyKind.SEARCH,
               ids: Sequence[int] | None = None) -> pd.DataFrame:
        """One row per trial: study, number, state, reason, params (dict), best step and value, times.
        Only the search studies' trials unless ``kind`` says otherwise (retrain, or None for all);
        only the trials with these ``ids`` when given."""
        exp = self.experiment(experiment)
        query = self._trials_query(exp.id, kind)
        if study is not None:
            self.study(exp, study, kind)  # a clear error for a study that is not there
            query = query.where(studies.c.name == study)
        if ids is not None:
            query = query.where(trials.c.id.in_([int(i) for i in ids]))
        return self._trials_frame(query)

    @retrying
    def trial_columns(self, experiment: str, study: str | None = None,
                      kind: KindFilter = StudyKind.SEARCH) -> dict[str, list[Any]]:
        """The columns a trial table is made of, as plain lists (no pandas), in :meth:`trials`' order
        (by study, then number): study, trial, id, state, reason, params (dicts), best_step,
        best_value, started_at, finished_at."""
        exp = self.experiment(experiment)
        chosen = [self.study(exp, study, kind)] if study is not None else self.studies(exp.id, kind)
        names = {s.id: s.name for s in chosen}
        fields = ["study", "trial", "id", "state", "reason", "params", "best_step", "best_value", "started_at",
                  "finished_at"]
        if not names:
            return {name: [] for name in fields}
        # The studies' ids, not a join: SQLite then walks the trials in (study, number) order off
        # their unique index instead of sorting 100,000 rows with their parameters. Straight through
        # the driver's cursor (as :meth:`metrics`): SQLAlchemy's rows would cost a sixth more.
        scope = ",".join(str(int(i)) for i in names)  # integers: safe inline
        with self._read() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute("SELECT study_id, number, id, state, reason, params, best_step, best_value, started_at, "
                               f"finished_at FROM trials WHERE study_id IN ({scope}) ORDER BY study_id, number")
                rows = cursor.fetchall()
            finally:
                cursor.close()
        columns = dict(zip(fields, ([*c] for c in zip(*rows)))) if rows else {name: [] for name in fields}
        columns["study"] = [names[i] for i in columns["study"]]
        columns["params"] = _json_values(columns["params"])
        return columns

    @retrying
    def metrics(self, trial_ids: Sequence[int]) -> pd.DataFrame:
        """Every metric point of the given trials: trial_id, name, step, value (NaN where NaN)."""
        import numpy as np

        ids = sorted({int(i) for i in trial_ids})
        columns = _PointColumns()
        with self._read() as conn:
            # Straight through the driver's cursor, in chunks, each chunk turned into typed columns
            # at once: SQLAlchemy's Row objects (and a bind parameter per id) cost more than the
            # database's work on millions of points, and Python tuples cost ~5x the frame.
            # PostgreSQL: a server-side cursor, so that the rows stream chunk by chunk (a client-side
            # one holds the whole result in libpq's memory before the first fetch).
            server_side = conn.dialect.name == "postgresql"
            for at in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ",".join(str(i) for i in ids[at:at + _IDS_PER_QUERY])  # integers: safe inline
                dbapi = conn.connection.dbapi_connection
                cursor = dbapi.cursor(name=f"scitune_metrics_{at}") if server_side else dbapi.cursor()
                try:
                    cursor.execute(f"SELECT trial_id, name, step, value FROM metrics WHERE trial_id IN ({chunk}) "
                                   "ORDER BY trial_id, name, step")
                    while rows := cursor.fetchmany(_ROWS_PER_CHUNK):
                        columns.add(np.array(rows, dtype=_POINT))  # NULL -> NaN
                        del rows
                finally:
                    cursor.close()
        if not columns.size:
            return pd.DataFrame({"trial_id": pd.Series(dtype="int64"), "name": pd.Series(dtype=object),
                                 "step": pd.Series(dtype="int64"), "value": pd.Series(dtype=float)})
        return columns.frame()

    # -- paged reads (the dashboard): one page of rows, never the whole table ----------------------

    TRIAL_PAGE_SORTS = ("id", "study", "trial", "state", "best_value", "best_step", "started_at", "finished_at")

    @retrying
    def trial_page(
        self,
        experiment_id: int,
        *,
        study: str | None = None,
        states: Sequence[str] = (),
        ranges: dict[str, tuple[float | None, float | None]] | None = None,
        sort: str = "id",
        descending: bool = False,
        limit: int = 50,
        offset: int = 0,
        kind: KindFilter = StudyKind.SEARCH,
    ) -> tuple[pd.DataFrame, int]:
        """One page of an experiment's trials and how many match: filtered by study, states and
        parameter ranges (``{name: (low, high)}``, either end open), sorted by a column of
        :attr:`TRIAL_PAGE_SORTS` or ``param:NAME`` (missing values last, ties by id), ``limit`` rows
        from ``offset``. SQL does the filtering, sorting and paging, so a page costs the same at
        100,000 trials as at 100. Columns: id, study, trial, state, reason, params, seed, best_step,
        best_value, started_at, finished_at, host, attempts."""
        # The studies in scope as a subquery, not a join: ordered by id, SQLite then walks the trials
        # in key order and stops after the page instead of sorting every trial.
        scope = [studies.c.experiment_id == experiment_id]
        if kind is not None:
            scope.append(studies.c.kind == str(kind))
        if study is not None:
            scope.append(studies.c.name == study)
        sqlite = self.engine.dialect.name == "sqlite"
        in_scope = select(studies.c.id).where(*scope).scalar_subquery()
        bounded = {name: (low, high) for name, (low, high) in (ranges or {}).items()
                   if low is not None or high is not None}
        if sort.startswith("param:"):
            key = trials.c.params[sort.removeprefix("param:")].as_float()
        elif sort == "study":
            key = trials.c.study_id
        elif sort == "trial":
            key = trials.c.number
        elif sort in self.TRIAL_PAGE_SORTS:
            key = trials.c[sort]
        else:
            raise ValueError(f"cannot sort trials by {sort!r}")
        order = [(key.desc() if descending else key.asc()).nulls_last(),
                 trials.c.id.desc() if descending else trials.c.id.asc()]
        if sort == "id":
            order = order[1:]
        joined = trials.join(studies, studies.c.id == trials.c.study_id)
        columns = [trials.c.id, studies.c.name.label("study"), trials.c.number.label("trial"), trials.c.state,
                   trials.c.reason, trials.c.params, trials.c.seed, trials.c.best_step, trials.c.best_value,
                   trials.c.started_at, trials.c.finished_at, trials.c.host, trials.c.attempts]
        by_param = sort.startswith("param:")
        # SQLite has no statistics here, so for the objective and hyperparameter sorts its planner would
        # rather take the study or state index (or the range's trial ids) and sort every trial it finds
        # (0.1-0.3 s at 100,000); the same filters written as expressions (study_id + 0, state || '',
        # id + 0) are ones no index answers, so it walks the sort's own index in order and checks them
        # on the entries it reaches. PostgreSQL's planner has statistics and gets the filters as written.
        walk = sqlite and (sort == "best_value" or by_param)

        def filters(param_rows: bool, hide: bool, skip: str | None = None) -> list[Any]:
            """The page's filters on trials; ``hide``: in the forms no SQLite index answers; ``skip``:
            a range left out (the sort's own, bounded on the rows it walks)."""
            out = [((trials.c.study_id + 0) if hide else trials.c.study_id).in_(in_scope)]
            if states:
                out.append(((trials.c.state + "") if hide else trials.c.state).in_([str(s) for s in states]))
            for name, (low, high) in bounded.items():
                if name == skip:
                    continue
                if param_rows:  # the trials whose row for that hyperparameter is in range
                    ids = (trials.c.id + 0) if hide else trials.c.id
                    out.append(_in_range(ids, name, low, high, probe=int(offset) + int(limit) <= _PROBED_PAGES))
                    continue
                value = trials.c.params[name].as_float()
                if low is not None:
                    out.append(value >= float(low))
                if high is not None:
                    out.append(value <= float(high))
            return out

        with self._read() as conn:
            param_rows = (by_param or bool(bounded)) and self._has_param_rows(conn)
            where = filters(param_rows, hide=False)
            sort_name = sort.removeprefix("param:") if by_param and param_rows else None
            paged = filters(param_rows, hide=walk, skip=sort_name)
            if param_rows and bounded:
                # Counted off the first range's rows (their index holds the value and the study), the
                # other ranges and the states checked on each: no trial's JSON is parsed.
                rows_table = _PARAM_ROWS_TABLE
                name, (low, high) = next(iter(bounded.items()))
                counted = [*_range_terms(rows_table, name, low, high), rows_table.c.study_id.in_(in_scope)]
                counted += [_in_range(rows_table.c.trial_id, other, lo, hi, probe=False)
                            for other, (lo, hi) in list(bounded.items())[1:]]
                counted_from: Any = rows_table
                if states:
                    counted_from = rows_table.join(trials, trials.c.id == rows_table.c.trial_id)
                    counted.append(trials.c.state.in_([str(s) for s in states]))
                total = conn.execute(select(func.count()).select_from(counted_from).where(*counted)).scalar()
            else:
                total = conn.execute(select(func.count()).select_from(trials).where(*where)).scalar()
            # Sort and skip over (key, id) alone, then read the page's rows whole: the database then
            # never sorts or steps over 100,000 rows with their parameters and reasons.
            if by_param and param_rows:
                ids = self._page_by_param_rows(conn, sort_name, in_scope, paged, descending, int(limit),
                                               int(offset), bounds=bounded.get(sort_name))
            else:
                ids = conn.execute(
                    select(trials.c.id).where(*paged).order_by(*order)
                    .limit(int(limit)).offset(int(offset))
                ).scalars().all()
            rows = conn.execute(select(*columns).select_from(joined).where(trials.c.id.in_(ids))).mappings().all()
        by_id = {r["id"]: r for r in rows}
        frame = pd.DataFrame([by_id[i] for i in ids], columns=[c.name for c in columns]) if ids else pd.DataFrame(
            columns=[c.name for c in columns])
        return frame, int(total or 0)

    @staticmethod
    def _has_param_rows(conn: Connection) -> bool:
        """Whether the store has its parameter rows (a store opened read-only before they existed has
        not: it is paged from the JSON column)."""
        if conn.dialect.name == "sqlite":
            return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = :n"), {"n": PARAM_ROWS}).first() is not None
        if conn.dialect.name == "postgresql":
            return conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": PARAM_ROWS}).scalar() is True
        return False

    @staticmethod
    def _page_by_param_rows(conn: Connection, name: str, scope: Any, where: list[Any], descending: bool,
                            limit: int, offset: int, bounds: tuple[float | None, float | None] | None = None,
                            ) -> list[int]:
        """A page of trial ids by one hyperparameter, read from the parameter rows: the trials
        with a value in (value, id) order off their index, the filters checked on each trial it
        reaches; then, as the JSON sort puts them, the trials without one (missing or null), by id."""
        rows = _PARAM_ROWS_TABLE
        # The study scope on the rows' own study id (the index covers it: no trial is read for a
        # page without state or range filters); the other filters on the trial.
        # A range on the sorted hyperparameter itself bounds the walk (the index seeks to its start).
        # On SQLite, + 0 keeps its planner off the study index; PostgreSQL's planner would take it as
        # an expression without statistics, guess a few rows and sort them all (0.38 s, not 0.09 s).
        study_id = (rows.c.study_id + 0) if conn.dialect.name == "sqlite" else rows.c.study_id
        valued = [*_range_terms(rows, name, *(bounds or (None, None))), rows.c.value.is_not(None),
                  study_id.in_(scope), *where[1:]]
        joined = rows.join(trials, trials.c.id == rows.c.trial_id) if where[1:] else rows
        direction = (lambda c: c.desc()) if descending else (lambda c: c.asc())
        ids = list(conn.execute(
            select(rows.c.trial_id).select_from(joined).where(*valued)
            .order_by(direction(rows.c.value), direction(rows.c.trial_id)).limit(limit).offset(offset)
        ).scalars().all())
        if len(ids) == limit or bounds is not None:  # a trial without a value is out of any range on it
            return ids
        # Past the valued trials: how many matched, then the rest of the page from those without one.
        n_valued = offset + len(ids) if ids else conn.execute(
            select(func.count()).select_from(joined).where(*valued)).scalar() or 0
        # The valued trials' ids read once (not a lookup per trial: SQLite would answer that from the
        # name's index, every valued row per trial, minutes at 100,000 for the last page).
        valued_ids = select(rows.c.trial_id).where(rows.c.name == name, rows.c.value.is_not(None))
        ids += conn.execute(
            select(trials.c.id).where(*where, trials.c.id.not_in(valued_ids)).order_by(direction(trials.c.id))
            .limit(limit - len(ids)).offset(max(0, offset - n_valued))
        ).scalars().all()
        return ids

    @retrying
    def trial_row(self, trial_id: int) -> dict[str, Any]:
        """Every column of one trial (traceback and folder included), with its study's name and kind."""
        with self._read() as conn:
            row = conn.execute(
                select(trials, studies.c.name.label("study"), studies.c.kind, studies.c.experiment_id)
                .join(studies, studies.c.id == trials.c.study_id)
                .where(trials.c.id == int(trial_id))
            ).mappings().first()
        if row is None:
            raise NotFoundError(f"no trial with id {trial_id} in {self.safe_url}")
        return dict(row)

    @retrying
    def activity(self, experiment_id: int) -> tuple[int, int, float | None, float | None]:
        """A cheap fingerprint of an experiment's progress: its trials, how many finished, the latest
        finish and start. It changes whenever a trial starts or finishes (what a live view polls)."""
        joined = trials.join(studies, studies.c.id == trials.c.study_id)
        with self._read() as conn:
            row = conn.execute(
                select(func.count(), func.count(trials.c.finished_at), func.max(trials.c.finished_at),
                       func.max(trials.c.started_at))
                .select_from(joined).where(studies.c.experiment_id == experiment_id)
            ).one()
        return int(row[0]), int(row[1]), row[2], row[3]


_POINT = [("trial_id", "i8"), ("name", "O"), ("step", "i8"), ("value", "f8")]  # a metric point, as numpy reads a row


class _PointColumns:
    """Metric points gathered as typed columns, chunk by chunk: a column of names holds a small
    code per row (the names themselves once each), and each column grows in place, so that the
    points cost little more than the frame they become."""

    def __init__(self) -> None:
        import numpy as np

        self.size, self.names = 0, {}
        self.data = {"trial_id": np.empty(0, np.int64), "name": np.empty(0, np.int32), "step": np.empty(0, np.int64),
                     "value": np.empty(0, float)}

    def add(self, chunk: Any) -> None:
        import numpy as np

        at, self.size = self.size, self.size + len(chunk)
        if self.size > len(self.data["value"]):  # doubled in place (realloc): no copy of what is held
            for values in self.data.values():
                values.resize(max(self.size, 2 * len(values), 1 << 16), refcheck=False)
        names = chunk["name"]
        for name in set(names).difference(self.names):
            self.names[name] = len(self.names)
        self.data["name"][at:self.size] = np.fromiter(map(self.names.__getitem__, names), np.int32, len(names))
        for key in ("trial_id", "step", "value"):
            self.data[key][at:self.size] = chunk[key]

    def frame(self) -> pd.DataFrame:
        import numpy as np

        for values in self.data.values():
            values.resize(self.size, refcheck=False)
        codes, names = self.data["name"], list(self.names)
        text = pd.Series(["x"]).dtype  # pandas' own dtype for text: Arrow-backed `str` (pandas 3) or object
        if getattr(text, "storage", None) == "pyarrow":  # built from the codes, never a Python string per row
            import pyarrow as pa

            decoded = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names, pa.string())).dictionary_decode()
            self.data["name"] = pd.array(decoded, dtype=text)
        else:  # an object column whose rows share the few name strings
            shared = np.empty(len(names), dtype=object)
            shared[:] = names
            self.data["name"] = shared[codes]
        return pd.DataFrame(self.data, copy=False)  # a block per column: no copy
