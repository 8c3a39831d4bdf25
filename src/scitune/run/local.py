"""The local runner: every study of an experiment, on N worker processes of this machine.

Once the run is planned (:func:`scitune.run.planning.prepare`), the runner marks trials of runners
that died as interrupted, then forks workers that claim trials from the store until none is left.
It resumes naturally: finished trials are never claimed again, interrupted and pending ones are.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scitune.analysis.failures import FailFast
from scitune.config import Experiment
from scitune.errors import Interrupted, StoreError, UsageError
from scitune.run.devices import DevicePool, OnDevices
from scitune.run.program import Program, TrainFn, as_program
from scitune.run.worker import (
    HOST,
    STORE_FAILED_EXIT,
    FailFastWatch,
    Proposer,
    fail_fast_limit,
    pid_alive,
    raise_interrupted,
    worker_main,
)
from scitune.states import CLAIMABLE, TrialState
from scitune.store import Store, display_url

ProgressFn = Callable[[dict[str, Any]], None]


ARTIFACTS_ENV = "SCITUNE_ARTIFACTS"
MAX_WORKERS = 256  # worker processes per runner (docs/reliability.md); more is a typo, not a machine
# The runner's progress poll counts the experiment's trials, so it costs time in proportion to them
# (100,000 trials: about 0.1 s on PostgreSQL). Polled every poll_seconds, that would be a share of
# the machine growing with the experiment; instead a poll of n trials waits n / POLL_TRIALS_PER_SECOND
# seconds at least (2.5 s at 100,000), so the poll's cost per second, and per trial, stays flat.
# Experiments of up to 8,000 trials are polled every poll_seconds as before; a worker that exits
# wakes the runner at once whatever the experiment's size.
POLL_TRIALS_PER_SECOND = 40_000


def poll_delay(poll_seconds: float, trials: int) -> float:
    """Seconds until the next progress poll of an experiment of ``trials`` trials."""
    return max(poll_seconds, trials / POLL_TRIALS_PER_SECOND)


def artifacts_root(store_url: str) -> Path:
    """Where trial folders go: ``$SCITUNE_ARTIFACTS``, else beside a SQLite store file
    (``scitune-artifacts/``), else ``./scitune-artifacts``."""
    if os.environ.get(ARTIFACTS_ENV):
        return Path(os.environ[ARTIFACTS_ENV]).resolve()
    if store_url.startswith("sqlite") and ":///" in store_url and not store_url.endswith(":memory:"):
        return Path(store_url.split(":///", 1)[1]).resolve().parent / "scitune-artifacts"
    return Path.cwd() / "scitune-artifacts"


def check_artifacts_writable(root: Path) -> None:
    """Refuse a run whose trial folders could not be made (no trial could escape that failure):
    the nearest existing folder on the way to ``root`` must be a writable folder."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        why = "is not a folder" if not probe.is_dir() else "is not writable"
        raise StoreError(f"artifacts folder {root}: {probe} {why}, so no trial could keep its files",
                         hint=f"set ${ARTIFACTS_ENV} to a writable folder")


def lost_owner_check(stale_after: float) -> Callable[[str, float], bool]:
    """Is a running trial's owner gone? On this host: the worker process that trains it (or, for a
    Ray task, the driver that owns it) is dead. Elsewhere: no heartbeat for ``stale_after`` seconds."""
    now = time.time()

    def is_lost(owner: str, heartbeat_at: float) -> bool:
        parts = owner.split(":")
        if len(parts) == 4 and parts[0] == HOST and parts[2].isdigit() and parts[3].isdigit():
            return not pid_alive(int(parts[3])) or now - heartbeat_at > stale_after
        if len(parts) == 5 and parts[0] == "ray" and parts[1] == HOST and parts[2].isdigit():
            # A Ray task dies with the driver that owns it: a dead driver here means a lost trial.
            return not pid_alive(int(parts[2])) or now - heartbeat_at > stale_after
        return now - heartbeat_at > stale_after

    return is_lost


@dataclass
class RunSummary:
    experiment: str
    states: dict[str, int]
    best: float | None
    elapsed: float
    interrupted: bool = False
    crashed_workers: list[str] = field(default_factory=list)
    failing: FailFast | None = None  # the run stopped early: its first trials all failed (why, and a hint)


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class RunnerBase:
    """What every runner shares: the progress it shows while it polls, and the summary it ends with."""

    store: Store
    experiment: Experiment
    study_ids: list[int] | None
    on_progress: ProgressFn | None

    def _progress(self, experiment_id: int) -> dict[str, Any]:
        progress = self.store.progress(experiment_id, self.experiment.objective.mode, self.study_ids)
        if self.on_progress is not None:
            self.on_progress(progress)
        return progress

    def _summary(self, experiment_id: int, start: float, interrupted: bool, lost: list[str],
                 failing: FailFast | None = None) -> RunSummary:
        progress = self._progress(experiment_id)
        return RunSummary(
            self.experiment.name, progress["states"], progress["best"], time.monotonic() - start, interrupted, lost,
            failing,
        )


class LocalRunner(RunnerBase):
    """Runs one experiment on ``workers`` processes of this machine."""

    def __init__(
        self,
        store: Store,
        experiment: Experiment,
        train: TrainFn | Program,
        *,
        workers: int = 1,
        on_progress: ProgressFn | None = None,
        poll_seconds: float = 0.2,
        heartbeat_seconds: float = 5.0,
        stale_after: float = 120.0,
        study_ids: list[int] | None = None,
        artifacts: Path | None = None,
        proposer: Proposer | None = None,
        fail_fast: int | None = None,
        devices: DevicePool | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if workers > MAX_WORKERS:
            raise UsageError(f"--workers {workers} is more than {MAX_WORKERS} worker processes on one machine",
                             hint=f"use at most {MAX_WORKERS}, or several machines sharing one store")
        if proposer is None and experiment.search.algorithm == "bayesian":
            from scitune.run.proposer import proposer_for  # Optuna: only for a Bayesian round

            proposer = proposer_for(experiment, study_ids)
        # Makes new trials when none is left to claim (an adaptive search); None for quasi-random.
        self.proposer = proposer
        self.store, self.experiment, self.program = store, experiment, as_program(train)
        self.artifacts = artifacts or artifacts_root(store.url)
        self.workers, self.on_progress = workers, on_progress
        # GPUs (run/devices.py): each worker holds its own for its life; at most one worker per slot.
        self.devices = devices
        if devices is not None:
            self.workers = min(workers, devices.slots)
        self.poll_seconds, self.heartbeat_seconds, self.stale_after = poll_seconds, heartbeat_seconds, stale_after
        self.study_ids = study_ids  # None: every study of the experiment
        # Stop once this many first trials all failed: the argument, else the file's budget.fail_fast.
        self.fail_fast = fail_fast if fail_fast is not None else fail_fast_limit(experiment)
        # host:token:runner-pid: — each worker appends its own pid.
        self.owner_prefix = f"{HOST}:{uuid.uuid4().hex[:12]}:{os.getpid()}:"

    def run(self, experiment_id: int) -> RunSummary:
        start = time.monotonic()
        watch = FailFastWatch(self.experiment, self.fail_fast, time.time(), self.study_ids)
        failing: FailFast | None = None
        failed_seen = -1
        self.store.reap_lost(experiment_id, lost_owner_check(self.stale_after))
        ctx = multiprocessing.get_context("fork")
        stop = ctx.Event()
        self.store.engine.dispose()  # no pooled connection may cross the fork
        procs: list[Any] = []
        crashed: list[str] = []
        interrupted = False
        previous_term = signal.signal(signal.SIGTERM, raise_interrupted)
        # Explicitly: a runner started in the background inherits an ignored SIGINT, and a user
        # who sends it one still means "stop".
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)

        held: dict[Any, tuple[str, ...]] = {}  # worker process -> the devices it holds

        def spawn() -> None:
            ids = self.devices.take() if self.devices is not None else None
            proc = ctx.Process(
                target=worker_main if ids is None else OnDevices(worker_main, ids),
                args=(self.store.url, experiment_id, self.experiment, self.program, self.owner_prefix, stop,
                      self.study_ids, self.artifacts, self.proposer, watch),
                daemon=False,
            )
            proc.start()
            procs.append(proc)
            if ids is not None:
                held[proc] = ids

        try:
            for _ in range(self.workers):
                spawn()
            last_beat = time.monotonic()
            progress, next_poll = None, last_beat + self.poll_seconds
            while True:
                # Wake at once when a worker exits, else at the next poll (or heartbeat) to show progress.
                wake = min(next_poll, last_beat + self.heartbeat_seconds)
                multiprocessing.connection.wait([p.sentinel for p in procs], timeout=max(0.0, wake - time.monotonic()))
                # Which workers ended, asked once: a worker's sentinel is ready as it exits, a moment
                # before it can be reaped. Asked twice, a worker not yet reaped at the first question
                # but reaped at the second was removed with the progress counted before its last
                # trial ended, so an interrupted trial it left was not claimed again in this run.
                exited = [p for p in procs if p.exitcode is not None]
                if progress is None or time.monotonic() >= next_poll or exited:
                    progress = self._progress(experiment_id)
                    next_poll = time.monotonic() + poll_delay(self.poll_seconds, sum(progress["states"].values()))
                self.store.check_still_there()  # a deleted or replaced store file stops the run
                for proc in exited:
                    procs.remove(proc)
                    if proc in held:  # crashed or not, its devices are free again
                        self.devices.release(held.pop(proc))  # type: ignore[union-attr]
                    if proc.exitcode == STORE_FAILED_EXIT:
                        raise StoreError(f"store {display_url(self.store.url)} could not be written by a worker "
                                         "(disk full, or the store is read-only); the run stopped")
                    if proc.exitcode != 0:
                        why = f"its worker process died ({_exit_description(proc.exitcode)})"
                        lost = self.store.release(f"{self.owner_prefix}{proc.pid}", TrialState.FAILED, why, exact=True)
                        crashed.append(why)
                        progress = self._progress(experiment_id) if lost else progress
                failed = progress["states"][TrialState.FAILED]
                if failed >= self.fail_fast and failed != failed_seen:  # only then can the rule fire
                    failed_seen, failing = failed, watch.check(self.store)
                if failing is not None:
                    self._stop_workers(stop, "the runner stopped early: its first trials all failed")
                    break
                claimable = sum(progress["states"][s] for s in CLAIMABLE)
                if self.proposer is not None:  # trials still to be proposed are work left too
                    claimable += self.proposer.remaining(self.store, experiment_id)
                while len(procs) < min(self.workers, claimable):
                    spawn()
                if time.monotonic() - last_beat >= self.heartbeat_seconds:
                    self.store.heartbeat(self.owner_prefix)
                    last_beat = time.monotonic()
                if not procs:
                    break
        except (KeyboardInterrupt, Interrupted, StoreError) as stopped:
            interrupted = True
            if isinstance(stopped, StoreError):
                self._stop_workers(stop, "the runner was stopped", release=False)
                raise  # nothing more can be recorded in a store that is gone or full
            self._stop_workers(stop, "the runner was stopped")
        finally:
            signal.signal(signal.SIGTERM, previous_term)
            signal.signal(signal.SIGINT, previous_int)
        return self._summary(experiment_id, start, interrupted, crashed, failing)

    def _stop_workers(self, stop: Any, reason: str, release: bool = True) -> None:
        """Stop every worker; the trials they held are marked interrupted (they run again later),
        unless ``release`` is false (a store that can no longer be written)."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        # active_children() also covers a worker forked just as the interrupt arrived.
        children = multiprocessing.active_children()
        for proc in children:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        for proc in children:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        if release:  # whatever a worker could not record itself (it died, or was stopped mid-claim)
            self.store.release(self.owner_prefix, TrialState.INTERRUPTED, reason)

