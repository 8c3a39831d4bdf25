"""The handle a training function receives: ``train(hparams, trial)``.

It answers "when do I evaluate?" and takes metric points. Points are buffered and written in
batches (every ``flush_points`` points or ``flush_seconds``, and at the end together with the final
state), so reporting is cheap even at every step. The handle also keeps the trial's best evaluation
so far: the playbook's retrospective checkpoint selection reads the objective at its best step.
"""

from __future__ import annotations

import math
import operator
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from scitune.config import Objective
from scitune.errors import TrialInfeasible
from scitune.run.checkpoints import TrialFiles

FlushFn = Callable[[list[tuple[int, str, float]], "tuple[int, float] | None"], None]


def _is_number(raw: Any) -> bool:
    try:
        float(raw)
    except (TypeError, ValueError):
        return False
    return True


class Trial:
    """One training run at one point of the search space."""

    def __init__(
        self,
        *,
        study: str,
        number: int,
        params: Mapping[str, Any],
        seed: int,
        max_train_steps: int,
        eval_every: int,
        objective: Objective,
        flush: FlushFn | None = None,
        flush_points: int = 3000,
        flush_seconds: float = 1.0,
        files: TrialFiles | None = None,
        best: tuple[int, float] | None = None,
        attempt: int = 1,
    ) -> None:
        self.study = study
        self.attempt = attempt  # 1 for a trial's first run; each rerun after an interruption adds one
        self.number = number
        self.params = dict(params)
        self.seed = seed
        self.max_train_steps = max_train_steps
        self.eval_every = eval_every
        self.objective = objective
        self.best_step: int | None = best[0] if best else None
        self.best_value: float | None = best[1] if best else None
        self._files = files
        self.notes: list[str] = []  # things worth telling the user that did not stop the trial
        self.infeasible_reason: str | None = None
        self.reported: set[str] = set()  # every metric name reported: says what a missing objective was called
        self._flush = flush
        self._flush_points = flush_points
        self._flush_seconds = flush_seconds
        self._buffer: list[tuple[int, str, float]] = []
        self._last_flush = time.monotonic()
        self._best_dirty = False

    def should_eval(self, step: int) -> bool:
        """True every ``eval_every`` steps and at the last step (steps count from 1)."""
        return step % self.eval_every == 0 or step == self.max_train_steps

    def report(self, step: int, **metrics: float) -> None:
        """Record metric values at a training step, e.g. ``trial.report(100, val_error=0.04)``.

        Values may be Python or NumPy numbers or 0-d tensors (anything ``float()`` accepts). A NaN
        or infinite objective, or one in any metric whose name contains ``loss``, makes the trial
        infeasible and raises :class:`TrialInfeasible` to end training early."""
        try:
            if isinstance(step, bool):
                raise TypeError
            step = operator.index(step)
        except TypeError:
            raise TypeError(f"report(step=...) takes an integer step, got {step!r}") from None
        if step < 0:
            raise ValueError(f"report(step=...) must not be negative, got {step}")
        if not metrics:
            raise ValueError("report() needs at least one metric, e.g. report(step, val_loss=0.3)")
        if step > self.max_train_steps:  # a stale or runaway writer: never a point of this trial
            note = f"points beyond max_train_steps ({self.max_train_steps}) were skipped, first at step {step}"
            if not any(n.startswith("points beyond max_train_steps") for n in self.notes):
                self.notes.append(note)
            return
        try:
            values = {name: float(raw) for name, raw in metrics.items()}
        except (TypeError, ValueError):
            name, raw = next((n, r) for n, r in metrics.items() if not _is_number(r))
            raise TypeError(f"metric '{name}' must be a number, got {raw!r}") from None
        self._buffer += [(step, name, value) for name, value in values.items()]
        self.reported.update(values)

        bad = []
        if not all(map(math.isfinite, values.values())):  # the common case skips the scan
            bad = [n for n, v in values.items() if not math.isfinite(v) and (n == self.objective.metric or "loss" in n)]
        if bad:
            bad.sort(key=lambda n: n != self.objective.metric)  # name the objective first
            also = f" (also {', '.join(bad[1:])})" if len(bad) > 1 else ""
            self.infeasible_reason = f"{bad[0]} is {values[bad[0]]} at step {step}{also}"
        elif self.objective.metric in values:
            value = values[self.objective.metric]
            if self.best_value is None or self.objective.better(value, self.best_value):
                self.best_step, self.best_value = step, value
                self._best_dirty = True
            if self._files is not None:
                self._files.observe(step, value)

        if self.infeasible_reason:
            raise TrialInfeasible(self.infeasible_reason)
        if len(self._buffer) >= self._flush_points or time.monotonic() - self._last_flush >= self._flush_seconds:
            self.flush()

    # -- checkpoints -----------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """This trial's own folder (created on first use), for checkpoints and anything else."""
        return self._require_files().directory

    def save_checkpoint(self, step: int, state: Any) -> Path:
        """Save ``state`` (e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict()}``)
        as the checkpoint of ``step``, atomically. scitune keeps the best few by the objective at
        their step, plus the latest, and deletes the rest. Returns the file's path."""
        files = self._require_files()
        self.flush()  # a resumed trial keeps the points up to its checkpoint: they must be stored first
        return files.save(step, state)

    def adopt_checkpoint(self, step: int, path: Path) -> None:
        """Register a checkpoint file the training program wrote itself (command mode)."""
        files = self._require_files()
        self.flush()
        files.adopt(step, path)

    @property
    def resume_point(self) -> tuple[int, str] | None:
        """``(step, path)`` of the checkpoint this attempt continues from, without loading it."""
        return self._files.resume_from if self._files is not None else None

    def resume(self) -> tuple[int, Any] | None:
        """``(step, state)`` of the checkpoint an interrupted trial continues from, or None when it
        starts from scratch. Continue training at ``step + 1``; earlier metric points are kept."""
        return self._require_files().resume() if self._files is not None else None

    def _require_files(self) -> TrialFiles:
        if self._files is None:
            raise RuntimeError("this trial has no folder: it is not run by a scitune runner")
        return self._files

    @property
    def best(self) -> tuple[int, float] | None:
        """(best step, objective there), or None before the objective was reported."""
        return None if self.best_step is None else (self.best_step, self.best_value)  # type: ignore[return-value]

    def flush(self) -> None:
        """Write buffered points now (the runner also does this when the trial ends)."""
        if self._flush is not None and (self._buffer or self._best_dirty):
            self._flush(self._buffer, self.best)
        self._buffer = []
        self._best_dirty = False
        self._last_flush = time.monotonic()

    def take_buffer(self) -> list[tuple[int, str, float]]:
        """Hand the unwritten points to the runner, which writes them with the final state."""
        rows, self._buffer = self._buffer, []
        return rows

    def __repr__(self) -> str:
        return f"Trial(study={self.study!r}, number={self.number}, params={self.params})"
