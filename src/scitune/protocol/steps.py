"""How long to train: max_train_steps from a learning-rate sweep, and a check of a finished study.

Playbook (SPEC.md section D, "how long to train"):

* Initial ``max_train_steps`` from a learning-rate sweep. Take any configuration that fits the
  training set (e.g. training error 0) in N steps; grid-search a *constant* learning rate without
  augmentation or regularization, each trial N steps; the number of steps the fastest trial needs
  to reach that fit is the initial ``max_train_steps``. Check that the fastest rate is not at the
  grid's edge: a grid that stops too low inflates the estimate. :func:`recommend_max_train_steps`
  reads such a sweep (run by ``scitune steps sweep``).
* Never tune ``max_train_steps`` inside a study; instead look where retrospective checkpoint
  selection put each trial's best step. Always in the first 10% of training: far too many steps.
  Consistently in the last 25%: train longer and retune the decay schedule.
  :func:`best_step_distribution` says which.

"Consistently" and "always" get one number here, ours: a share of at least 80% of a study's
completed trials (one noisy trial should not hide the pattern).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from scitune.protocol._curves import curve, first_reaching, param

EARLY, LATE, CONSISTENTLY = 0.10, 0.75, 0.8


@dataclass(frozen=True)
class StepBudget:
    """The reading of a constant-learning-rate sweep."""

    metric: str
    target: float
    mode: str
    table: pd.DataFrame  # one row per learning rate of the grid
    best_learning_rate: float | None
    max_train_steps: int | None  # the recommendation; None when no rate reached the target
    warnings: list[str] = field(default_factory=list)


def steps_to_target_table(
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    metric: str,
    target: float,
    mode: Literal["min", "max"] = "min",
    learning_rate: str = "learning_rate",
) -> pd.DataFrame:
    """One row per learning rate, in grid order: its trials (seeds), how many finished, how many
    reached the target, and the steps to reach it (the slowest seed's, so the budget fits every
    seed; empty unless every finished seed reached it), and the best value of ``metric`` seen."""
    lrs = param(trials, learning_rate)
    rows = []
    for lr in sorted({float(v) for v in lrs if v is not None}):
        group = trials[lrs.astype(float) == lr]
        reached, best_seen, states = [], [], []
        for _, t in group.iterrows():
            steps, values = curve(metrics, t["id"], metric)
            states.append(t["state"])
            if t["state"] not in ("completed", "infeasible"):
                continue
            reached.append(first_reaching(steps, values, target, mode))
            finite = values[np.isfinite(values)]
            if finite.size:
                best_seen.append(float(finite.min() if mode == "min" else finite.max()))
        hits = [r for r in reached if r is not None]
        rows.append({
            "learning_rate": lr,
            "trials": len(group),
            "finished": len(reached),
            "reached": len(hits),
            "steps_to_target": max(hits) if hits and len(hits) == len(reached) else None,
            f"best_{metric}": (min(best_seen) if mode == "min" else max(best_seen)) if best_seen else None,
            "states": ", ".join(f"{s} {states.count(s)}" for s in dict.fromkeys(states)),
        })
    table = pd.DataFrame(rows)
    if not table.empty:
        table["steps_to_target"] = table["steps_to_target"].astype("Int64")
    return table


def recommend_max_train_steps(
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    metric: str,
    target: float,
    mode: Literal["min", "max"] = "min",
    learning_rate: str = "learning_rate",
    trial_steps: int | None = None,
) -> StepBudget:
    """The initial ``max_train_steps``: the steps the fastest learning rate of the sweep needs to
    reach ``target`` on ``metric`` (ties go to the smaller rate), with the playbook's checks."""
    table = steps_to_target_table(trials, metrics, metric=metric, target=target, mode=mode, learning_rate=learning_rate)
    op = "<=" if mode == "min" else ">="
    warnings: list[str] = []
    if table.empty:
        return StepBudget(metric, target, mode, table, None, None, [f"no trial has a '{learning_rate}' value"])
    failed = int(table["trials"].sum() - table["finished"].sum())
    if failed:
        warnings.append(f"{failed} trial(s) did not finish (failed or not run): their learning rates count as not reaching the target")
    reached = table[table["steps_to_target"].notna()]
    if reached.empty:
        within = f" within {trial_steps} steps" if trial_steps else ""
        warnings.append(
            f"no learning rate reached {metric} {op} {target:g}{within}: train longer, widen the grid, or loosen the "
            "target (the playbook assumes a configuration that fits the training set exists)"
        )
        return StepBudget(metric, target, mode, table, None, None, warnings)
    best = reached.sort_values(["steps_to_target", "learning_rate"]).iloc[0]
    lr, steps = float(best["learning_rate"]), int(best["steps_to_target"])
    grid = table["learning_rate"].tolist()
    index = grid.index(lr)
    if len(grid) == 1:
        warnings.append("the grid has one learning rate: nothing shows that another would be faster")
    elif index == len(grid) - 1:
        warnings.append(
            f"the fastest learning rate ({lr:.3g}) is the largest of the grid: extend the grid upward; "
            "a grid that stops too low inflates max_train_steps"
        )
    elif index == 0:
        warnings.append(
            f"the fastest learning rate ({lr:.3g}) is the smallest of the grid: extend the grid downward to be sure"
        )
    if index + 1 < len(grid) and "infeasible" in str(table.iloc[index + 1]["states"]):
        warnings.append(
            f"the next learning rate ({grid[index + 1]:.3g}) diverged: the fastest rate sits at the edge of "
            "instability, and warmup may open higher rates (scitune warmup)"
        )
    if trial_steps is not None and steps == trial_steps:
        warnings.append(f"the target was reached only at the last step ({steps}): the true need may be higher")
    return StepBudget(metric, target, mode, table, lr, steps, warnings)


def best_step_fractions(trials: pd.DataFrame, max_train_steps: int) -> pd.DataFrame:
    """Completed trials with their best step as a fraction of ``max_train_steps``."""
    done = trials[(trials["state"] == "completed") & trials["best_step"].notna()].copy()
    done["fraction"] = done["best_step"].astype(float) / float(max_train_steps)
    return done


def best_step_distribution(
    trials: pd.DataFrame,
    max_train_steps: int,
    *,
    early: float = EARLY,
    late: float = LATE,
    consistently: float = CONSISTENTLY,
) -> pd.DataFrame:
    """Per study: where the best steps of its completed trials fall relative to
    ``max_train_steps``, a verdict (``too_many_steps``, ``train_longer`` or ``ok``) and the
    playbook's advice."""
    done = best_step_fractions(trials, max_train_steps)
    rows = []
    for study, group in done.groupby("study", sort=False):
        fractions = group["fraction"].to_numpy()
        in_early = float(np.mean(fractions <= early))
        in_late = float(np.mean(fractions > late))
        if in_early >= consistently:
            verdict = "too_many_steps"
            advice = (f"{in_early:.0%} of best steps fall in the first {early:.0%} of training: max_train_steps is far "
                      "too high; lower it")
        elif in_late >= consistently:
            verdict = "train_longer"
            advice = (f"{in_late:.0%} of best steps fall in the last {1 - late:.0%}: train longer (raise "
                      "max_train_steps) and retune the decay schedule")
        else:
            verdict, advice = "ok", "best steps are spread through training: the step budget looks right"
        rows.append({
            "study": study, "trials": len(group), "median_best_step": float(np.median(group["best_step"])),
            "median_fraction": float(np.median(fractions)), f"first_{early:.0%}": in_early,
            f"last_{1 - late:.0%}": in_late, "verdict": verdict, "advice": advice,
        })
    return pd.DataFrame(rows)


def best_step_histogram(trials: pd.DataFrame, max_train_steps: int, bins: int = 10) -> pd.DataFrame:
    """Counts of best steps in ``bins`` equal slices of training, one column per study."""
    done = best_step_fractions(trials, max_train_steps)
    edges = np.linspace(0.0, 1.0, bins + 1)
    labels = [f"{lo:.0%}-{hi:.0%}" for lo, hi in itertools.pairwise(edges)]
    out = pd.DataFrame({"slice": labels})
    for study, group in done.groupby("study", sort=False):
        index = np.clip(np.ceil(group["fraction"].to_numpy() * bins).astype(int) - 1, 0, bins - 1)
        out[study] = np.bincount(index, minlength=bins)
    return out
