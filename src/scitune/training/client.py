"""A tiny client for training scripts run as command-mode trials. Standard library only.

Import it from any framework (PyTorch, JAX, TensorFlow, Lightning) without pulling in scitune's
own dependencies; it can also be copied next to a script that runs in another environment::

    from scitune.training import client

    hp = client.hparams()
    for step in range(start, client.max_train_steps() + 1):
        ...
        if client.should_eval(step):
            client.report(step, train_loss=..., val_error=...)
            with client.checkpoint(step) as path:     # written atomically, then announced
                torch.save(state, path)

Everything comes from the environment the runner sets (names in README, "Command-mode trials").
Run outside scitune, hparams() and friends raise a clear error instead of guessing.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

PREFIX = "SCITUNE_"


class NotInTrial(RuntimeError):
    """The script was not started by scitune (a SCITUNE_* variable is missing)."""


def _env(name: str) -> str:
    try:
        return os.environ[PREFIX + name]
    except KeyError:
        raise NotInTrial(f"${PREFIX}{name} is not set: run this script through `scitune run`") from None


def hparams() -> dict[str, Any]:
    """Every hyperparameter of this trial: fixed, scientific and nuisance values."""
    return json.loads(_env("HPARAMS"))


def seed() -> int:
    """The trial's seed: use it for initialization and data order."""
    return int(_env("SEED"))


def max_train_steps() -> int:
    return int(_env("MAX_TRAIN_STEPS"))


def eval_every() -> int:
    return int(_env("EVAL_EVERY"))


def objective() -> tuple[str, str]:
    """``(metric, mode)`` of the objective that ranks trials, e.g. ``("val_error", "min")``."""
    return _env("OBJECTIVE"), os.environ.get(PREFIX + "OBJECTIVE_MODE", "min")


def trial_dir() -> Path:
    """This trial's own folder: checkpoints, logs, anything else it writes."""
    return Path(_env("TRIAL_DIR"))


checkpoint_dir = trial_dir


def should_eval(step: int) -> bool:
    """True every ``eval_every`` steps and at the last step (steps count from 1)."""
    return step % eval_every() == 0 or step == max_train_steps()


def _append(record: dict[str, Any]) -> None:
    line = json.dumps(record, allow_nan=True) + "\n"
    # One write of a whole line in append mode: the runner never sees half a record of ours.
    with open(_env("METRICS_FILE"), "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()


def report(step: int, **metrics: float) -> None:
    """Record metric values at a step, e.g. ``report(100, train_loss=0.3, val_error=0.04)``.
    In a multi-process trial only the chief reports (see :func:`is_chief`); elsewhere it is a no-op."""
    if not is_chief():
        return
    # NaN and inf are written as JSON's NaN/Infinity extensions; the runner marks them infeasible.
    _append({"step": int(step), **{name: float(value) for name, value in metrics.items()}})


@contextmanager
def checkpoint(step: int, name: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write the checkpoint of ``step`` to; on success it is renamed
    into place and announced, so scitune can keep the best few and delete the rest."""
    final = trial_dir() / (name or f"ckpt-{int(step)}.pt")
    with atomic_file(final, final.with_name(f".{final.name}.tmp-{os.getpid()}")) as tmp:
        yield tmp
    _append({"step": int(step), "checkpoint": final.name})


@contextmanager
def atomic_file(final: Path, tmp: Path) -> Iterator[Path]:
    """Yield ``tmp`` to write; once written it is synced to disk and renamed to ``final``, so a
    reader never sees half a file; on an error it is removed."""
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def announce_checkpoint(step: int, path: str | Path) -> None:
    """Tell scitune about a checkpoint file of ``step`` already in place in the trial's folder
    (written by a framework under its own name, atomically), so it can keep or delete it."""
    _append({"step": int(step), "checkpoint": Path(path).name})


def resume() -> tuple[int, Path] | None:
    """``(step, checkpoint path)`` to continue an interrupted trial from, or None to start fresh.
    Continue at ``step + 1``: scitune kept the metric points up to ``step``."""
    step = os.environ.get(PREFIX + "RESUME_STEP")
    path = os.environ.get(PREFIX + "RESUME_CHECKPOINT")
    return (int(step), Path(path)) if step and path else None


# -- trials that span several processes or hosts ---------------------------------------------------
# Playbook, "Considerations for multi-host pipelines": initialize every process of a trial from the
# same seed (so all replicas hold the same model), shuffle each data shard with its own seed, and
# let one process (the chief) do the logging and checkpointing.

_RANK_VARIABLES = ("SCITUNE_PROCESS_INDEX", "RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def process_index() -> int:
    """This process's index within a multi-process trial: the first of $SCITUNE_PROCESS_INDEX,
    $RANK (torch.distributed), $SLURM_PROCID, $OMPI_COMM_WORLD_RANK or $PMI_RANK that is set, else 0.
    JAX users can set SCITUNE_PROCESS_INDEX from ``jax.process_index()``."""
    for name in _RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def is_chief() -> bool:
    """Whether this process should log metrics and write checkpoints (process index 0)."""
    return process_index() == 0


def init_seed(trial_seed: int | None = None) -> int:
    """The initialization seed: the trial's seed, identical on every process and host of a trial."""
    return seed() if trial_seed is None else int(trial_seed)


def data_seed(shard: int, trial_seed: int | None = None) -> int:
    """A data-order seed for one data shard: derived from the trial's seed, different per shard, the
    same for the same (trial, shard) wherever it runs. Use the host's shard index (often
    ``process_index()``) so hosts do not read their shards in lockstep."""
    base = init_seed(trial_seed)
    # SplitMix64-style mixing: well spread, dependency-free, stable across Python versions.
    z = (base * 0x9E3779B97F4A7C15 + (shard + 1) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFF
