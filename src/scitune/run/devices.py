"""The GPUs of one machine, shared out among the local runner's workers.

``resources: {gpus: N}`` asks for N devices per trial. The runner (the parent process) holds a
:class:`DevicePool`: each worker process it forks takes N devices for its whole life and sees only
those, through ``CUDA_VISIBLE_DEVICES`` set in the forked process before any trial's code runs (a
command-mode program inherits it in its environment). A worker trains one trial at a time, so no two
concurrent trials share a device; when a worker exits, crashed or killed included, the runner gets
its devices back and hands them to the next worker it forks.

Which devices: ``--gpus 0,1,2,3``, else the visible ones (``$CUDA_VISIBLE_DEVICES`` when set, else
``nvidia-smi -L`` when it exists), else none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scitune.errors import UsageError

VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
TRIAL_ENV = "SCITUNE_GPUS"  # the same ids, for programs that want to know scitune chose them


def parse_devices(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """Device ids from ``"0,1,2,3"`` (or a list): non-empty, each once. Ids are kept as written
    (numbers or UUIDs such as ``GPU-5c...``): they are handed to CUDA_VISIBLE_DEVICES unchanged."""
    parts = text.split(",") if isinstance(text, str) else [str(p) for p in text]
    ids = [p.strip() for p in parts]
    if not ids or any(not i for i in ids):
        raise UsageError(f"--gpus {text if isinstance(text, str) else ','.join(ids)!r}: give device ids separated "
                         "by commas, e.g. --gpus 0,1,2,3")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UsageError(f"--gpus: device {twice[0]} is listed twice", hint="name each device once")
    return ids


def visible_devices(env: dict[str, str] | None = None) -> list[str]:
    """This machine's devices: ``$CUDA_VISIBLE_DEVICES`` when set (empty: none), else the GPUs
    ``nvidia-smi -L`` lists, else none."""
    env = os.environ if env is None else env
    if VISIBLE_ENV in env:
        value = env[VISIBLE_ENV].strip()
        return [p.strip() for p in value.split(",") if p.strip()] if value and value != "-1" else []
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(line for line in listing.splitlines() if line.startswith("GPU "))]


@dataclass
class DevicePool:
    """Devices handed out ``per_trial`` at a time, and taken back."""

    devices: list[str]
    per_trial: int
    free: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.per_trial < 1:
            raise ValueError("per_trial must be at least 1")
        self.free = list(self.devices)

    @property
    def slots(self) -> int:
        """How many trials can hold their devices at once."""
        return len(self.devices) // self.per_trial

    def take(self) -> tuple[str, ...]:
        if len(self.free) < self.per_trial:
            raise RuntimeError("no free devices: more workers than slots")
        taken, self.free = tuple(self.free[: self.per_trial]), self.free[self.per_trial:]
        return taken

    def release(self, ids: tuple[str, ...]) -> None:
        # In the order of the pool, so the same worker count reuses the same devices.
        self.free = [d for d in self.devices if d in self.free or d in ids]


def device_pool(gpus_per_trial: float, gpus: str | list[str] | None = None,
                env: dict[str, str] | None = None) -> DevicePool | None:
    """The pool a local run uses, or None when it places nothing on devices.

    ``gpus_per_trial`` is the experiment's ``resources.gpus``; ``gpus`` the ``--gpus`` ids. With
    ids but ``resources.gpus: 0``, each trial gets one device. A run that asks for GPUs and finds
    none, or fewer than one trial needs, is refused before anything trains."""
    if gpus is None and gpus_per_trial == 0:
        return None
    if gpus_per_trial != int(gpus_per_trial):
        raise UsageError(f"resources.gpus is {gpus_per_trial:g}: the local runner gives each trial whole devices",
                         hint="use a whole number of GPUs per trial (fractions are for --executor ray)")
    per_trial = max(1, int(gpus_per_trial))
    devices = parse_devices(gpus) if gpus is not None else visible_devices(env)
    where = "--gpus" if gpus is not None else f"the visible devices (${VISIBLE_ENV}, nvidia-smi)"
    if not devices:
        raise UsageError(f"resources.gpus is {per_trial} but {where} show no GPU",
                         hint="name the devices with --gpus 0,1,..., or set resources.gpus: 0")
    if len(devices) < per_trial:
        raise UsageError(f"each trial needs {per_trial} GPUs but {where} give only {len(devices)} "
                         f"({','.join(devices)})", hint="give more devices with --gpus, or lower resources.gpus")
    return DevicePool(devices, per_trial)


class OnDevices:
    """A worker's entry point that first confines the process to its devices (called in the
    forked process, before the worker imports or trains anything)."""

    def __init__(self, target: Callable[..., Any], ids: tuple[str, ...]) -> None:
        self.target, self.ids = target, ids

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        os.environ[VISIBLE_ENV] = os.environ[TRIAL_ENV] = ",".join(self.ids)
        return self.target(*args, **kwargs)


def cap_workers(workers: int | None, pool: DevicePool | None) -> int:
    """Workers to run: as asked (default 1), or with devices at most one per slot (default all)."""
    if pool is None:
        return workers or 1
    return min(workers, pool.slots) if workers else pool.slots

