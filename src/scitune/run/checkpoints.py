"""Kept checkpoints and retrospective best-checkpoint selection.

Playbook, "Saving checkpoints and retrospectively selecting the best checkpoint": train for the
whole budget, keep the few best checkpoints seen so far, and take the best one at the end instead
of stopping early. scitune keeps the ``keep_best`` checkpoints with the best objective at their
step, plus the latest one (to resume an interrupted trial from), and deletes the rest.

Writes are atomic (a temporary file, fsync, then rename), so a kill during a save never leaves a
corrupt checkpoint under a real name. Loading never unpickles arbitrary objects: PyTorch
checkpoints load with ``weights_only=True``; other states are JSON.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import IO, Any, Callable

CHECKPOINT_PREFIX = "ckpt-"


class CheckpointKeeper:
    """Decides which checkpoints stay. Pure bookkeeping: it returns what to delete and never
    touches files itself.

    A checkpoint is ranked by the objective reported at its own step. The latest checkpoint always
    stays; of the others, the ``keep_best`` best-ranked stay and unranked ones go."""

    def __init__(self, keep_best: int, mode: str) -> None:
        self.keep_best = keep_best
        self.mode = mode
        self.paths: dict[int, str] = {}
        self.values: dict[int, float] = {}

    def observe(self, step: int, value: float) -> list[tuple[int, str]]:
        """The objective was reported at ``step``; returns the checkpoints to delete now."""
        self.values[step] = value
        return self._prune()

    def add(self, step: int, path: str) -> list[tuple[int, str]]:
        """A checkpoint was written at ``step``; returns the checkpoints to delete now."""
        self.paths[step] = path
        return self._prune()

    def keep(self) -> set[int]:
        if not self.paths:
            return set()
        ranked = [s for s in self.paths if s in self.values and not math.isnan(self.values[s])]
        ranked.sort(key=lambda s: self.values[s], reverse=self.mode == "max")
        return set(ranked[: self.keep_best]) | {max(self.paths)}

    def best(self) -> tuple[int, str] | None:
        """The kept checkpoint with the best objective, if any has one."""
        ranked = [s for s in self.paths if s in self.values and not math.isnan(self.values[s])]
        if not ranked:
            return None
        step = (min if self.mode == "min" else max)(ranked, key=lambda s: self.values[s])
        return step, self.paths[step]

    def _prune(self) -> list[tuple[int, str]]:
        keep = self.keep()
        dropped = [(s, p) for s, p in sorted(self.paths.items()) if s not in keep]
        for step, _ in dropped:
            del self.paths[step]
        return dropped


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _torch_loaded() -> bool:
    # Only when the training code imported torch itself: scitune never pulls it in.
    return "torch" in sys.modules


def checkpoint_name(step: int) -> str:
    return f"{CHECKPOINT_PREFIX}{step}.{'pt' if _torch_loaded() else 'json'}"


def write_state(state: Any, handle: IO[bytes]) -> None:
    """PyTorch's format when torch is in use (state dicts, tensors), JSON otherwise."""
    if _torch_loaded():
        sys.modules["torch"].save(state, handle)
    else:
        handle.write(json.dumps(state).encode())


def load_state(path: str | Path) -> Any:
    """Load a checkpoint written by :func:`write_state`, never unpickling arbitrary objects."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    import torch

    return torch.load(path, weights_only=True, map_location="cpu")


def inside(path: str | Path, root: Path) -> bool:
    """Whether ``path`` resolves (symbolic links and ``..`` followed) to a file under ``root``."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def delete_files(dropped: list[tuple[int, str]], root: Path | None = None) -> None:
    """Delete dropped checkpoint files; with ``root``, only those that resolve inside it (a path
    that leads elsewhere is never deleted, whoever announced it)."""
    for _, path in dropped:
        if root is None or inside(path, root):
            Path(path).unlink(missing_ok=True)


RecordFn = Callable[["int | None", "str | None", list[int]], None]


class TrialFiles:
    """A trial's folder and its checkpoints: saves atomically, keeps the best few, tells the store.

    ``record(step, path, dropped_steps)`` persists a new checkpoint (or, with ``step=None``, only
    the deletions). The folder is created on first use."""

    def __init__(
        self,
        directory: Path,
        keeper: CheckpointKeeper,
        record: RecordFn,
        resume_from: tuple[int, str] | None = None,
        on_create: Callable[[Path], None] | None = None,
        writer: Callable[[Any, IO[bytes]], None] = write_state,
    ) -> None:
        self._directory = directory
        self._created = False
        self._on_create = on_create
        self.keeper = keeper
        self._record = record
        self._writer = writer
        self.resume_from = resume_from
        if resume_from is not None:
            keeper.paths[resume_from[0]] = resume_from[1]

    @property
    def directory(self) -> Path:
        if not self._created:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._created = True
            if self._on_create is not None:
                self._on_create(self._directory)
        return self._directory

    def save(self, step: int, state: Any, name: str | None = None) -> Path:
        path = self.directory / (name or checkpoint_name(step))
        atomic_write(path, lambda handle: self._writer(state, handle))
        self.adopt(step, path)
        return path

    def adopt(self, step: int, path: Path) -> None:
        """Take a checkpoint file that is already in place (a command-mode trial wrote it)."""
        dropped = self.keeper.add(step, str(path))
        delete_files(dropped, self._directory)
        self._record(step, str(path), [s for s, _ in dropped])

    def observe(self, step: int, value: float) -> None:
        dropped = self.keeper.observe(step, value)
        if dropped:
            delete_files(dropped, self._directory)
            self._record(None, None, [s for s, _ in dropped])

    def resume(self) -> tuple[int, Any] | None:
        if self.resume_from is None:
            return None
        step, path = self.resume_from
        return step, load_state(path)
