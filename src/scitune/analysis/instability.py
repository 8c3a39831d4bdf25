"""Training instability, read from the curves: loss spikes early in training, divergence, and
the gradient norms that set a clipping threshold.

Playbook (FAQs: "How can optimization failures be debugged and mitigated?"): instability matters when it forces a
learning rate lower than the model could otherwise use. It shows as a training loss that rises
suddenly after a steady decline, often in the first few hundred steps (evaluate every step there:
sparse evaluations hide it), and in the L2 norm of the full gradient.

What counts as a spike is ours to choose (the playbook gives no number): at step t the training
loss rises above the lowest loss so far by more than ``rise`` (default half) of the progress made
up to then, or, before much progress, by more than ``floor`` (default 5%) of the first loss. A
spike is reported once, at the step it starts; the loss must fall back below the line for another
one to count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scitune.analysis.clipping import TOO_AGGRESSIVE, clipped_fraction, clipping_threshold
from scitune.analysis.metric_frames import curve, param
from scitune.states import TrialState

SPIKE_RISE = 0.5
SPIKE_FLOOR = 0.05
EARLY_STEPS = 500  # the playbook's probe: ~500 steps, evaluating every step


def loss_spikes(
    steps: Sequence[int],
    losses: Sequence[float],
    *,
    rise: float = SPIKE_RISE,
    floor: float = SPIKE_FLOOR,
    within: int | None = None,
) -> list[int]:
    """The steps where loss spikes start (a non-finite loss counts), optionally only up to step
    ``within``."""
    steps_arr, values = np.asarray(steps, dtype=int), np.asarray(losses, dtype=float)
    if within is not None:
        keep = steps_arr <= within
        steps_arr, values = steps_arr[keep], values[keep]
    if values.size == 0:
        return []
    first = values[0]
    best = first if np.isfinite(first) else np.inf
    spikes: list[int] = []
    in_spike = not np.isfinite(first)
    if in_spike:
        spikes.append(int(steps_arr[0]))
    for step, value in zip(steps_arr[1:], values[1:]):
        line = best + max(rise * (first - best), floor * abs(first)) if np.isfinite(best) else np.inf
        high = not np.isfinite(value) or value > line
        if high and not in_spike:
            spikes.append(int(step))
        in_spike = high
        if np.isfinite(value):
            best = min(best, value)
    return spikes


def judge_stability(
    state: str, steps: Sequence[int], losses: Sequence[float], *, rise: float = SPIKE_RISE, floor: float = SPIKE_FLOOR
) -> tuple[bool | None, str]:
    """``(unstable, why)`` for one trial: unstable when it diverged (infeasible: a NaN or infinite
    loss), when its training loss spiked, or when it ended above where it began; ``None`` when the
    trial did not finish (failed, interrupted, pending) or reported no loss."""
    if state == TrialState.INFEASIBLE:
        return True, "diverged (infeasible)"
    if state != TrialState.COMPLETED:
        return None, f"not judged: the trial is {state}"
    values = np.asarray(losses, dtype=float)
    if values.size == 0:
        return None, "not judged: no training loss reported"
    spikes = loss_spikes(steps, values, rise=rise, floor=floor)
    if spikes:
        return True, f"training loss spiked at step {spikes[0]}" + (f" (and {len(spikes) - 1} more)" if len(spikes) > 1 else "")
    if values.size > 1 and values[-1] > values[0]:
        return True, f"training loss ended higher ({values[-1]:.4g}) than it began ({values[0]:.4g})"
    return False, "stable"


def stability_table(
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    loss: str = "train_loss",
    grad: str = "grad_norm",
    early: int = EARLY_STEPS,
    threshold: float | None = None,
    clip_param: str = "grad_clip",
    learning_rate: str = "learning_rate",
) -> pd.DataFrame:
    """One row per trial: its learning rate, whether it was stable, loss spikes in the first
    ``early`` steps, the 90th percentile of its unclipped gradient norms (the playbook's clipping
    threshold) and the share of updates that clipping would touch at ``threshold`` (or, when not
    given, at the trial's own ``clip_param``). ``advice`` flags clipping over half the updates."""
    rows = []
    lrs = param(trials, learning_rate)
    clips = param(trials, clip_param)
    for i, t in trials.iterrows():
        steps, losses = curve(metrics, t["id"], loss)
        unstable, why = judge_stability(t["state"], steps, losses)
        spikes = loss_spikes(steps, losses, within=early)
        _, norms = curve(metrics, t["id"], grad)
        lam = threshold if threshold is not None else clips[i]
        row = {
            "study": t["study"], "trial": int(t["trial"]), "state": t["state"], learning_rate: lrs[i],
            "stable": None if unstable is None else not unstable, "why": why,
            f"spikes<= {early}": len(spikes), "first_spike": spikes[0] if spikes else None,
            f"{grad}_p90": None, "clip_at": lam, "clipped": None, "advice": "",
        }
        if np.isfinite(norms).any():
            row[f"{grad}_p90"] = clipping_threshold(norms)
            if lam is not None:
                row["clipped"] = clipped_fraction(norms, float(lam))
                if row["clipped"] > TOO_AGGRESSIVE:
                    row["advice"] = "clips over half the updates: lower the learning rate instead"
        rows.append(row)
    return pd.DataFrame(rows)
