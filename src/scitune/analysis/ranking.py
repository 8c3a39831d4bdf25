"""Which trials count and in what order: the completed trials of a study, best first.

Every check of the report ranks trials the same way, so that "the best trial" and "the top-k" mean
one thing everywhere: completed trials with a finite objective, ordered by the objective read at
each trial's best step (ties broken by trial number, so the order is reproducible)."""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPLETED = "completed"


def oriented(values: np.ndarray | pd.Series | float, mode: str) -> np.ndarray | pd.Series | float:
    """Objective values turned so that lower is always better (``max`` objectives are negated)."""
    return values if mode == "min" else -values


def ranked(trials: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The completed trials with a finite objective, best first."""
    values = pd.to_numeric(trials["best_value"], errors="coerce")
    done = trials[(trials["state"] == COMPLETED) & np.isfinite(values)].copy()
    done["best_value"] = values[done.index].astype(float)
    done["_key"] = oriented(done["best_value"], mode)
    return done.sort_values(["_key", "trial"], kind="stable").drop(columns="_key")


def top_trials(trials: pd.DataFrame, mode: str, k: int) -> pd.DataFrame:
    """Each study's ``k`` best completed trials, best first within a study, studies in input order."""
    best = ranked(trials, mode)
    order = list(dict.fromkeys(trials["study"]))
    parts = [best[best["study"] == s].head(k) for s in order]
    return pd.concat(parts) if parts else best.head(0)


def study_order(trials: pd.DataFrame, studies: list[str] | None = None) -> list[str]:
    """The studies to report on: ``studies`` when given (so empty ones still appear), else as seen."""
    return list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
