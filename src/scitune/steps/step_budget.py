"""How long to train: an initial ``max_train_steps`` from a learning-rate sweep, and a check of a
finished experiment's best steps.

Playbook ("Determining the number of steps for each training run").

``scitune steps sweep FILE --target T`` is :func:`steps_sweep`. In order:

1. design the sweep: a *constant* learning rate over a log grid (by default the file's own range,
   two points per decade), one study per rate, ``seeds`` trials each, every other hyperparameter
   held at one value (:func:`scitune.analysis.designs.steps_sweep`);
2. run it as an ordinary experiment (stored, resumable);
3. read it: the steps the fastest rate needs to reach the target on a training metric is the
   recommendation (:func:`scitune.analysis.step_budget.recommend_max_train_steps`), with the
   playbook's checks (a fastest rate at the grid's edge, a diverged neighbour).

``scitune steps check EXPERIMENT`` is :func:`check_steps`: where each study's top trials reached
their best, by the same rule and thresholds as the report's findings
(:func:`scitune.analysis.step_budget.step_verdicts`), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scitune.analysis import designs
from scitune.analysis.curve_shape import diagnose_trials, late_gains
from scitune.analysis.ranking import top_trials
from scitune.analysis.step_budget import StepBudget, StepVerdict, best_step_histogram, recommend_max_train_steps, step_verdicts
from scitune.config import Experiment, load_experiment
from scitune.errors import NotFoundError, UsageError
from scitune.run.local import ProgressFn
from scitune.steps.run import PlanFn, read_results, run_text
from scitune.store import Store

HELD_NOTE = "held values: the playbook sweeps without regularization or augmentation; set them with --set"


@dataclass(frozen=True)
class LearningRates:
    """Which learning rates a sweep trains: an explicit ``grid``, or a log grid from ``low`` to
    ``high`` with ``points`` values (each defaulting to the experiment file's own range)."""

    grid: list[float] | None = None
    low: float | None = None
    high: float | None = None
    points: int | None = None
    name: str | None = None  # the learning-rate hyperparameter; default: found by name

    def resolve(self, base: Experiment, stretch: float = 1.0) -> tuple[str, list[float]]:
        name = self.name or designs.learning_rate_name(base)
        return name, designs.learning_rate_grid(base, name, grid=self.grid, low=self.low, high=self.high,
                                                points=self.points, stretch=stretch)


@dataclass(frozen=True)
class StepSweep:
    experiment: Experiment  # the sweep, as run
    budget: StepBudget  # the reading: a table per learning rate and the recommendation
    notes: list[str] = field(default_factory=list)  # the values held fixed, and where they came from


def steps_sweep(
    store: Store,
    file: str | Path,
    *,
    target: float,
    metric: str = "train_error",
    mode: str = "min",
    trial_steps: int | None = None,
    eval_every: int | None = None,
    rates: LearningRates = LearningRates(),
    seeds: int = 1,
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
    save: Path | None = None,
    workers: int = 1,
    command: str | None = None,
    on_plan: PlanFn | None = None,
    on_progress: ProgressFn | None = None,
) -> StepSweep:
    """Run the playbook's constant-learning-rate sweep from the experiment file ``file`` and
    recommend an initial ``max_train_steps``: the steps the fastest rate needs to reach ``target``
    on ``metric`` (``<=`` for mode min, ``>=`` for max)."""
    if mode not in ("min", "max"):
        raise UsageError(f"--mode must be min or max, not {mode!r}")
    base, _ = load_experiment(file)
    lr, grid = rates.resolve(base)
    steps = trial_steps or base.budget.max_train_steps
    text, notes = designs.steps_sweep(
        base, grid=grid, trial_steps=steps, eval_every=eval_every or base.budget.eval_every, metric=metric,
        target=target, mode=mode, seeds=seeds, overrides=overrides, name=name, source=str(file), lr_name=lr)
    notes = [*notes, HELD_NOTE]
    experiment, _ = run_text(store, text, base_path=Path(file), workers=workers, command=command, saved_as=save,
                             notes=notes, on_plan=on_plan, on_progress=on_progress)
    budget = recommend_max_train_steps(*read_results(store, experiment.name), metric=metric, target=target,
                                       mode=mode, learning_rate=lr, trial_steps=steps)  # type: ignore[arg-type]
    return StepSweep(experiment, budget, notes)


@dataclass(frozen=True)
class StepsCheck:
    experiment: str
    max_train_steps: int
    verdicts: list[StepVerdict]  # per study, from its top_k trials
    histogram: pd.DataFrame  # every completed trial's best step, per slice of training and study
    top_k: int

    def table(self) -> pd.DataFrame:
        """One row per study: its top trials' best steps, the median late gain and the verdict."""
        return pd.DataFrame([
            {"study": v.study, "best_steps": ", ".join(map(str, v.best_steps)),
             "late_gain": v.late_gain, "verdict": v.verdict}
            for v in self.verdicts
        ], columns=["study", "best_steps", "late_gain", "verdict"])


def check_steps(store: Store, experiment: str) -> StepsCheck:
    """Where each study's top trials reached their best: the report's step-budget rule and
    thresholds (the experiment's ``report:`` section), applied to the same trials."""
    record = store.experiment(experiment)
    definition = record.experiment
    settings, objective = definition.report_settings, definition.objective
    budget = definition.budget.max_train_steps
    trials = store.trials(experiment)
    top = top_trials(trials, objective.mode, settings.top_k)
    if top.empty:
        raise NotFoundError(f"experiment '{experiment}' has no completed trial yet")
    diagnoses = diagnose_trials(store.metrics(top["id"].tolist()), objective.metric, objective.mode, budget,
                                settings.late_fraction)
    verdicts = step_verdicts(top, late_gains(diagnoses, objective.metric), budget,
                             late_fraction=settings.late_fraction, early_fraction=settings.early_fraction,
                             min_late_gain=settings.min_late_gain)
    return StepsCheck(experiment, budget, verdicts, best_step_histogram(trials, budget), settings.top_k)
