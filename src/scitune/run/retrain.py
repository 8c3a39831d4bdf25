"""Retraining: rerun one trial's configuration with other seeds to measure its retrain variance.

The reruns of a trial form a study of kind ``retrain`` named ``STUDY/NUMBER/retrain`` and tied to the
trial by ``parent_trial_id``. Its trials carry the parent's hyperparameters unchanged and a seed each;
they are run by the same runner and workers as any study, but never claimed by ``scitune run`` and
never counted in the search results (status, best trials, the report's ranking).

Rerun seeds are derived from the trial's own seed and the rerun's index (NumPy ``SeedSequence``
with ``spawn_key=(index,)``), skipping any that repeats the trial's seed or an earlier rerun's. So
``--seeds 3`` followed by ``--seeds 5`` gives the same first three seeds plus two more, a second
runner on the same trial shares the work, and an interrupted retrain resumes like ``scitune run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from scitune.analysis.variance import TrialVariance
from scitune.config import Experiment
from scitune.errors import ScituneError
from scitune.run.local import LocalRunner, ProgressFn, RunSummary
from scitune.run.program import Program, TrainFn, load_program
from scitune.store import Store
from scitune.store.decisions import TrialRef, resolve_trial, settle, variance_of

RETRAINABLE = ("completed", "infeasible")


def rerun_seeds(seed: int, count: int) -> list[int]:
    """``count`` training seeds for reruns of a trial whose seed is ``seed``: deterministic,
    different from ``seed`` and from each other, and each list a prefix of any longer one."""
    out: list[int] = []
    index = 0
    while len(out) < count:
        child = np.random.SeedSequence(seed, spawn_key=(index,))
        value = int(child.generate_state(1)[0] & 0x7FFFFFFF)
        if value != seed and value not in out:
            out.append(value)
        index += 1
    return out


def retrain_study_name(trial: TrialRef) -> str:
    return f"{trial.name}/retrain"


@dataclass(frozen=True)
class RetrainPlan:
    """A retrain group made ready in the store: which trial, its group, and how many reruns remain."""

    trial: TrialRef
    experiment_id: int
    study_id: int
    seeds: int
    finished: int  # reruns already finished before this run


def plan_retrain(store: Store, experiment: str, trial: str, seeds: int) -> RetrainPlan:
    """Record the retrain group of ``trial`` (see :func:`scitune.store.decisions.resolve_trial` for
    how a trial is named) with ``seeds`` reruns in total. Idempotent: only missing reruns are added;
    asking for fewer drops reruns that never started."""
    if seeds < 1:
        raise ScituneError("--seeds must be at least 1")
    ref = resolve_trial(store, experiment, trial)
    if ref.state not in RETRAINABLE:
        raise ScituneError(f"{ref.label} is {ref.state}: retrain a trial that has finished training",
                           hint=f"see its reason with: scitune trials {experiment}")
    record = store.experiment(experiment)
    parent = next(s for s in store.studies(record["id"]) if s["name"] == ref.study)
    search = {"algorithm": "retrain", "parent_trial_id": ref.id, "parent_seed": ref.seed,
              "seeds": "SeedSequence(parent_seed, spawn_key=(index,))"}
    study_id = store.ensure_study(record["id"], retrain_study_name(ref), parent["scientific"], search,
                                  kind="retrain", parent_trial_id=ref.id)
    store.ensure_trials(study_id, [(i, ref.params, s) for i, s in enumerate(rerun_seeds(ref.seed, seeds))])
    group = store.trials(experiment, retrain_study_name(ref), kind="retrain")
    finished = int(group["state"].isin(["completed", "infeasible", "failed"]).sum())
    return RetrainPlan(ref, record["id"], study_id, seeds, finished)


@dataclass(frozen=True)
class RetrainResult:
    plan: RetrainPlan
    run: RunSummary
    variance: TrialVariance


def stored_experiment(store: Store, experiment: str) -> tuple[Experiment, Path | None]:
    """The experiment as stored, and the folder its file was read from (where its training code is)."""
    record = store.experiment(experiment)
    path = record.get("config_path")
    try:
        definition = Experiment.model_validate(record["definition"])
    except ValidationError as err:  # written by a scitune whose experiment files had other rules
        raise ScituneError(f"the stored definition of '{experiment}' is not valid for this scitune: "
                           f"{err.errors()[0]['msg']}") from None
    return definition, Path(path).parent if path else None


def retrain(
    store: Store,
    experiment: str,
    trial: str,
    seeds: int,
    *,
    workers: int = 1,
    on_progress: ProgressFn | None = None,
    train: TrainFn | Program | None = None,
) -> RetrainResult:
    """Rerun ``trial`` of ``experiment`` until it has ``seeds`` reruns, and describe their variance.
    The training code is the experiment's own, imported from where its file was (``train`` overrides)."""
    plan = plan_retrain(store, experiment, trial, seeds)
    return run_plan(store, plan, workers=workers, on_progress=on_progress, train=train)


def run_plan(
    store: Store,
    plan: RetrainPlan,
    *,
    workers: int = 1,
    on_progress: ProgressFn | None = None,
    train: TrainFn | Program | None = None,
) -> RetrainResult:
    """Run the reruns of a :class:`RetrainPlan` that are not finished (resuming interrupted ones)."""
    definition, base = stored_experiment(store, plan.trial.experiment)
    if train is None:
        source = str(store.experiment(plan.trial.experiment).get("config_path") or plan.trial.experiment)
        train = load_program(definition, base, source)
    runner = LocalRunner(store, definition, train, workers=workers, on_progress=on_progress, study_ids=[plan.study_id])
    summary = runner.run(plan.experiment_id)
    settle(store)
    return RetrainResult(plan, summary, variance_of(store, plan.trial))
