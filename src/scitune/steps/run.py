"""Run an experiment: every study, every trial, on this machine's workers or on a Ray cluster.

Playbook: "Designing the next round of experiments" ends in a set of studies to run; this step runs
them. ``scitune run FILE`` is :func:`run_experiment`. In order:

1. load: read and validate the experiment file and import its training code before any store is
   opened (a wrong file or ``train:`` leaves the store untouched, or uncreated); review its design
   (:mod:`scitune.steps.check`): a refusal stops here too;
2. plan: record the experiment, its studies and their trials with their points and seeds
   (:func:`scitune.run.planning.prepare`; idempotent, so a second call resumes);
3. execute: a local runner forks workers, or the Ray runner keeps Ray tasks in flight; either way
   workers claim trials from the store until none is left.

The protocol tools run the experiment files they derive the same way (:func:`run_text`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from scitune.config import Experiment, load_experiment, parse_experiment
from scitune.config.experiment import NAME_PATTERN
from scitune.errors import RunStopped, TrialsFailing, UsageError
from scitune.run.devices import cap_workers, device_pool
from scitune.run.local import MAX_WORKERS, LocalRunner, ProgressFn, RunSummary, artifacts_root, check_artifacts_writable
from scitune.run.planning import prepare
from scitune.run.program import Program, TrainFn, as_program, load_program
from scitune.states import FINISHED
from scitune.steps.check import DesignReview, check_experiment, refuse
from scitune.store import Store, resolve_url

if TYPE_CHECKING:  # a run reads no frame: only read_results hands frames out
    import pandas as pd

Executor = Literal["local", "ray"]
EXECUTORS: tuple[Executor, ...] = ("local", "ray")
PlanFn = Callable[["RunPlan"], None]  # told of each run just before it starts (the CLI prints it)
CheckFn = Callable[[DesignReview], None]  # told of the design review before anything is written


@dataclass(frozen=True)
class RunPlan:
    """An experiment recorded in the store and ready to run: what trains its trials, and how many
    of them are finished already (a resume)."""

    experiment: Experiment
    experiment_id: int
    program: Program
    base_dir: Path | None  # where the experiment file is: its training code is found from there
    total: int  # trials in all, over every study
    finished: int  # of them, finished before this run
    notes: tuple[str, ...] = ()  # what a derived experiment holds fixed, and why

    @property
    def headline(self) -> str:
        return f"{self.experiment.name}: {self.experiment.goal}"


@dataclass(frozen=True)
class Loaded:
    """An experiment read, validated and with its training code imported: nothing written yet."""

    experiment: Experiment
    config_text: str
    config_path: Path | None
    program: Program


def load(
    experiment: Experiment | str | Path,
    *,
    config_text: str | None = None,
    config_path: str | Path | None = None,
    train: TrainFn | Program | None = None,
    name: str | None = None,
) -> Loaded:
    """Read ``experiment`` (an :class:`Experiment` with its file's ``config_text``, or the path of
    an experiment file) and import its training code (``train`` overrides it). ``name`` runs it as
    a new experiment of that name (the file's own experiment, if stored, is kept). Every mistake in
    any of these is raised here, before any store is opened."""
    if isinstance(experiment, (str, Path)):
        config_path = Path(experiment)
        experiment, config_text = load_experiment(config_path)
    if config_text is None:
        raise UsageError("run an Experiment object with config_text= (the file's text), or give the file's path")
    if name is not None:
        experiment, config_text = renamed(experiment, config_text, name)
    path = Path(config_path) if config_path else None
    program = as_program(train) if train is not None else load_program(
        experiment, path.parent if path else None, str(path or "<experiment>"))
    return Loaded(experiment, config_text, path, program)


def check_name(name: str, where: str = "--as") -> str:
    """``name`` if it can name an experiment, else a :class:`UsageError` saying why."""
    if not re.match(NAME_PATTERN, name) or len(name) > 200:
        raise UsageError(f"{where} {name!r}: an experiment name is letters, digits and . _ - (at most 200), "
                         "starting with a letter or digit")
    return name


def rename_text(config_text: str, name: str) -> str:
    """An experiment file's text with its top-level ``experiment:`` line naming ``name``."""
    return re.sub(r"(?m)^experiment:[^\n#]*", lambda _: f"experiment: {name}", config_text, count=1)


def renamed(experiment: Experiment, config_text: str, name: str) -> tuple[Experiment, str]:
    """``experiment`` under another ``name``, with its file's text saying so, for
    ``scitune run FILE --as NAME``."""
    check_name(name)
    return Experiment.model_validate({**experiment.canonical(), "experiment": name}), rename_text(config_text, name)


def plan_run(store: Store, loaded: Loaded, *, command: str | None = None) -> RunPlan:
    """Record a loaded experiment and its trials in ``store`` (idempotent: a resume adds nothing)."""
    experiment = loaded.experiment
    stored_path = str(loaded.config_path.resolve()) if loaded.config_path else None
    experiment_id = prepare(store, experiment, loaded.config_text, stored_path, command)
    planned = experiment.budget.trials_per_study * len(experiment.studies())
    states = store.progress(experiment_id, experiment.objective.mode)["states"]
    finished = sum(states[s] for s in FINISHED)
    notes: tuple[str, ...] = ()
    stored = sum(states.values())
    if stored > planned:  # trials_per_study was lowered: finished trials beyond it stay, and count
        notes = ((f"trials_per_study is {experiment.budget.trials_per_study}, but the store already holds {stored} "
                  f"trials of this experiment ({finished} finished); they are kept"),)
    base = loaded.config_path.parent if loaded.config_path else None
    return RunPlan(experiment, experiment_id, loaded.program, base, max(planned, stored), finished, notes)


def execute(
    store: Store,
    plan: RunPlan,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    address: str | None = None,
    on_progress: ProgressFn | None = None,
    fail_fast: int | None = None,
    gpus: str | list[str] | None = None,
) -> RunSummary:
    """Run the planned experiment's unfinished trials: ``workers`` local processes (default 1), or
    Ray tasks (``workers`` caps how many at once; default the cluster's CPUs / ``resources.cpus``)
    on the cluster at ``address`` (default: start a local one).

    The run stops early when its first ``fail_fast`` trials all failed (default: the
    file's ``budget.fail_fast``, else 3; 0 never stops): the summary's ``failing`` says why.
    Locally, ``resources.gpus`` devices go to each running trial (``CUDA_VISIBLE_DEVICES``), from
    ``gpus`` (ids, e.g. ``"0,1,2,3"``) or the visible devices; workers then default to, and are
    capped at, the number of trials the devices can hold at once (:mod:`scitune.run.devices`)."""
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if address is not None and executor != "ray":
        raise UsageError("--address is for --executor ray", hint="add --executor ray, or drop --address")
    if workers is not None and workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if fail_fast is not None and fail_fast < 0:
        raise UsageError(f"fail_fast must be 0 (never stop early) or more, got {fail_fast}")
    if gpus is not None and executor == "ray":
        raise UsageError("--gpus is for the local executor", hint="Ray places trials on GPUs by resources.gpus")
    if executor == "ray":
        from scitune.run.ray_executor import RayRunner  # Ray: only when asked for

        runner = RayRunner(store, plan.experiment, address=address, base_dir=plan.base_dir, max_concurrency=workers,
                           on_progress=on_progress, fail_fast=fail_fast)
        return runner.run(plan.experiment_id)
    pool = device_pool(plan.experiment.resources.gpus, gpus)
    local = LocalRunner(store, plan.experiment, plan.program, workers=cap_workers(workers, pool),
                        on_progress=on_progress, fail_fast=fail_fast, devices=pool)
    return local.run(plan.experiment_id)


def run_experiment(
    experiment: Experiment | Loaded | str | Path,
    store: Store | str | None = None,
    *,
    config_text: str | None = None,
    config_path: str | Path | None = None,
    command: str | None = None,
    executor: Executor = "local",
    workers: int | None = None,
    address: str | None = None,
    on_progress: ProgressFn | None = None,
    on_plan: PlanFn | None = None,
    train: TrainFn | Program | None = None,
    fail_fast: int | None = None,
    name: str | None = None,
    on_check: CheckFn | None = None,
    gpus: str | list[str] | None = None,
) -> RunSummary:
    """Run (or resume) every study of ``experiment``: ``scitune run FILE`` as one call.

    ``experiment`` is the path of an experiment file, an :class:`Experiment` with the file's
    ``config_text``, or one :func:`scitune.steps.define.define_experiment` built from Python values;
    ``store`` a :class:`Store` or its URL (default ``./scitune.db``). See :func:`execute` for
    ``executor``, ``workers``, ``address`` and ``fail_fast``; ``on_plan`` sees the plan before any
    trial trains, ``on_progress`` the trials by state while they do; ``on_check`` the design review,
    whose refusals (:class:`~scitune.errors.DesignRefused`) stop the run before the store is touched.
    ``name`` runs it as a new experiment of that name (``scitune run FILE --as NAME``); ``gpus`` the
    device ids local trials share out (``--gpus``)."""
    if isinstance(experiment, Loaded):  # scitune.steps.define.define_experiment's, say
        loaded = experiment if train is None else replace(experiment, program=as_program(train))
        if name is not None:
            renamed_experiment, renamed_text = renamed(loaded.experiment, loaded.config_text, name)
            loaded = replace(loaded, experiment=renamed_experiment, config_text=renamed_text)
    else:
        loaded = load(experiment, config_text=config_text, config_path=config_path, train=train, name=name)
    review = check_experiment(loaded.experiment)
    if on_check is not None:
        on_check(review)
    refuse(review)
    if executor == "local":  # devices asked for but missing: refused before the store is touched
        device_pool(loaded.experiment.resources.gpus, gpus)
    if executor == "local" and workers is not None and workers > MAX_WORKERS:
        raise UsageError(f"--workers {workers} is more than {MAX_WORKERS} worker processes on one machine",
                         hint=f"use at most {MAX_WORKERS}, or several machines sharing one store")
    check_artifacts_writable(artifacts_root(store.url if isinstance(store, Store) else resolve_url(store)))
    db = store if isinstance(store, Store) else Store(store)
    plan = plan_run(db, loaded, command=command)
    if on_plan is not None:
        on_plan(plan)
    return execute(db, plan, executor=executor, workers=workers, address=address, on_progress=on_progress,
                   fail_fast=fail_fast, gpus=gpus)


def plan_text(
    store: Store,
    text: str,
    *,
    base_path: Path | None,
    command: str | None = None,
    saved_as: Path | None = None,
    notes: tuple[str, ...] | list[str] = (),
) -> RunPlan:
    """Record an experiment given as text (one the protocol tools derived from the file at
    ``base_path``). Its training code is found as that file's would be; ``saved_as`` is where the
    text was also written, if anywhere (it is then the stored path)."""
    source = str(saved_as or base_path or "<derived>")
    experiment = parse_experiment(text, source)
    program = load_program(experiment, base_path.parent if base_path else None, source)
    if saved_as is not None:
        Path(saved_as).write_text(text, encoding="utf-8")
    plan = plan_run(store, Loaded(experiment, text, Path(saved_as) if saved_as else None, program), command=command)
    return replace(plan, notes=tuple(notes))


def run_text(
    store: Store,
    text: str,
    *,
    base_path: Path | None,
    workers: int = 1,
    on_progress: ProgressFn | None = None,
    on_plan: PlanFn | None = None,
    command: str | None = None,
    saved_as: Path | None = None,
    notes: tuple[str, ...] | list[str] = (),
) -> tuple[Experiment, RunSummary]:
    """Run (or resume) an experiment given as text (see :func:`plan_text`), on local workers.
    A stopped run raises :class:`~scitune.errors.RunStopped`: a protocol step reads no half-run sweep."""
    plan = plan_text(store, text, base_path=base_path, command=command, saved_as=saved_as, notes=notes)
    if on_plan is not None:
        on_plan(plan)
    summary = execute(store, plan, workers=workers, on_progress=on_progress)
    if summary.interrupted:
        raise RunStopped(f"{plan.experiment.name}: stopped; {summary.states['interrupted']} trial(s) marked interrupted",
                         hint="run the same command again to resume")
    if summary.failing is not None:  # a protocol step reads no sweep of broken trials either
        raise TrialsFailing(f"{plan.experiment.name}: stopped early: {summary.failing.cause}",
                            hint=summary.failing.hint)
    return plan.experiment, summary


def read_results(store: Store, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An experiment's search trials and every metric point of them (a sweep's readings need all)."""
    trials = store.trials(experiment)
    return trials, store.metrics(trials["id"].tolist())
