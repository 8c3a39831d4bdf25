"""Stability and gradient clipping, read from an experiment's trials.

Playbook (FAQs: "How can optimization failures be debugged and mitigated?"): instability shows as a
training loss that spikes after a steady decline, often early; log the unclipped gradient norm and
clip at its 90th percentile, but if that clips more than half the updates, lower the learning rate
instead. ``scitune stability EXPERIMENT`` is :func:`stability`. In order:

1. per trial: stable or not, early loss spikes, the 90th percentile of its gradient norms and how
   often clipping would trigger (:func:`scitune.analysis.instability.stability_table`);
2. the clipping advice, from the best stable trial's norms (the best completed trial when none was
   stable; "best" by :func:`scitune.analysis.ranking.best_trial`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scitune.analysis.clipping import ClippingAdvice, clipping_advice
from scitune.analysis.instability import EARLY_STEPS, stability_table
from scitune.analysis.ranking import best_trial
from scitune.store import Store


@dataclass(frozen=True)
class Stability:
    table: pd.DataFrame  # one row per trial (stability_table's columns)
    advice: ClippingAdvice | None  # None when no completed trial reported the gradient norm
    advised_from: str | None  # "STUDY #NUMBER" of the trial the advice reads
    grad: str  # the gradient-norm metric


def stability(
    store: Store,
    experiment: str,
    *,
    study: str | None = None,
    loss: str = "train_loss",
    grad: str = "grad_norm",
    early: int = EARLY_STEPS,
    threshold: float | None = None,
) -> Stability:
    """Per trial stability, and a clipping threshold for ``experiment`` (or one ``study`` of it)."""
    mode = store.experiment(experiment).objective.mode
    trials = store.trials(experiment, study)
    metrics = store.metrics(trials["id"].tolist())
    table = stability_table(trials, metrics, loss=loss, grad=grad, early=early, threshold=threshold)
    stable_ids = trials["id"][table["stable"].eq(True).to_numpy()] if len(table) else trials["id"].head(0)
    chosen = best_trial(trials[trials["id"].isin(stable_ids)], mode)
    if chosen is None:  # a threshold from a stable run where there is one, else from the best run
        chosen = best_trial(trials, mode)
    if chosen is None or grad not in set(metrics["name"]):
        return Stability(table, None, None, grad)
    norms = metrics[(metrics["trial_id"] == chosen["id"]) & (metrics["name"] == grad)]["value"].to_numpy(float)
    if not np.isfinite(norms).any():
        return Stability(table, None, None, grad)
    advice = clipping_advice(norms, threshold)
    return Stability(table, advice, f"{chosen['study']} #{int(chosen['trial'])}", grad)
