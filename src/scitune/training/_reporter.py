"""What the framework callbacks share: one place that sends metrics and checkpoints to scitune.

A callback either holds the trial handle of a Python ``train(hparams, trial)`` function, or, given
no trial, runs in command mode and speaks through :mod:`scitune.training.client` (the environment
the runner set). Either way it sees the same questions answered: the step budget, when to evaluate,
where the trial's folder is, which checkpoint to resume from, and the best step so far.

Imports only the standard library and the client: frameworks are imported by their own modules,
lazily.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scitune.training import client


def numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The entries of a framework's logs that are numbers (or 0-d tensors / arrays) as floats."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, numbers.Number):
            out[str(name)] = float(value)  # type: ignore[arg-type]
            continue
        size = getattr(value, "numel", None) or getattr(value, "size", None)
        try:
            count = size() if callable(size) else size
            if count == 1:
                out[str(name)] = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError, RuntimeError):
            pass
    return out


class Reporter:
    """A trial as the callbacks see it (``trial=None``: command mode, through the client)."""

    def __init__(self, trial: Any | None = None, objective: str | None = None, mode: str | None = None) -> None:
        self.trial = trial
        if trial is not None:
            self.objective = objective or trial.objective.metric
            self.mode = mode or trial.objective.mode
        else:
            metric, env_mode = client.objective()
            self.objective, self.mode = objective or metric, mode or env_mode
        self._best: tuple[int, float] | None = None  # command mode: the runner's rule, kept here too

    # -- the budget --------------------------------------------------------------------------------

    @property
    def max_train_steps(self) -> int:
        return self.trial.max_train_steps if self.trial is not None else client.max_train_steps()

    @property
    def eval_every(self) -> int:
        return self.trial.eval_every if self.trial is not None else client.eval_every()

    @property
    def seed(self) -> int:
        return self.trial.seed if self.trial is not None else client.seed()

    @property
    def directory(self) -> Path:
        return self.trial.directory if self.trial is not None else client.trial_dir()

    def should_eval(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.max_train_steps

    # -- metrics -----------------------------------------------------------------------------------

    def report(self, step: int, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Report a framework's logged metrics at ``step``; returns what was sent. A NaN objective
        or loss makes the trial infeasible: the Python handle raises, ending training."""
        values = numeric(metrics)
        if not values:
            return values
        if self.objective in values:
            value = values[self.objective]
            better = self._best is None or (value < self._best[1] if self.mode == "min" else value > self._best[1])
            if math.isfinite(value) and better:
                self._best = (int(step), value)
        if self.trial is not None:
            self.trial.report(int(step), **values)
        else:
            client.report(int(step), **values)
        return values

    @property
    def best(self) -> tuple[int, float] | None:
        """``(step, objective)`` of the best evaluation so far (a resumed trial's earlier ones included
        in Python mode)."""
        if self.trial is not None:
            return self.trial.best
        return self._best

    # -- checkpoints -------------------------------------------------------------------------------

    def checkpoint(self, step: int, write: Callable[[Path], None], suffix: str) -> Path:
        """Write the checkpoint of ``step`` with ``write(path)`` (atomically: a temporary name, then
        renamed) and announce it, so scitune keeps the best few and deletes the rest."""
        final = self.directory / f"ckpt-{int(step)}{suffix}"
        # The temporary name keeps the suffix: some frameworks (Keras) insist on it.
        with client.atomic_file(final, final.with_name(f".ckpt-{int(step)}.tmp-{os.getpid()}{suffix}")) as tmp:
            write(tmp)
        if self.trial is not None:
            self.trial.adopt_checkpoint(int(step), final)
        else:
            client.announce_checkpoint(step, final)
        return final

    def resume_point(self) -> tuple[int, Path] | None:
        """``(step, path)`` of the checkpoint an interrupted trial continues from, or None."""
        if self.trial is not None:
            point = self.trial.resume_point
            return (int(point[0]), Path(point[1])) if point else None
        return client.resume()

    def kept_checkpoint(self, step: int, suffix: str) -> Path | None:
        """The checkpoint file of ``step``, if scitune kept it."""
        path = self.directory / f"ckpt-{int(step)}{suffix}"
        return path if path.is_file() else None
