"""What each dashboard page shows, as JSON-ready plain data, from the store's reads and the steps.

Nothing here decides anything: the answer, findings and plots are the report's
(:mod:`scitune.steps.report`), the best trial is :func:`scitune.analysis.ranking.ranked`'s, a
comparison is ``scitune compare``'s (:func:`scitune.steps.decide.compare_trials`). What costs a
full read of an experiment (the review, the plots) is computed once per change of the store:
:meth:`StoreReads.activity` is the key, a few integers a live page polls every second.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scitune.analysis.findings import trust_line
from scitune.analysis.summary import study_summary
from scitune.states import STATES, UNUSABLE
from scitune.store.reads import StoreReads

LOG_TAIL_BYTES = 8_000
PAGE_LIMIT = 500
PARALLEL_MAX = 10_000  # lines a parallel-coordinates plot draws at most (the best ones)


def plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN and infinities to None, frames to lists of rows."""
    if isinstance(value, pd.DataFrame):
        return [plain(r) for r in value.astype(object).where(value.notna(), None).to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Cache:
    """A few results keyed by (what, the store's activity): recomputed only when trials change."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class Background:
    """What costs a full read of an experiment (the review, its plots), computed in one background
    thread, the latest result per experiment kept. A page asks with a short wait: it gets the
    fresh result if it is ready by then, else the previous one (marked stale) or nothing yet, and
    asks again. At 100,000 trials the checks take longer than a page may: the page shows at once
    and fills in."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scitune-review")
        self._lock = threading.Lock()
        self._running: dict[tuple, tuple[tuple, Future]] = {}  # (what, name) -> (key, future)
        self._latest: dict[tuple, tuple[tuple, Any]] = {}  # (what, name) -> (key, value)

    def get(self, slot: tuple, key: tuple, compute: Callable[[], Any], wait: float) -> tuple[Any, bool]:
        """(value, fresh): ``value`` None when nothing was ever computed for ``slot``."""
        with self._lock:
            latest = self._latest.get(slot)
            if latest is not None and latest[0] == key:
                return latest[1], True
            running = self._running.get(slot)
            if running is None or (running[0] != key and running[1].done()):
                future = self._pool.submit(self._finish, slot, key, compute)
                self._running[slot] = (key, future)
            else:
                future = running[1]
        try:
            future.result(timeout=wait)
        except FutureTimeout:
            pass
        except Exception:
            if running is None or running[0] == key:
                with self._lock:
                    self._running.pop(slot, None)
                raise
        with self._lock:
            latest = self._latest.get(slot)
        if latest is None:
            return None, False
        return latest[1], latest[0] == key

    def _finish(self, slot: tuple, key: tuple, compute: Callable[[], Any]) -> None:
        value = compute()
        with self._lock:
            self._latest[slot] = (key, value)


@dataclass(frozen=True)
class Checked:
    """The report's checks and plots of one experiment, JSON-ready (what crosses from the checks'
    process to the server)."""

    key: tuple
    trials: int
    answer: dict[str, Any]
    trust: str
    warnings: int
    findings: list[dict[str, Any]]
    passed: list[str]
    summary: list[dict[str, Any]]
    importance: list[dict[str, Any]]
    plots: str  # a JSON array of {key, title, caption, figure}


def checked(url: str, name: str, key: tuple) -> Checked:
    """Read experiment ``name`` from the store at ``url`` and run the report's checks and plots on it
    (:mod:`scitune.steps.report`). Runs in the dashboard's checks process: at 100,000 trials it takes
    about 10 s of CPU and 0.5 GB (BENCHMARKS.md section 13), which the server itself never holds."""
    from scitune.analysis.findings import CHECKS
    from scitune.analysis.review import review
    from scitune.steps.report import build_plots, load
    from scitune.store.readonly import ReadOnlyStore

    store = _stores.get(url) or _stores.setdefault(url, ReadOnlyStore(url))
    data = load(store, name)  # type: ignore[arg-type]
    result = review(data.experiment, data.trials, data.metrics, data.studies, data.retrain)
    exp = data.experiment
    parts = []
    for plot in build_plots(data, result):
        head = json.dumps({"key": plot.key, "title": plot.title, "caption": plot.caption})
        parts.append(head[:-1] + ', "figure": ' + plot.figure().to_json() + "}")
    return Checked(
        key=key, trials=len(data.trials),
        answer=plain(next(f for f in result.findings if f.check == "goal").to_dict()),
        trust=trust_line(result.findings), warnings=sum(f.severity == "warning" for f in result.findings),
        findings=[plain(f.to_dict()) for f in result.findings if f.check != "goal"],
        passed=[CHECKS[c] for c in result.passed],
        summary=plain(study_summary(data.trials, exp.objective.mode, [s.name for s in data.studies])),
        importance=plain([i.as_record() for i in result.importances]), plots="[" + ",".join(parts) + "]",
    )


_stores: dict[str, StoreReads] = {}  # the checks process keeps its store open between runs


class Views:
    """The pages' data over one read-only store. ``isolate``: run the report's checks in a separate
    process (the server's memory and responsiveness stay its own), else in a thread."""

    def __init__(self, store: StoreReads, isolate: bool = True) -> None:
        self.store = store
        self.pool: ProcessPoolExecutor | None = None
        if isolate:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self.cache = Cache()
        self.background = Background()
        self.wait = 1.5  # seconds a request waits for the checks before it answers with what it has

    # -- experiments -------------------------------------------------------------------------------

    def version(self, name: str) -> dict[str, Any]:
        record = self.store.experiment(name)
        trials, finished, last_finish, last_start = self.store.activity(record.id)
        return {"trials": trials, "finished": finished, "last_finished_at": last_finish,
                "last_started_at": last_start, "key": f"{trials}:{finished}:{last_finish}:{last_start}"}

    def _reviewed(self, name: str, wait: float | None = None) -> tuple[Checked | None, bool]:
        """(the report's checks and plots at the store's current state, or None yet; fresh)."""
        record = self.store.experiment(name)
        key = self.store.activity(record.id)

        def compute() -> Checked:
            if self.pool is None:
                return checked(self.store.url, name, key)
            return self.pool.submit(checked, self.store.url, name, key).result()

        return self.background.get(("review", name), key, compute, self.wait if wait is None else wait)

    def experiments(self) -> list[dict[str, Any]]:
        """Every experiment from cheap SQL counts; its answer's verdict when the checks are ready
        (``verdict`` None: still computing; the page asks again)."""
        out = []
        for record in self.store.experiments():
            progress = self.store.progress(record.id, record.objective.mode)
            found, fresh = self._reviewed(record.name, wait=min(self.wait, 0.2))
            out.append({"name": record.name, "goal": record.goal, "studies": len(self.store.studies(record.id)),
                        "states": progress["states"], "best": progress["best"],
                        "objective": record.objective.metric, "mode": record.objective.mode,
                        "verdict": found.answer["title"] if found else None,
                        "warnings": found.warnings if found else None, "fresh": fresh})
        return plain(out)

    def overview(self, name: str) -> dict[str, Any]:
        """The report's answer, findings, importance and per-study summary (no plots: :meth:`plots`).
        Until the checks are ready, ``pending`` is true and only the summary (from SQL) is there; a
        result computed before the latest trials finished comes with ``fresh`` false."""
        record = self.store.experiment(name)
        exp = record.experiment
        found, fresh = self._reviewed(name)
        studies = self.store.studies(record.id)
        page: dict[str, Any] = {
            "name": exp.name, "goal": exp.goal, "objective": exp.objective.metric, "mode": exp.objective.mode,
            "studies": [s.name for s in studies], "params": exp.space.names,
            "notes": [{"text": n.text, "created_at": n.created_at} for n in self.store.notes(record.id)],
            "version": self.version(name), "pending": found is None, "fresh": fresh,
        }
        if found is None:
            rows = []
            for st in studies:
                progress = self.store.progress(record.id, exp.objective.mode, [st.id])
                rows.append({"study": st.name, "trials": sum(progress["states"].values()), **progress["states"],
                             "best_objective": progress["best"]})
            page.update(summary=rows, answer=None, trust=None, findings=[], passed=[], importance=[])
            return plain(page)
        page.update(summary=found.summary, answer=found.answer, trust=found.trust, findings=found.findings,
                    passed=found.passed, importance=found.importance, as_of=found.trials)
        return plain(page)

    def plots(self, name: str) -> str | None:
        """Every plot of the report as a JSON array of {key, title, caption, figure} (a string:
        plotly's own encoder writes the figures), or None while the checks are computing."""
        found, _ = self._reviewed(name)
        return None if found is None else found.plots

    # -- trials ------------------------------------------------------------------------------------

    def trial_page(self, name: str, *, study: str | None, states: list[str], ranges: dict[str, tuple],
                   sort: str, descending: bool, limit: int, offset: int) -> dict[str, Any]:
        record = self.store.experiment(name)
        if study is not None:
            self.store.study(record, study)
        if sort.startswith("param:") and sort.removeprefix("param:") not in record.experiment.space.names:
            raise KeyError(sort)
        frame, total = self.store.trial_page(record.id, study=study, states=states, ranges=ranges, sort=sort,
                                             descending=descending, limit=min(max(int(limit), 1), PAGE_LIMIT),
                                             offset=max(int(offset), 0))
        return plain({"total": total, "offset": offset, "rows": frame, "params": record.experiment.space.names,
                      "studies": [s.name for s in self.store.studies(record.id)], "states": list(STATES),
                      "objective": record.objective.metric})

    def trial(self, trial_id: int) -> dict[str, Any]:
        from scitune.plots import curves_figure, curves_plot_info

        row = self.store.trial_row(trial_id)
        where = self.store.locate(trial_id)
        record = self.store.experiment(where.experiment)
        exp = record.experiment
        points = self.store.metrics([trial_id])
        one = pd.DataFrame([{"study": row["study"], "trial": row["number"], "id": row["id"],
                             "best_step": row["best_step"]}])
        info = curves_plot_info(one, points, exp.objective.metric, exp.objective.mode, exp.budget.max_train_steps)
        checkpoints = self.store.checkpoints([trial_id])
        bests = {}
        for metric, curve in points.groupby("name"):
            finite = curve[np.isfinite(curve["value"])]
            if len(finite):
                low = finite.loc[finite["value"].idxmin()]
                bests[str(metric)] = {"min_step": int(low["step"]), "min": float(low["value"])}
        return plain({
            "id": row["id"], "experiment": where.experiment, "study": row["study"], "kind": row["kind"],
            "number": row["number"], "state": row["state"], "reason": row["reason"], "traceback": row["traceback"],
            "params": row["params"], "seed": row["seed"], "best_step": row["best_step"],
            "best_value": row["best_value"], "objective": exp.objective.metric, "mode": exp.objective.mode,
            "host": row["host"], "attempts": row["attempts"], "started_at": row["started_at"],
            "finished_at": row["finished_at"], "directory": row["directory"], "metric_points": len(points),
            "metric_minima": bests, "checkpoints": checkpoints, "logs": log_tails(row["directory"]),
            "figure": json.loads(curves_figure(info).to_json()) if len(points) else None,
        })

    # -- compare and parallel coordinates ------------------------------------------------------------

    def compare(self, a: str, b: str) -> dict[str, Any]:
        from scitune.steps.decide import compare_trials, comparison_row
        from scitune.steps.naming import resolve_side

        left, right = resolve_side(self.store, a), resolve_side(self.store, b)  # type: ignore[arg-type]
        evidence = compare_trials(self.store, left, right)  # type: ignore[arg-type]
        sides = []
        for ref in (left, right):
            sides.append({"label": ref.label, "id": ref.id, "state": str(ref.state), "params": ref.params,
                          "best_value": ref.best_value, "best_step": ref.best_step})
        return plain({"a": sides[0], "b": sides[1], "metric": evidence.metric, "lines": evidence.lines(),
                      "row": comparison_row(evidence).iloc[0].to_dict(),
                      "verdict": evidence.comparison.verdict})

    def parallel(self, name: str, study: str | None, top_k: int | None, log: bool, infeasible: bool) -> str:
        """Parallel coordinates of the best ``top_k`` completed trials (at most :data:`PARALLEL_MAX`),
        and the infeasible and failed ones: each read as one sorted page of SQL, not the whole study."""
        from scitune.plots.parallel import parallel_figure, parallel_info

        record = self.store.experiment(name)
        exp = record.experiment
        key = ("parallel", name, study, top_k, log, infeasible, self.store.activity(record.id))
        if study is not None:
            self.store.study(record, study)

        def compute() -> str:
            k = min(top_k or PARALLEL_MAX, PARALLEL_MAX)
            best, _ = self.store.trial_page(record.id, study=study, states=["completed"], sort="best_value",
                                            descending=exp.objective.mode == "max", limit=k)
            frames = [best]
            if infeasible:
                bad, _ = self.store.trial_page(record.id, study=study, states=list(UNUSABLE), limit=PARALLEL_MAX)
                frames.append(bad)
            trials = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else best
            info = parallel_info(trials, exp.space, exp.objective.metric, exp.objective.mode, k, log, infeasible)
            return parallel_figure(info).to_json()

        return self.cache.get(key, compute)


def log_tails(directory: str | None) -> list[dict[str, str]]:
    """The last few kilobytes of each ``*.log`` file in a trial's folder."""
    if not directory or not Path(directory).is_dir():
        return []
    out = []
    for path in sorted(Path(directory).glob("*.log")):
        try:
            with open(path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - LOG_TAIL_BYTES))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        out.append({"name": path.name, "size": size, "tail": text})
    return out


__all__ = ["Views", "log_tails", "plain"]
