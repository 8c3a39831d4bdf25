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
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scitune.analysis.findings import trust_line
from scitune.analysis.summary import study_summary
from scitune.states import STATES
from scitune.store.reads import StoreReads

LOG_TAIL_BYTES = 8_000
PAGE_LIMIT = 500


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


class Views:
    """The pages' data over one read-only store."""

    def __init__(self, store: StoreReads) -> None:
        self.store = store
        self.cache = Cache()

    # -- experiments -------------------------------------------------------------------------------

    def version(self, name: str) -> dict[str, Any]:
        record = self.store.experiment(name)
        trials, finished, last_finish, last_start = self.store.activity(record.id)
        return {"trials": trials, "finished": finished, "last_finished_at": last_finish,
                "last_started_at": last_start, "key": f"{trials}:{finished}:{last_finish}:{last_start}"}

    def _reviewed(self, name: str):  # type: ignore[no-untyped-def]
        from scitune.analysis.review import review
        from scitune.steps.report import load

        record = self.store.experiment(name)
        key = ("review", name, self.store.activity(record.id))

        def compute():  # type: ignore[no-untyped-def]
            data = load(self.store, name)  # type: ignore[arg-type]
            return data, review(data.experiment, data.trials, data.metrics, data.studies, data.retrain)

        return self.cache.get(key, compute)

    def experiments(self) -> list[dict[str, Any]]:
        out = []
        for record in self.store.experiments():
            progress = self.store.progress(record.id, record.objective.mode)
            data, result = self._reviewed(record.name)
            answer = next(f for f in result.findings if f.check == "goal")
            out.append({
                "name": record.name, "goal": record.goal, "studies": len(data.studies),
                "states": progress["states"], "best": progress["best"], "objective": record.objective.metric,
                "mode": record.objective.mode, "verdict": answer.title,
                "warnings": sum(f.severity == "warning" for f in result.findings),
            })
        return plain(out)

    def overview(self, name: str) -> dict[str, Any]:
        """The report's answer, findings and per-study summary (no plots: :meth:`plots`)."""
        data, result = self._reviewed(name)
        exp = data.experiment
        answer = next(f for f in result.findings if f.check == "goal")
        summary = study_summary(data.trials, exp.objective.mode, [s.name for s in data.studies])
        from scitune.analysis.findings import CHECKS

        return plain({
            "name": exp.name, "goal": exp.goal, "objective": exp.objective.metric, "mode": exp.objective.mode,
            "answer": answer.to_dict(), "trust": trust_line(result.findings),
            "findings": [f.to_dict() for f in result.findings if f.check != "goal"],
            "passed": [CHECKS[c] for c in result.passed], "summary": summary,
            "studies": [s.name for s in data.studies], "params": exp.space.names,
            "importance": [i.as_record() for i in getattr(result, "importances", [])],
            "notes": [{"text": n.text, "created_at": n.created_at} for n in self.store.notes(data.record.id)],
            "version": self.version(name),
        })

    def plots(self, name: str) -> str:
        """Every plot of the report as a JSON array of {key, title, caption, figure} (a string:
        plotly's own encoder writes the figures)."""
        from scitune.steps.report import build_plots

        record = self.store.experiment(name)
        key = ("plots", name, self.store.activity(record.id))

        def compute() -> str:
            data, result = self._reviewed(name)
            parts = []
            for plot in build_plots(data, result):
                head = json.dumps({"key": plot.key, "title": plot.title, "caption": plot.caption})
                parts.append(head[:-1] + ', "figure": ' + plot.figure().to_json() + "}")
            return "[" + ",".join(parts) + "]"

        return self.cache.get(key, compute)

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
        from scitune.plots.parallel import parallel_figure, parallel_info

        record = self.store.experiment(name)
        exp = record.experiment
        key = ("parallel", name, study, top_k, log, infeasible, self.store.activity(record.id))

        def compute() -> str:
            trials = self.store.trials(name, study)
            info = parallel_info(trials, exp.space, exp.objective.metric, exp.objective.mode, top_k, log, infeasible)
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
