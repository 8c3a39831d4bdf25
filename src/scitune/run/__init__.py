"""Execution: the trial handle training code sees, workers, the local and Ray runners, command
mode, checkpoints, planning a run's points and seeds, and proposing the Bayesian round's points.

Names are imported on first use: a worker (a Ray task's above all) imports only the modules it runs,
not the runners' or the planner's (numpy)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Trial": "scitune.run.trial",
    "TrialInfeasible": "scitune.errors",
    "LocalRunner": "scitune.run.local",
    "RunSummary": "scitune.run.local",
    "prepare": "scitune.run.planning",
    "load_train": "scitune.run.program",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scitune.run' has no attribute {name!r}")
