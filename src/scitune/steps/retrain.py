"""Retrain: rerun one trial's configuration with other seeds to measure its retrain variance.

Playbook ("Determining whether to adopt a training pipeline change or hyperparameter
configuration"): before adopting a change, rerun the best trial several times to see how far its
result moves with the seed alone. ``scitune retrain EXPERIMENT --trial T --seeds N`` is
:func:`retrain` (``--study S --search-seeds N`` is :func:`rerun_study`: the whole study searched
again with other quasi-random seeds, for its study variance). In order:

1. resolve the trial (:mod:`scitune.steps.naming`); it must have finished training;
2. plan: the reruns form a study of kind ``retrain`` named ``STUDY/NUMBER/retrain``, tied to the
   trial, whose trials carry its hyperparameters unchanged and a seed each
   (:func:`scitune.search.rerun_seeds`: ``--seeds 3`` then ``--seeds 5`` gives the same first three
   plus two more);
3. run the unfinished reruns with the experiment's own training code, on local workers;
4. describe their variance (:func:`scitune.analysis.variance.trial_variance`).

Reruns are never claimed by ``scitune run`` and never counted in the search results (status, best
trials, the report's ranking). A second runner on the same trial shares the work, and an
interrupted retrain resumes like ``scitune run``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scitune.analysis.variance import (
    StudyVariance,
    TrialVariance,
    study_rerun_name,
    study_variances,
    trial_variance,
    trial_variances,
)
from scitune.errors import UsageError
from scitune.run.devices import cap_workers, device_pool
from scitune.run.local import LocalRunner, ProgressFn, RunSummary
from scitune.run.program import Program, TrainFn, as_program, load_program
from scitune.search import QuasiRandomSearch, rerun_seeds, trial_seed
from scitune.states import FINISHED, StudyKind, TrialState
from scitune.steps.naming import TrialRef, resolve_trial
from scitune.store import Store

RETRAINABLE = (TrialState.COMPLETED, TrialState.INFEASIBLE)


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

    @property
    def total(self) -> int:
        return self.seeds

    @property
    def headline(self) -> str:
        return f"{self.trial.label}: {self.seeds} reruns with other seeds"


def plan_retrain(store: Store, experiment: str, trial: str, seeds: int) -> RetrainPlan:
    """Record the retrain group of ``trial`` (named as :mod:`scitune.steps.naming` says) with
    ``seeds`` reruns in total. Idempotent: only missing reruns are added; asking for fewer drops
    reruns that never started."""
    if seeds < 1:
        raise UsageError("--seeds must be at least 1")
    ref = resolve_trial(store, experiment, trial)
    if ref.state not in RETRAINABLE:
        raise UsageError(f"{ref.label} is {ref.state}: retrain a trial that has finished training",
                         hint=f"see its reason with: scitune trials {experiment}")
    record = store.experiment(experiment)
    parent = store.study(record, ref.study)
    search = {"algorithm": "retrain", "parent_trial_id": ref.id, "parent_seed": ref.seed,
              "seeds": "SeedSequence(parent_seed, spawn_key=(index,))"}
    study_id = store.ensure_study(record.id, retrain_study_name(ref), parent.scientific, search,
                                  kind=StudyKind.RETRAIN, parent_trial_id=ref.id)
    store.ensure_trials(study_id, [(i, ref.params, s) for i, s in enumerate(rerun_seeds(ref.seed, seeds))])
    group = store.trials(experiment, retrain_study_name(ref), kind=StudyKind.RETRAIN)
    finished = int(group["state"].isin(FINISHED).sum())
    return RetrainPlan(ref, record.id, study_id, seeds, finished)


@dataclass(frozen=True)
class RetrainResult:
    plan: RetrainPlan
    run: RunSummary
    variance: TrialVariance


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
    record = store.experiment(plan.trial.experiment)
    definition = record.experiment
    program = as_program(train) if train is not None else load_program(
        definition, record.folder, str(record.config_path or record.name))
    devices = device_pool(definition.resources.gpus)  # resources.gpus: each rerun on devices of its own
    runner = LocalRunner(store, definition, program, workers=cap_workers(workers, devices) if devices else workers,
                         on_progress=on_progress, study_ids=[plan.study_id], devices=devices)
    summary = runner.run(plan.experiment_id)
    store.settle()
    return RetrainResult(plan, summary, variance_of(store, plan.trial))


# -- reading what the reruns measured ----------------------------------------------------------------


def retrain_variances(store: Store, experiment: str) -> dict[int, TrialVariance]:
    """Every retrained trial's variance in ``experiment``, keyed by the retrained trial's id."""
    retrain = store.trials(experiment, kind=StudyKind.RETRAIN)
    if retrain.empty:  # most experiments: no need to read every search trial
        return {}
    parents = retrain["parent_trial_id"].dropna().astype(int).unique().tolist()
    return trial_variances(store.trials(experiment, ids=parents), retrain)


def variance_of(store: Store, trial: TrialRef) -> TrialVariance:
    """The trial's reruns (none yet: an empty sample with the original value alone)."""
    reruns = store.trials(trial.experiment, kind=StudyKind.RETRAIN)
    found = trial_variances(None, reruns[reruns["parent_trial_id"] == trial.id])
    if trial.id in found:
        v = found[trial.id]
        return trial_variance(v.values, trial_id=trial.id, original=trial.best_value, unstable=v.unstable,
                              unfinished=v.unfinished, study=trial.study, trial=trial.number, ids=v.ids)
    return trial_variance([], trial_id=trial.id, original=trial.best_value, study=trial.study, trial=trial.number)


# -- study variance: a whole study searched again with other quasi-random seeds ----------------------


@dataclass(frozen=True)
class StudyRerunPlan:
    """Study reruns made ready in the store: ``study`` searched again at each of ``seeds``."""

    experiment: str
    experiment_id: int
    study: str
    seeds: tuple[int, ...]  # the search seeds of the reruns (the experiment's own is not among them)
    study_ids: tuple[int, ...]
    total: int  # trials in all reruns
    finished: int  # of them, finished before this run

    @property
    def headline(self) -> str:
        return f"{self.experiment}/{self.study}: searched again with {len(self.seeds)} other quasi-random seeds"


def plan_study_reruns(store: Store, experiment: str, study: str, search_seeds: int) -> StudyRerunPlan:
    """Record ``search_seeds`` reruns of a whole quasi-random study, each with another search seed
    (:func:`scitune.search.rerun_seeds` of the experiment's seed: other Halton points, other training
    seeds), as retrain-kind studies named ``STUDY/search-seed=SEED``: kept out of the search results
    like a trial's reruns. Idempotent, and ``--search-seeds 2`` then ``3`` adds one more."""
    if search_seeds < 1:
        raise UsageError("--search-seeds must be at least 1")
    record = store.experiment(experiment)
    definition = record.experiment
    if definition.search.algorithm != "quasi_random":
        raise UsageError(f"{experiment} uses a {definition.search.algorithm} search: only a quasi-random study can "
                         "be searched again with other seeds")
    parent = store.study(record, study)
    n = definition.budget.trials_per_study
    context = {**definition.fixed, **parent.scientific}
    seeds = tuple(rerun_seeds(definition.search.seed, search_seeds))
    ids = []
    for seed in seeds:
        search = QuasiRandomSearch(definition.space, seed)
        points = search.points(0, n, context)
        sid = store.ensure_study(record.id, study_rerun_name(study, seed), parent.scientific,
                                 {**search.describe(), "rerun_of": study}, kind=StudyKind.RETRAIN)
        store.ensure_trials(sid, [(i, {**context, **p}, trial_seed(seed, i)) for i, p in enumerate(points)])
        ids.append(sid)
    reruns = store.trials(experiment, kind=StudyKind.RETRAIN)
    mine = reruns[reruns["study"].isin([study_rerun_name(study, s) for s in seeds])]
    return StudyRerunPlan(experiment, record.id, study, seeds, tuple(ids), len(mine),
                          int(mine["state"].isin(FINISHED).sum()))


@dataclass(frozen=True)
class StudyRerunResult:
    plan: StudyRerunPlan
    run: RunSummary
    variance: StudyVariance | None


def rerun_study(
    store: Store,
    experiment: str,
    study: str,
    search_seeds: int,
    *,
    workers: int = 1,
    on_plan: Callable[[StudyRerunPlan], None] | None = None,
    on_progress: ProgressFn | None = None,
    train: TrainFn | Program | None = None,
) -> StudyRerunResult:
    """``scitune retrain EXPERIMENT --study S --search-seeds N``: search study ``S`` again with ``N``
    other quasi-random seeds and describe its **study variance** (the spread of its best objective
    over the search seeds, the original's included), which ``compare`` and the report show beside
    the trial variance."""
    plan = plan_study_reruns(store, experiment, study, search_seeds)
    if on_plan is not None:
        on_plan(plan)
    record = store.experiment(experiment)
    definition = record.experiment
    program = as_program(train) if train is not None else load_program(
        definition, record.folder, str(record.config_path or record.name))
    runner = LocalRunner(store, definition, program, workers=workers, on_progress=on_progress,
                         study_ids=list(plan.study_ids))
    summary = runner.run(plan.experiment_id)
    store.settle()
    return StudyRerunResult(plan, summary, study_variances_of(store, experiment).get(study))


def study_variances_of(store: Store, experiment: str) -> dict[str, StudyVariance]:
    """Every study of ``experiment`` searched again: its study variance, by study name."""
    mode = store.experiment(experiment).objective.mode
    return study_variances(store.trials(experiment), store.trials(experiment, kind=StudyKind.RETRAIN), mode)
