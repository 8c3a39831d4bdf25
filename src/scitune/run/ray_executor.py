"""Running trials on Ray, on whatever cluster Ray is connected to.

``scitune run FILE --executor ray [--address ADDR]``. The driver (this process) records the
experiment and keeps one long Ray task per trial slot in flight; each task is a worker: it claims a
trial from the shared store, trains it, writes its metrics there directly and claims the next,
with the local workers' own loop (:func:`scitune.run.worker.claim_loop`), until none is left. Ray
schedules the tasks (with the experiment file's ``resources``) and the driver only watches; the
store stays the only state they share, so a lost task costs only its trial's progress since its
latest checkpoint, and a new task takes its place.

Ray is an optional dependency (``pip install 'scitune[ray]'``), imported only here and only when
this executor is asked for.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from scitune.analysis.failures import FailFast
from scitune.config import Experiment
from scitune.errors import Interrupted, ScituneError, StoreError
from scitune.run.local import ProgressFn, RunnerBase, RunSummary, artifacts_root, lost_owner_check
from scitune.run.ray_task import TaskSpec, train_trials
from scitune.run.worker import HOST, FailFastWatch, fail_fast_limit
from scitune.states import CLAIMABLE, TrialState
from scitune.store import Store


def import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise ScituneError(
            "the Ray executor needs Ray, which is not installed", hint="pip install 'scitune[ray]'"
        ) from None
    # Ray's notice that a local cluster turned token authentication on (or off) is about Ray's own
    # setup, not the user's run: it is kept out of scitune's output.
    logging.getLogger(RAY_TOKEN_NOTICE_LOGGER).setLevel(logging.ERROR)
    return ray


RAY_TOKEN_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"


# A cluster named by --address (or $RAY_ADDRESS, or "auto") must accept a connection within this many
# seconds, or the run stops with one line: Ray itself would retry for minutes.
CONNECT_SECONDS = 10.0


def _answers(address: str, timeout: float) -> bool:
    """Whether something accepts a TCP connection at ``host:port`` (``ray://`` client addresses too)."""
    import socket

    hostport = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return True  # not host:port: leave it to Ray to understand or refuse
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def init_arguments(address: str | None, timeout: float = CONNECT_SECONDS) -> str:
    """The ``address`` to hand ``ray.init``, checked first.

    Without one (and no ``$RAY_ADDRESS``): ``"local"``, a new local instance, whatever cluster
    Ray's temp folder last recorded (a dead one's ``ray_current_cluster`` made ``ray.init`` retry
    it for minutes). ``"auto"`` means the recorded cluster, which must answer. A named cluster that
    does not accept a connection within ``timeout`` seconds is one clear error."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        return "local"
    where = f"the Ray cluster at {address}"
    if address == "auto":
        from ray._private.utils import get_ray_address_file, read_ray_address

        recorded = read_ray_address()
        if not recorded:
            raise ScituneError("--address auto: no running Ray cluster is recorded on this machine",
                               hint="start one (ray start --head), name it with --address, or drop --address")
        where = f"the Ray cluster recorded in {get_ray_address_file(None)} ({recorded})"
        address = recorded
    if not _answers(address, timeout):
        stale = " (the file is stale: its cluster is gone)" if "recorded in" in where else ""
        raise ScituneError(f"{where} does not answer (no connection within {timeout:g} s){stale}",
                           hint="start the cluster, check the address, or drop --address to start a local Ray")
    return address


class _StopRequest:
    """A SIGTERM/SIGINT handler that only notes the signal; :meth:`check` raises it as
    :class:`~scitune.errors.Interrupted` where the driver can stop cleanly."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        self.signal = signal.Signals(signum).name

    def check(self) -> None:
        if self.signal is not None:
            raise Interrupted(self.signal)


# On a stop (Ctrl-C, SIGTERM, fail fast), running tasks get this long to record their trials as
# interrupted themselves (with the metrics they still hold) before they are cancelled by force.
STOP_SECONDS = 5.0


class RayRunner(RunnerBase):
    """Runs one experiment's trials on Ray: one long task per trial slot, each claiming trials
    from the store in a loop; same results and store as :class:`LocalRunner`."""

    def __init__(
        self,
        store: Store,
        experiment: Experiment,
        *,
        address: str | None = None,
        base_dir: Path | None = None,
        max_concurrency: int | None = None,
        on_progress: ProgressFn | None = None,
        artifacts: Path | None = None,
        study_ids: list[int] | None = None,
        poll_seconds: float = 0.2,
        heartbeat_seconds: float = 5.0,
        stale_after: float = 120.0,
        fail_fast: int | None = None,
    ) -> None:
        self.store, self.experiment = store, experiment
        self.address, self.base_dir, self.max_concurrency = address, base_dir, max_concurrency
        self.on_progress, self.study_ids = on_progress, study_ids
        self.artifacts = (artifacts or artifacts_root(store.url)).resolve()
        self.poll_seconds, self.heartbeat_seconds, self.stale_after = poll_seconds, heartbeat_seconds, stale_after
        # Stop once this many first trials all failed: the argument, else the file's budget.fail_fast.
        self.fail_fast = fail_fast if fail_fast is not None else fail_fast_limit(experiment)
        # ray:driver-host:driver-pid:token: — each task appends its own number, of fixed width, so
        # that no task's owner is a prefix of another's (the store releases trials by prefix).
        self.owner_prefix = f"ray:{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}:"
        self.proposer = None
        if experiment.search.algorithm == "bayesian":  # trials still to be proposed are work left too
            from scitune.run.proposer import proposer_for  # Optuna: only for a Bayesian round

            self.proposer = proposer_for(experiment, study_ids)

    def run(self, experiment_id: int) -> RunSummary:
        ray = import_ray()
        start = time.monotonic()
        watch = FailFastWatch(self.experiment, self.fail_fast, time.time(), self.study_ids)
        failing: FailFast | None = None
        failed_seen = -1
        self.store.reap_lost(experiment_id, lost_owner_check(self.stale_after))
        if not ray.is_initialized():
            ray.init(address=init_arguments(self.address), include_dashboard=False, logging_level="WARNING",
                     log_to_driver=False, configure_logging=True)
        resources = self.experiment.resources
        task = ray.remote(train_trials).options(num_cpus=resources.cpus, num_gpus=resources.gpus, max_retries=0)
        slots = self.max_concurrency or max(1, int(ray.cluster_resources().get("CPU", 1) // resources.cpus))
        spec: dict[str, Any] = {
            "url": self.store.url, "definition": self.experiment.canonical(), "experiment_id": experiment_id,
            "artifacts": str(self.artifacts), "base_dir": str(self.base_dir.resolve()) if self.base_dir else None,
            "cwd": str(Path.cwd()), "study_ids": tuple(self.study_ids) if self.study_ids else None,
            "fail_fast": self.fail_fast, "since": watch.since,
        }
        in_flight: dict[Any, str] = {}
        lost: list[str] = []
        interrupted, counter = False, 0
        # A stop signal is noted, then acted on between Ray calls: raised inside one (ray.wait is
        # Cython), it came out as a SystemError instead of a stop.
        stop = _StopRequest()
        previous_term = signal.signal(signal.SIGTERM, stop)
        previous_int = signal.signal(signal.SIGINT, stop)
        try:
            last_beat = time.monotonic()
            while True:
                stop.check()
                progress = self._progress(experiment_id)
                states = progress["states"]
                failed = states[TrialState.FAILED]
                if failed >= self.fail_fast and failed != failed_seen:  # only then can the rule fire
                    failed_seen, failing = failed, watch.check(self.store)
                if failing is not None:
                    self._stop_tasks(ray, in_flight, "the runner stopped early: its first trials all failed")
                    break
                # As the local runner: a worker (here, a task) per trial left to claim, up to the
                # slots; a running task claims the next trial itself when its trial ends.
                claimable = sum(states[s] for s in CLAIMABLE)
                if self.proposer is not None:
                    claimable += self.proposer.remaining(self.store, experiment_id)
                while len(in_flight) < min(slots, claimable):
                    owner = f"{self.owner_prefix}{counter:06d}"
                    counter += 1
                    in_flight[task.remote(TaskSpec(owner=owner, **spec))] = owner
                if not in_flight:
                    break
                done, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=self.poll_seconds)
                stop.check()
                for ref in done:
                    owner = in_flight.pop(ref)
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayTaskError as err:
                        self._stop_tasks(ray, in_flight, "the runner was stopped")
                        raise _task_error(err) from None
                    except ray.exceptions.RayError as err:
                        # The worker or its node died mid-trial: not the configuration's fault.
                        # The trial runs again, from its latest checkpoint.
                        why = f"its Ray worker was lost ({type(err).__name__})"
                        if self.store.release(owner, TrialState.INTERRUPTED, why):
                            lost.append(why)
                if time.monotonic() - last_beat >= self.heartbeat_seconds:
                    self.store.heartbeat(self.owner_prefix)
                    last_beat = time.monotonic()
        except (KeyboardInterrupt, Interrupted):
            interrupted = True
            self._stop_tasks(ray, in_flight, "the runner was stopped")
        finally:
            signal.signal(signal.SIGTERM, previous_term)
            signal.signal(signal.SIGINT, previous_int)
        return self._summary(experiment_id, start, interrupted, lost, failing)

    def _stop_tasks(self, ray: Any, in_flight: dict[Any, str], reason: str) -> None:
        """Stop every task in flight; the trials they held are marked interrupted (they run again
        later). Each task is first asked to stop (it records its own trial, with the metrics it
        holds); one still running after :data:`STOP_SECONDS` is cancelled by force."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        refs = list(in_flight)
        for ref in refs:
            ray.cancel(ref, force=False)
        _, running = ray.wait(refs, num_returns=len(refs), timeout=STOP_SECONDS) if refs else ([], [])
        for ref in running:
            ray.cancel(ref, force=True)
        if running:
            ray.wait(running, num_returns=len(running), timeout=STOP_SECONDS)
        in_flight.clear()
        # Whatever a task could not record itself (it was killed, or stopped mid-claim).
        self.store.release(self.owner_prefix, TrialState.INTERRUPTED, reason)


def _task_error(err: Any) -> ScituneError:
    """The error a task raised (not a lost worker: something scitune itself could not do there,
    e.g. write the store or import the training code on that node), as one line."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, ScituneError):
        return cause
    if isinstance(cause, DBAPIError):
        return StoreError("the store could not be written by a Ray task (disk full, or the store is read-only); "
                          "the run stopped")
    what = f"{type(cause).__name__}: {cause}" if cause is not None else str(err).strip().splitlines()[0]
    return ScituneError(f"a Ray task of the run failed: {what}")
