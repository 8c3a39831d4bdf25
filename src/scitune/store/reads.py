"""Reading the store: experiments, studies, the trial table, metric points, checkpoints.

Read-only transactions, shared by every command that only looks (status, trials, best, report)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from scitune.errors import NotFoundError
from scitune.store.retry import retrying
from scitune.store.schema import COMPLETED, RUNNING, STATES, checkpoints, experiments, metrics, studies, trials


class StoreReads:
    """The read half of :class:`~scitune.store.Store`."""

    url: str
    engine: Engine

    @property
    def safe_url(self) -> str:
        """The store URL with any password masked, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @retrying
    def experiment(self, name: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).mappings().first()
            if row is None:
                known = conn.execute(select(experiments.c.name).order_by(experiments.c.name)).scalars().all()
        if row is None:
            hint = f"known experiments: {', '.join(known)}" if known else "the store holds no experiment yet"
            raise NotFoundError(f"no experiment named '{name}' in {self.url}", hint=hint)
        return dict(row)

    @retrying
    def experiments(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(select(experiments).order_by(experiments.c.id)).mappings()]

    @retrying
    def studies(self, experiment_id: int, kind: str | None = "search") -> list[dict[str, Any]]:
        """The experiment's studies of ``kind`` ("search", "retrain", or None for all), oldest first."""
        with self._read() as conn:
            query = select(studies).where(studies.c.experiment_id == experiment_id).order_by(studies.c.id)
            if kind is not None:
                query = query.where(studies.c.kind == kind)
            return [dict(r) for r in conn.execute(query).mappings()]

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
        scope.append(studies.c.id.in_(list(study_ids)) if study_ids is not None else studies.c.kind == "search")
        with self._read() as conn:
            by_state = dict(
                conn.execute(
                    select(trials.c.state, func.count()).select_from(joined).where(*scope).group_by(trials.c.state)
                ).all()
            )
            best = conn.execute(
                select(best_of(trials.c.best_value))
                .select_from(joined)
                .where(*scope, trials.c.state.in_((COMPLETED, RUNNING)))
            ).scalar()
        return {"states": {s: int(by_state.get(s, 0)) for s in STATES}, "best": best}

    @retrying
    def trials(self, experiment: str, study: str | None = None, kind: str | None = "search") -> pd.DataFrame:
        """One row per trial: study, number, state, reason, params (dict), best step and value, times.
        Only the search studies' trials unless ``kind`` says otherwise ("retrain", or None for all)."""
        exp = self.experiment(experiment)
        query = (
            select(studies.c.name.label("study"), trials.c.number.label("trial"), trials.c.id, trials.c.state,
                   trials.c.reason, trials.c.params, trials.c.seed, trials.c.best_step, trials.c.best_value,
                   trials.c.started_at, trials.c.finished_at, trials.c.host, trials.c.attempts, trials.c.traceback,
                   trials.c.directory,
                   studies.c.kind, studies.c.parent_trial_id)
            .join(studies, studies.c.id == trials.c.study_id)
            .where(studies.c.experiment_id == exp["id"])
            .order_by(studies.c.id, trials.c.number)
        )
        if kind is not None:
            query = query.where(studies.c.kind == kind)
        if study is not None:
            names = [s["name"] for s in self.studies(exp["id"], kind)]
            if study not in names:
                raise NotFoundError(f"experiment '{experiment}' has no study '{study}'", hint=f"its studies: {', '.join(names)}")
            query = query.where(studies.c.name == study)
        with self._read() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
        if frame.empty:
            frame = pd.DataFrame(columns=[c.name for c in query.selected_columns])
        return frame

    @retrying
    def metrics(self, trial_ids: Sequence[int]) -> pd.DataFrame:
        """Every metric point of the given trials: trial_id, name, step, value (NaN where NaN)."""
        ids = [int(i) for i in trial_ids]
        with self._read() as conn:
            rows = conn.execute(
                select(metrics.c.trial_id, metrics.c.name, metrics.c.step, metrics.c.value)
                .where(metrics.c.trial_id.in_(ids))
                .order_by(metrics.c.trial_id, metrics.c.name, metrics.c.step)
            ).all()
        # Column by column: a DataFrame built row by row from Row objects probes each one with
        # hasattr (which raises inside SQLAlchemy): many times slower on millions of points.
        names = ["trial_id", "name", "step", "value"]
        columns = list(zip(*rows)) if rows else [()] * len(names)
        frame = pd.DataFrame({name: list(column) for name, column in zip(names, columns)})
        frame["value"] = frame["value"].astype(float)  # NULL -> NaN
        return frame
