"""Which trials count and in what order: the one definition of "the best trial".

Every command, check and plot ranks trials the same way, so that "the best trial" and "the top-k"
mean one thing everywhere: completed trials with a finite objective, ordered by the objective read
at each trial's best step (ties broken by trial number, so the order is reproducible). Within one
trial's curve, the best point is the first step at which the objective was best
(:func:`best_point`), as the trial handle tracks it while training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scitune.states import TrialState

if TYPE_CHECKING:  # imported where used: ``scitune status`` ranks a few plain rows without them
    import numpy as np
    import pandas as pd


def oriented(values: np.ndarray | pd.Series | float, mode: str) -> np.ndarray | pd.Series | float:
    """Objective values turned so that lower is always better (``max`` objectives are negated)."""
    return values if mode == "min" else -values


def rank_key(row: Mapping[str, Any], mode: str) -> tuple[float, int] | None:
    """One plain trial row's place in :func:`ranked`'s order (lower is better): its oriented
    objective, then its trial number; None when it does not rank (not completed, or no finite
    objective). The same rule as :func:`ranked`, for a few rows without pandas."""
    if row["state"] != TrialState.COMPLETED:
        return None
    try:
        value = float(row["best_value"])
    except (TypeError, ValueError):
        return None
    return (oriented(value, mode), int(row["trial"])) if math.isfinite(value) else None


def best_row(rows: Iterable[Mapping[str, Any]], mode: str) -> Mapping[str, Any] | None:
    """:func:`best_trial` of plain rows (mappings with state, best_value, trial): the best one, or
    None when none ranks."""
    rows = list(rows)
    keyed = [(key, i) for i, row in enumerate(rows) if (key := rank_key(row, mode)) is not None]
    return rows[min(keyed)[1]] if keyed else None


def ranked(trials: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The completed trials with a finite objective, best first."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(trials["best_value"], errors="coerce")
    done = trials[(trials["state"] == TrialState.COMPLETED) & np.isfinite(values)].copy()
    done["best_value"] = values[done.index].astype(float)
    done["_key"] = oriented(done["best_value"], mode)
    return done.sort_values(["_key", "trial"], kind="stable").drop(columns="_key")


def best_trial(trials: pd.DataFrame, mode: str) -> pd.Series | None:
    """The best completed trial of ``trials`` (one row), or None when none completed."""
    done = ranked(trials, mode)
    return None if done.empty else done.iloc[0]


def best_point(steps: Sequence[int] | pd.Series, values: Sequence[float] | pd.Series, mode: str) -> tuple[int, float] | None:
    """``(step, value)`` of a curve's best finite point (the earliest of equal ones), or None."""
    import numpy as np

    steps_arr = np.asarray(steps, dtype=np.int64)
    values_arr = np.asarray(values, dtype=float)
    finite = np.isfinite(values_arr)
    if not finite.any():
        return None
    order = np.argsort(steps_arr, kind="stable")
    steps_arr, values_arr, finite = steps_arr[order], values_arr[order], finite[order]
    keyed = np.where(finite, np.asarray(oriented(values_arr, mode), dtype=float), np.inf)
    i = int(np.argmin(keyed))
    return int(steps_arr[i]), float(values_arr[i])


def top_trials(trials: pd.DataFrame, mode: str, k: int) -> pd.DataFrame:
    """Each study's ``k`` best completed trials, best first within a study, studies in input order."""
    import pandas as pd

    best = ranked(trials, mode)
    order = list(dict.fromkeys(trials["study"]))
    parts = [best[best["study"] == s].head(k) for s in order]
    return pd.concat(parts) if parts else best.head(0)


def study_order(trials: pd.DataFrame, studies: list[str] | None = None) -> list[str]:
    """The studies to report on: ``studies`` when given (so empty ones still appear), else as seen."""
    return list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
