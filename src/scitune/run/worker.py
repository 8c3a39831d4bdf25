"""A worker: claim a trial from the store, train it, record how it ended; repeat until none is left.

Workers talk to nothing but the store, so any number of them, in any number of runners, can share
one experiment.
"""

from __future__ import annotations

import os
import signal
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError

from scitune.analysis.failures import FAIL_FAST_DEFAULT, FailFast, fail_fast, never_reported_reason
from scitune.analysis.ranking import best_point
from scitune.config import Experiment
from scitune.config.experiment import folder_name
from scitune.errors import Interrupted, StoreError, TrialFailed, TrialInfeasible
from scitune.run.checkpoints import CheckpointKeeper, TrialFiles, inside
from scitune.run.program import Program
from scitune.run.trial import Trial
from scitune.states import FINISHED, StudyKind, TrialState
from scitune.store import ClaimedTrial, Store

HOST = socket.gethostname()
STORE_FAILED_EXIT = 75  # a worker's exit status when the store could not be written
_TRACEBACK_LIMIT = 20_000


class Proposer(Protocol):
    """Makes a new trial for a worker that found none to claim (scitune.run.proposer)."""

    def propose(self, store: Store, experiment_id: int, owner: str, host: str) -> ClaimedTrial | None: ...

    def remaining(self, store: Store, experiment_id: int) -> int: ...


class FailWatch(Protocol):
    """Says whether the run's first trials all failed (:class:`FailFastWatch`)."""

    def check(self, store: Store) -> Any: ...


def fail_fast_limit(experiment: Experiment) -> int:
    """How many first trials must all fail before a run stops: ``budget.fail_fast`` (0: never),
    else :data:`~scitune.analysis.failures.FAIL_FAST_DEFAULT`."""
    limit = experiment.budget.fail_fast
    return FAIL_FAST_DEFAULT if limit is None else int(limit)


@dataclass
class FailFastWatch:
    """The fail-fast rule (:func:`scitune.analysis.failures.fail_fast`) over the trials a run
    finished since ``since`` (a wall-clock time). Each worker asks after a failed trial, before it
    claims the next, and the runner while it polls; once the run's first ``limit`` trials are known
    the answer is kept, so the store is read only while the rule can still fire."""

    experiment: Experiment
    limit: int
    since: float
    study_ids: list[int] | None = None
    settled: bool = False
    verdict: FailFast | None = None

    def check(self, store: Store) -> FailFast | None:
        if self.settled or not self.limit:
            return self.verdict
        kind = None if self.study_ids is not None else StudyKind.SEARCH
        trials = store.trials(self.experiment.name, kind=kind)
        if self.study_ids is not None:
            trials = trials[trials["study_id"].isin(self.study_ids)]
        import pandas as pd  # here: a run that never judges fail-fast never needs it

        finished_at = pd.to_numeric(trials["finished_at"], errors="coerce")
        mine = trials[trials["state"].isin(FINISHED) & (finished_at >= self.since)]
        if len(mine) >= self.limit:
            self.settled = True
            self.verdict = fail_fast(mine, self.experiment.objective.metric, self.limit, experiment=self.experiment.name)
        return self.verdict


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is alive (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped) still answers kill(0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def raise_interrupted(signum: int, _frame: Any) -> None:
    """A signal handler: turn SIGTERM (or SIGINT) into :class:`~scitune.errors.Interrupted`."""
    raise Interrupted(signal.Signals(signum).name)


def ignore_stop_signals() -> None:
    """Once a stop is under way, further Ctrl-C or SIGTERM must not cut the final store write."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def trial_directory(root: Path, experiment: str, study: str, number: int) -> Path:
    """``ROOT/EXPERIMENT/STUDY/trial-N``, with path separators in names made harmless."""

    return root / folder_name(experiment) / folder_name(study) / f"trial-{number}"


def _prepare_files(
    store: Store, experiment: Experiment, claimed: ClaimedTrial, root: Path
) -> tuple[TrialFiles, tuple[int, float] | None]:
    """The trial's folder and checkpoints; for a resumed trial, also its best point so far."""
    mode = experiment.objective.mode
    keeper = CheckpointKeeper(experiment.checkpoints.keep_best, mode)
    directory = Path(claimed.directory) if claimed.directory else trial_directory(
        root, experiment.name, claimed.study, claimed.number
    )
    resume_from, best = None, None
    if claimed.resume_step is not None:
        if claimed.resume_path and Path(claimed.resume_path).is_file() and inside(claimed.resume_path, directory):
            resume_from = (claimed.resume_step, claimed.resume_path)
            kept = store.checkpoints([claimed.id])
            keeper.paths.update({
                int(r.step): r.path for r in kept.itertuples() if Path(r.path).is_file() and inside(r.path, directory)
            })
            points = store.metrics([claimed.id])
            objective = points[points["name"] == experiment.objective.metric]
            keeper.values.update({int(r.step): float(r.value) for r in objective.itertuples()})
            best = best_point(objective["step"], objective["value"], mode)
        else:
            store.restart(claimed.id)  # its checkpoint file is gone: start from scratch

    def record(step: int | None, path: str | None, dropped: list[int]) -> None:
        store.record_checkpoint(claimed.id, step, path, dropped)

    files = TrialFiles(
        directory, keeper, record, resume_from,
        on_create=lambda d: store.set_directory(claimed.id, str(d)) if not claimed.directory else None,
    )
    return files, best


def run_trial(
    store: Store, experiment: Experiment, program: Program, claimed: ClaimedTrial, owner: str, root: Path
) -> TrialState:
    """Train one claimed trial and record its end state; returns that state.

    Interruption (Ctrl-C, SIGTERM) records the trial as interrupted and re-raises, so the worker
    stops; every other ending is recorded and the worker moves on to the next trial."""
    files, best = _prepare_files(store, experiment, claimed, root)
    trial = Trial(
        study=claimed.study,
        number=claimed.number,
        params=claimed.params,
        seed=claimed.seed,
        max_train_steps=experiment.budget.max_train_steps,
        eval_every=experiment.budget.eval_every,
        objective=experiment.objective,
        flush=lambda rows, best: store.write_metrics(claimed.id, rows, best, owner),
        files=files,
        best=best,
        attempt=claimed.attempt,
    )
    state, reason, detail = TrialState.COMPLETED, None, None
    try:
        program(trial)
    except TrialInfeasible:
        state, reason = TrialState.INFEASIBLE, trial.infeasible_reason
    except TrialFailed as err:
        state, reason, detail = TrialState.FAILED, err.reason, err.detail
    except (KeyboardInterrupt, Interrupted):
        ignore_stop_signals()
        store.finish(claimed.id, owner, TrialState.INTERRUPTED, trial.take_buffer(), trial.best,
                     reason="the runner was stopped")
        raise
    except BaseException as err:  # noqa: BLE001 - SystemExit from user code is a crash too
        state, reason = TrialState.FAILED, f"{type(err).__name__}: {err}"
        detail = traceback.format_exc()[-_TRACEBACK_LIMIT:]
    else:
        if trial.infeasible_reason:  # the training code caught TrialInfeasible itself
            state, reason = TrialState.INFEASIBLE, trial.infeasible_reason
        elif trial.best is None:
            state = TrialState.FAILED
            reason = never_reported_reason(experiment.objective.metric, trial.reported)
    if trial.notes:
        noted = "; ".join(trial.notes[:3]) + (f"; and {len(trial.notes) - 3} more" if len(trial.notes) > 3 else "")
        reason = f"{reason}; {noted}" if reason else noted
    store.finish(claimed.id, owner, state, trial.take_buffer(), trial.best, reason=reason, traceback=detail)
    return state


def claim_loop(
    store: Store,
    experiment_id: int,
    experiment: Experiment,
    program: Program,
    owner: str,
    study_ids: list[int] | None,
    root: Path,
    proposer: Proposer | None = None,
    watch: FailWatch | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Claim a trial, train it, record how it ended; repeat while ``keep_going()`` and a trial is
    left (with a ``proposer``: or it can make one). Stops after a failed trial once the run's first
    trials all failed (``watch``). Returns how many trials it trained. The body of every worker: a
    local worker process and a Ray executor's task alike."""
    trained = 0
    while keep_going():
        claimed = store.claim(experiment_id, owner, HOST, study_ids)
        if claimed is None and proposer is not None:
            claimed = proposer.propose(store, experiment_id, owner, HOST)
        if claimed is None:
            break
        state = run_trial(store, experiment, program, claimed, owner, root)
        trained += 1
        if state == TrialState.FAILED and watch is not None and watch.check(store) is not None:
            break
    return trained


def _stop_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its runner dies (even by SIGKILL), so a killed
    runner leaves no orphan worker training on. Elsewhere the claim loop's parent check suffices."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_main(
    url: str,
    experiment_id: int,
    experiment: Experiment,
    program: Program,
    owner_prefix: str,
    stop: Any,
    study_ids: list[int] | None,
    root: Path,
    proposer: Proposer | None = None,
    watch: FailWatch | None = None,
) -> None:
    """Entry point of a worker process (forked by the local runner). With a ``proposer``, a worker
    that finds no trial to claim asks it for a new one before it stops. With a ``watch``, a worker
    whose trial failed stops when the run's first trials all failed (fail fast)."""
    signal.signal(signal.SIGTERM, raise_interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    runner_pid = int(owner_prefix.rstrip(":").rsplit(":", 1)[1])
    _stop_with_parent()
    if os.getppid() != runner_pid:  # the runner died before the line above took effect
        return
    owner = f"{owner_prefix}{os.getpid()}"
    store = Store(url)
    try:
        claim_loop(store, experiment_id, experiment, program, owner, study_ids, root, proposer, watch,
                   keep_going=lambda: not stop.is_set() and os.getppid() == runner_pid)
    except (KeyboardInterrupt, Interrupted):
        pass  # the trial is recorded as interrupted; the runner reports the stop
    except (DBAPIError, StoreError):  # the store cannot be written (disk full, read-only): no trial can escape it
        store.close()
        os._exit(STORE_FAILED_EXIT)  # no traceback: the runner stops the run with one line
    finally:
        store.close()
