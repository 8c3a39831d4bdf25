"""Reading one trial's curve out of the store's long metric frame (trial_id, name, step, value)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd


def curve(metrics: pd.DataFrame, trial_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of metric ``name`` of one trial, in step order (NaN kept)."""
    rows = metrics[(metrics["trial_id"] == trial_id) & (metrics["name"] == name)].sort_values("step")
    return rows["step"].to_numpy(dtype=int), rows["value"].to_numpy(dtype=float)


def first_reaching(
    steps: np.ndarray, values: np.ndarray, target: float, mode: Literal["min", "max"] = "min"
) -> int | None:
    """The first step whose value reaches ``target`` (``<=`` for min, ``>=`` for max), or None."""
    with np.errstate(invalid="ignore"):
        hit = values <= target if mode == "min" else values >= target
    where = np.flatnonzero(hit)
    return int(steps[where[0]]) if where.size else None


def param(trials: pd.DataFrame, name: str) -> pd.Series:
    """One hyperparameter of every trial (None where a trial lacks it), aligned with ``trials``."""
    return pd.Series([p.get(name) for p in trials["params"]], index=trials.index, dtype=object)
