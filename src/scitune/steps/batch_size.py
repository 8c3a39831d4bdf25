"""Choosing the batch size: training throughput by batch size, and steps to a result by batch size.

Playbook ("Choosing the batch size").

``scitune batch-size throughput FILE`` is :func:`throughput`. In order:

1. hold every hyperparameter at one value (:func:`scitune.analysis.designs.base_point`);
2. time training steps of the file's own ``train`` function in this process at doubling batch sizes,
   stopping at the first that runs out of memory (:mod:`scitune.run.throughput`);
3. read where throughput stops rising (:func:`scitune.analysis.batch_size.throughput_scaling`).

``scitune batch-size scaling EXPERIMENT... --target T`` is :func:`scaling`: the steps each batch
size's best-tuned trial needs to reach the target, and where doubling the batch stops halving them
(:func:`scitune.analysis.batch_size.batch_scaling`), optionally drawn as a PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scitune.analysis.batch_size import (
    BatchScaling,
    ThroughputScaling,
    batch_scaling,
    doubling_batch_sizes,
    steps_by_batch_size,
    throughput_scaling,
)
from scitune.analysis.designs import base_point
from scitune.config import load_experiment
from scitune.errors import ConfigError, NotFoundError
from scitune.run.program import PythonProgram, load_program
from scitune.run.throughput import scan_throughput, time_train_steps
from scitune.steps.run import read_results
from scitune.store import Store


@dataclass(frozen=True)
class Throughput:
    name: str  # the experiment the training code came from
    scaling: ThroughputScaling
    notes: list[str] = field(default_factory=list)  # the values held fixed


def throughput(
    file: str | Path,
    *,
    start: int = 16,
    limit: int = 4096,
    steps: int = 20,
    warmup: int = 5,
    param: str = "batch_size",
    overrides: Mapping[str, Any] | None = None,
    on_batch_size: Callable[[int], None] | None = None,
) -> Throughput:
    """Time ``steps`` training steps (after ``warmup`` untimed ones) at batch sizes ``start``,
    ``2 start``, ... up to ``limit``; ``on_batch_size(size)`` is told before each is timed."""
    file = Path(file)
    base, _ = load_experiment(file)
    program = load_program(base, file.parent, str(file))
    if not isinstance(program, PythonProgram):
        raise ConfigError(f"{file}: throughput is measured in-process and needs a Python train function, not a command")
    hp, notes = base_point(base, overrides)

    def seconds(size: int) -> float:
        if on_batch_size is not None:
            on_batch_size(size)
        return time_train_steps(program.train, {**hp, param: size}, steps=steps, warmup=warmup)

    points = scan_throughput(seconds, doubling_batch_sizes(start, limit))
    return Throughput(base.name, throughput_scaling(points), notes)


@dataclass(frozen=True)
class Scaling:
    metric: str
    mode: str
    target: float
    result: BatchScaling
    plot: Path | None = None


def scaling(
    store: Store,
    experiments: Sequence[str],
    *,
    target: float,
    metric: str | None = None,
    mode: str | None = None,
    param: str = "batch_size",
    plot: str | Path | None = None,
) -> Scaling:
    """Steps to reach ``target`` on ``metric`` (default: the first experiment's objective) per
    batch size, over the trials of ``experiments``; a PNG at ``plot`` when given."""
    objective = store.experiment(experiments[0]).objective
    metric, mode = metric or objective.metric, mode or objective.mode
    frames = [read_results(store, name) for name in experiments]
    trials = pd.concat([f[0] for f in frames], ignore_index=True)
    metrics = pd.concat([f[1] for f in frames], ignore_index=True)
    table = steps_by_batch_size(trials, metrics, metric=metric, target=target, mode=mode,  # type: ignore[arg-type]
                                batch_size=param)
    if table.empty:
        raise NotFoundError(f"no trial of {', '.join(experiments)} has a '{param}' hyperparameter")
    result = batch_scaling(table)
    written = None
    if plot is not None:
        from scitune.plots.batch_size import steps_png  # matplotlib: only when a plot is asked for

        written = steps_png(result, plot, f"Steps to {metric} {target:g} vs batch size")
    return Scaling(metric, mode, target, result, written)
