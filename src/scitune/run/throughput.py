"""Timing training steps: the measurement behind ``scitune batch-size throughput``.

Playbook ("Determining the feasible batch sizes and estimating training throughput"): run short
jobs at doubling batch sizes until one runs out of memory, timing each step. This module runs the
user's own ``train(hparams, trial)`` in this process with a stand-in trial that times the steps;
:func:`scitune.analysis.batch_size.throughput_scaling` reads the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scitune.analysis.batch_size import ThroughputPoint


def is_out_of_memory(err: BaseException) -> bool:
    """Python's ``MemoryError``, or the ``RuntimeError`` torch raises when a device runs out of
    memory (``torch.cuda.OutOfMemoryError`` is one)."""
    return isinstance(err, MemoryError) or (isinstance(err, RuntimeError) and "out of memory" in str(err).lower())


def scan_throughput(time_per_step: Callable[[int], float], batch_sizes: Sequence[int]) -> list[ThroughputPoint]:
    """Time a training step at each batch size in turn; stop at the first that runs out of memory
    (or fails otherwise), recording why."""
    points: list[ThroughputPoint] = []
    for batch_size in batch_sizes:
        try:
            seconds = float(time_per_step(batch_size))
        except Exception as err:  # noqa: BLE001 - any failure ends the scan; OOM is the expected one
            why = "out of memory" if is_out_of_memory(err) else f"{type(err).__name__}: {err}"
            points.append(ThroughputPoint(batch_size, None, why))
            break
        points.append(ThroughputPoint(batch_size, seconds))
    return points


class _TimingTrial:
    """A stand-in for :class:`scitune.Trial` that times the steps instead of recording metrics: a
    training loop calls ``should_eval(step)`` once per step, so the time between calls is a step.
    It never asks for an evaluation, so only training steps are timed."""

    def __init__(self, params: Mapping[str, Any], seed: int, max_train_steps: int, clock: Callable[[], float]) -> None:
        self.params, self.seed, self.max_train_steps = dict(params), seed, max_train_steps
        self.eval_every, self.study, self.number, self.best, self.notes = max_train_steps + 1, "throughput", 0, None, []
        self.ticks: list[float] = []
        self._clock = clock

    def should_eval(self, step: int) -> bool:
        self.ticks.append(self._clock())
        return False

    def report(self, step: int, **metrics: float) -> None:
        pass

    def flush(self) -> None:
        pass

    def resume(self) -> None:  # a timing run starts from scratch and keeps no checkpoint
        return None

    def save_checkpoint(self, step: int, state: Any) -> None:
        pass


def time_train_steps(
    train: Callable[[dict, Any], Any],
    hparams: Mapping[str, Any],
    *,
    steps: int = 20,
    warmup: int = 5,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds per training step of ``train(hparams, trial)``, after ``warmup`` steps that
    are not timed (allocation, caches). Errors (out of memory included) propagate."""
    trial = _TimingTrial(hparams, seed, warmup + steps + 1, clock)
    train(dict(hparams), trial)
    if len(trial.ticks) < warmup + 2:
        raise RuntimeError("the training function did not call trial.should_eval(step) once per step, so its steps cannot be timed")
    return float(np.median(np.diff(trial.ticks[warmup:])))
