"""How long to train: max_train_steps from a learning-rate sweep, and a check of a finished study.

Playbook ("Determining the number of steps for each training run"):

* Initial ``max_train_steps`` from a learning-rate sweep. Take any configuration that fits the
  training set (e.g. training error 0) in N steps; grid-search a *constant* learning rate without
  augmentation or regularization, each trial N steps; the number of steps the fastest trial needs
  to reach that fit is the initial ``max_train_steps``. Check that the fastest rate is not at the
  grid's edge: a grid that stops too low inflates the estimate. :func:`recommend_max_train_steps`
  reads such a sweep (run by ``scitune steps sweep``).
* Never tune ``max_train_steps`` inside a study; instead look where retrospective checkpoint
  selection put each trial's best step. Always in the first 10% of training: far too many steps.
  Consistently in the last 25%: train longer and retune the decay schedule.
  :func:`step_verdicts` is that rule, read on each study's top-k trials; the report's findings and
  ``scitune steps check`` both use it, with one set of thresholds (the ``report:`` section).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from scitune.analysis.metric_frames import curve, first_reaching, param
from scitune.states import TrialState


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
            if t["state"] not in (TrialState.COMPLETED, TrialState.INFEASIBLE):
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
    done = trials[(trials["state"] == TrialState.COMPLETED) & trials["best_step"].notna()].copy()
    done["fraction"] = done["best_step"].astype(float) / float(max_train_steps)
    return done


TRAIN_LONGER, TOO_MANY_STEPS, OK = "train_longer", "too_many_steps", "ok"


@dataclass(frozen=True)
class StepVerdict:
    """One study's step-budget verdict, read from its best trials' best steps.

    ``verdict`` is ``train_longer`` (every best step in the last ``late_fraction`` of training
    while the curves still gained at least ``min_late_gain`` of their improvement there),
    ``too_many_steps`` (every best step in the first ``early_fraction``) or ``ok``."""

    study: str
    best_steps: list[int]  # of the study's top_k trials, best trial first
    late_gain: float | None  # median share of its improvement a top trial still made late in training
    verdict: str
    max_train_steps: int

    @property
    def advice(self) -> str:
        shown = ", ".join(str(s) for s in self.best_steps)
        if self.verdict == TRAIN_LONGER:
            gain = f", still gaining {self.late_gain:.0%} of their improvement there" if self.late_gain is not None else ""
            return (f"best steps {shown} all fall late in training{gain}: train longer (raise max_train_steps) and "
                    "retune the decay schedule")
        if self.verdict == TOO_MANY_STEPS:
            return f"best steps {shown} all fall early in training: max_train_steps is far too high; lower it"
        return f"best steps {shown}: the step budget looks right"


def step_verdicts(
    top: pd.DataFrame,
    late_gains: Mapping[int, float],
    max_train_steps: int,
    *,
    late_fraction: float,
    early_fraction: float,
    min_late_gain: float,
) -> list[StepVerdict]:
    """The playbook's step-budget rule ("Deciding how long to train when training is not
    compute-bound"), per study: where its top trials' best steps fall. ``top`` holds each study's
    top-k completed trials (study, id, best_step), ``late_gains`` maps a trial id to the share of
    its objective curve's improvement made within the last ``late_fraction`` of training
    (:attr:`scitune.analysis.curve_shape.CurveDiagnosis.late_gain`). The report's findings and
    ``scitune steps check`` both read this, with the thresholds of the ``report:`` section."""
    out = []
    for study, group in top.groupby("study", sort=False):
        steps = pd.to_numeric(group["best_step"], errors="coerce").dropna().astype(int).tolist()
        if not steps:
            continue
        gains = [late_gains[int(i)] for i in group["id"] if int(i) in late_gains]
        gain = float(np.median(gains)) if gains else None
        verdict = OK
        if all(s >= (1 - late_fraction) * max_train_steps for s in steps) and (gain is None or gain >= min_late_gain):
            verdict = TRAIN_LONGER
        elif all(s <= early_fraction * max_train_steps for s in steps):
            verdict = TOO_MANY_STEPS
        out.append(StepVerdict(str(study), steps, gain, verdict, max_train_steps))
    return out


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
