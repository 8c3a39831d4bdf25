"""The playbook's warmup protocol, read from two sweeps.

Playbook (FAQ "How can optimization failures be debugged and mitigated?", on when and how to warm up):

1. Sweep a constant learning rate without warmup and find ``unstable_base_learning_rate``, the rate
   at which training becomes unstable (:func:`find_unstable_learning_rate`).
2. Train at a target rate of 10x that, with a linear warmup from 0 over ``warmup_steps`` followed by
   a constant rate, for each ``warmup_steps`` in {10, 10^3, 10^4, 10^5} that is at most 10% of
   ``max_train_steps`` (:func:`warmup_candidates`).
3. Choose the **shortest** warmup that trains stably (:func:`choose_warmup`); prepend it to the
   schedule and extend ``max_train_steps`` by it. A warmup over 5% of ``max_train_steps`` suggests
   raising ``max_train_steps``.

Here each warmup trial trains ``max_train_steps`` in all, warmup included, so the constant phase
after the warmup is at least 9 times its length (the playbook asks for about 2 times). Stability is
judged by :func:`scitune.analysis.instability.judge_stability`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scitune.analysis.instability import judge_stability
from scitune.analysis.metric_frames import curve, param
from scitune.states import TrialState

PLAYBOOK_WARMUPS = (10, 1_000, 10_000, 100_000)
WARMUP_CAP = 0.10  # of max_train_steps: longer warmups are dropped from the sweep
WARMUP_LONG = 0.05  # of max_train_steps: longer warmups suggest raising max_train_steps
TARGET_FACTOR = 10.0  # the target rate, as a multiple of unstable_base_learning_rate


def warmup_candidates(
    max_train_steps: int, values: tuple[int, ...] | list[int] = PLAYBOOK_WARMUPS, cap: float = WARMUP_CAP
) -> list[int]:
    """The warmup lengths to sweep: ``values`` at most ``cap`` of ``max_train_steps``."""
    return sorted(int(v) for v in values if 0 < v <= cap * max_train_steps)


def _by_value(trials: pd.DataFrame, metrics: pd.DataFrame, name: str, loss: str) -> pd.DataFrame:
    """One row per value of hyperparameter ``name``: unstable when any of its trials was, with the
    first reason and the median final training loss of its finite runs."""
    values = param(trials, name)
    rows = []
    for value in sorted({v for v in values if v is not None}):
        verdicts, finals = [], []
        for _, t in trials[values == value].iterrows():
            steps, losses = curve(metrics, t["id"], loss)
            verdicts.append(judge_stability(t["state"], steps, losses))
            finite = losses[np.isfinite(losses)]
            if t["state"] == TrialState.COMPLETED and finite.size:
                finals.append(float(finite[-1]))
        judged = [v for v in verdicts if v[0] is not None]
        unstable = [why for bad, why in judged if bad]
        rows.append({
            name: value,
            "stable": None if not judged else not unstable,
            "why": unstable[0] if unstable else (judged[0][1] if judged else verdicts[0][1]),
            f"final_{loss}": float(np.median(finals)) if finals else None,
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class UnstableRate:
    table: pd.DataFrame  # one row per learning rate: stable, why, final loss
    best_learning_rate: float | None  # the stable rate with the lowest final training loss
    unstable_learning_rate: float | None  # the smallest rate above the best that was unstable
    warnings: list[str] = field(default_factory=list)


def find_unstable_learning_rate(
    trials: pd.DataFrame, metrics: pd.DataFrame, *, loss: str = "train_loss", learning_rate: str = "learning_rate"
) -> UnstableRate:
    """``unstable_base_learning_rate`` from a constant-rate sweep without warmup: the smallest
    rate above the best stable one at which training is unstable."""
    table = _by_value(trials, metrics, learning_rate, loss)
    if table.empty:
        return UnstableRate(table, None, None, [f"no trial has a '{learning_rate}' value"])
    stable = table[table["stable"] == True]
    if stable.empty:
        return UnstableRate(table, None, None, ["every learning rate was unstable or unjudged: lower the grid"])
    scored = stable.dropna(subset=[f"final_{loss}"])
    best = float((scored if not scored.empty else stable).sort_values(f"final_{loss}").iloc[0][learning_rate])
    above = table[(table[learning_rate] > best) & (table["stable"] == False)]
    if above.empty:
        calm = (f"no rate above the best ({best:.3g}) was unstable: training is stable across the grid, so nothing "
                "here calls for warmup; extend the grid upward to find the edge")
        return UnstableRate(table, best, None, [calm])
    return UnstableRate(table, best, float(above.iloc[0][learning_rate]))


@dataclass(frozen=True)
class WarmupChoice:
    table: pd.DataFrame  # one row per warmup length: stable, why, final loss
    learning_rate: float  # the peak rate the warmups were tried at
    warmup_steps: int | None  # the shortest stable warmup, or None
    max_train_steps: int  # the budget the warmups were capped by
    notes: list[str] = field(default_factory=list)

    @property
    def new_max_train_steps(self) -> int | None:
        """The budget once the warmup is prepended: the old one plus the warmup."""
        return None if self.warmup_steps is None else self.max_train_steps + self.warmup_steps


def choose_warmup(
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    learning_rate: float,
    max_train_steps: int,
    loss: str = "train_loss",
    warmup: str = "warmup_steps",
    baseline_loss: float | None = None,
) -> WarmupChoice:
    """The shortest warmup that trains stably at ``learning_rate``. ``baseline_loss`` (the best
    final training loss without warmup) lets the note say whether the higher rate paid off."""
    table = _by_value(trials, metrics, warmup, loss)
    stable = table[table["stable"] == True] if not table.empty else table
    notes: list[str] = []
    if stable.empty:
        notes.append(
            f"no warmup length made training stable at learning rate {learning_rate:.3g}: try gradient clipping "
            "(scitune stability), a longer warmup list, or a lower target rate"
        )
        return WarmupChoice(table, learning_rate, None, max_train_steps, notes)
    chosen = int(stable.iloc[0][warmup])
    notes.append(
        f"prepend {chosen} warmup steps and extend max_train_steps from {max_train_steps} to {max_train_steps + chosen}"
    )
    if chosen > WARMUP_LONG * max_train_steps:
        notes.append(f"the warmup is over {WARMUP_LONG:.0%} of max_train_steps: consider raising max_train_steps")
    final = stable.iloc[0][f"final_{loss}"]
    if baseline_loss is not None and final is not None and not pd.isna(final) and final > baseline_loss:
        notes.append(
            f"with warmup, rate {learning_rate:.3g} ends at {loss} {final:.4g}, worse than the best rate without "
            f"warmup ({baseline_loss:.4g}): the higher rate does not pay here, so instability is not what limits training"
        )
    return WarmupChoice(table, learning_rate, chosen, max_train_steps, notes)
