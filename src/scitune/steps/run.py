"""Run an experiment: every study, every trial, on this machine's workers or on a Ray cluster.

Playbook: "Designing the next round of experiments" ends in a set of studies to run; this step runs
them. ``scitune run FILE`` is :func:`run_experiment`. In order:

1. load: read and validate the experiment file and import its training code before any store is
   opened (a wrong file or ``train:`` leaves the store untouched, or uncreated);
2. plan: record the experiment, its studies and their trials with their points and seeds
   (:func:`scitune.run.planning.prepare`; idempotent, so a second call resumes);
3. execute: a local runner forks workers, or the Ray runner keeps Ray tasks in flight; either way
   workers claim trials from the store until none is left.

The protocol tools run the experiment files they derive the same way (:func:`run_text`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from scitune.config import Experiment, load_experiment, parse_experiment
from scitune.errors import RunStopped, UsageError
from scitune.run.local import MAX_WORKERS, LocalRunner, ProgressFn, RunSummary, artifacts_root, check_artifacts_writable
from scitune.run.planning import prepare
from scitune.run.program import Program, TrainFn, as_program, load_program
from scitune.states import FINISHED
from scitune.store import Store, resolve_url

Executor = Literal["local", "ray"]
EXECUTORS: tuple[Executor, ...] = ("local", "ray")
PlanFn = Callable[["RunPlan"], None]  # told of each run just before it starts (the CLI prints it)


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
) -> Loaded:
    """Read ``experiment`` (an :class:`Experiment` with its file's ``config_text``, or the path of
    an experiment file) and import its training code (``train`` overrides it). Every mistake in
    either is raised here, before any store is opened."""
    if isinstance(experiment, (str, Path)):
        config_path = Path(experiment)
        experiment, config_text = load_experiment(config_path)
    if config_text is None:
        raise UsageError("run an Experiment object with config_text= (the file's text), or give the file's path")
    path = Path(config_path) if config_path else None
    program = as_program(train) if train is not None else load_program(
        experiment, path.parent if path else None, str(path or "<experiment>"))
    return Loaded(experiment, config_text, path, program)


def plan_run(store: Store, loaded: Loaded, *, command: str | None = None) -> RunPlan:
    """Record a loaded experiment and its trials in ``store`` (idempotent: a resume adds nothing)."""
    experiment = loaded.experiment
    stored_path = str(loaded.config_path.resolve()) if loaded.config_path else None
    experiment_id = prepare(store, experiment, loaded.config_text, stored_path, command)
    total = experiment.budget.trials_per_study * len(experiment.studies())
    states = store.progress(experiment_id, experiment.objective.mode)["states"]
    base = loaded.config_path.parent if loaded.config_path else None
    return RunPlan(experiment, experiment_id, loaded.program, base, total, sum(states[s] for s in FINISHED))


def execute(
    store: Store,
    plan: RunPlan,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    address: str | None = None,
    on_progress: ProgressFn | None = None,
) -> RunSummary:
    """Run the planned experiment's unfinished trials: ``workers`` local processes (default 1), or
    Ray tasks (``workers`` caps how many at once; default the cluster's CPUs / ``resources.cpus``)
    on the cluster at ``address`` (default: start a local one)."""
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if address is not None and executor != "ray":
        raise UsageError("--address is for --executor ray", hint="add --executor ray, or drop --address")
    if workers is not None and workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if executor == "ray":
        from scitune.run.ray_executor import RayRunner  # Ray: only when asked for

        runner = RayRunner(store, plan.experiment, address=address, base_dir=plan.base_dir, max_concurrency=workers,
                           on_progress=on_progress)
        return runner.run(plan.experiment_id)
    local = LocalRunner(store, plan.experiment, plan.program, workers=workers or 1, on_progress=on_progress)
    return local.run(plan.experiment_id)


def run_experiment(
    experiment: Experiment | str | Path,
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
) -> RunSummary:
    """Run (or resume) every study of ``experiment``: ``scitune run FILE`` as one call.

    ``experiment`` is the path of an experiment file, or an :class:`Experiment` with the file's
    ``config_text``; ``store`` a :class:`Store` or its URL (default ``./scitune.db``). See
    :func:`execute` for ``executor``, ``workers`` and ``address``; ``on_plan`` sees the plan before
    any trial trains, ``on_progress`` the trials by state while they do."""
    loaded = load(experiment, config_text=config_text, config_path=config_path, train=train)
    if executor == "local" and workers is not None and workers > MAX_WORKERS:
        raise UsageError(f"--workers {workers} is more than {MAX_WORKERS} worker processes on one machine",
                         hint=f"use at most {MAX_WORKERS}, or several machines sharing one store")
    check_artifacts_writable(artifacts_root(store.url if isinstance(store, Store) else resolve_url(store)))
    db = store if isinstance(store, Store) else Store(store)
    plan = plan_run(db, loaded, command=command)
    if on_plan is not None:
        on_plan(plan)
    return execute(db, plan, executor=executor, workers=workers, address=address, on_progress=on_progress)


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
    return plan.experiment, summary


def read_results(store: Store, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An experiment's search trials and every metric point of them (a sweep's readings need all)."""
    trials = store.trials(experiment)
    return trials, store.metrics(trials["id"].tolist())
