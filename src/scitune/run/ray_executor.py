"""Running trials as Ray tasks, on whatever cluster Ray is connected to.

``scitune run FILE --executor ray [--address ADDR]``. The driver (this process) records the
experiment and keeps up to one task per free trial slot in flight; each task claims its trial from
the shared store, trains it and writes its metrics there directly, exactly as a local worker does.
Ray schedules the tasks (with the experiment file's ``resources``); the store stays the only state
they share, so a lost task costs only its trial's progress since its latest checkpoint.

Ray is an optional dependency (``pip install 'scitune[ray]'``), imported only here and only when
this executor is asked for.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitune.config import Experiment
from scitune.errors import Interrupted, ScituneError
from scitune.run.local import ProgressFn, RunnerBase, RunSummary, artifacts_root, lost_owner_check
from scitune.run.program import load_program
from scitune.run.worker import HOST, raise_interrupted, run_trial
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


@dataclass(frozen=True)
class TaskSpec:
    """All a Ray task needs to claim and train one trial: plain data, no live objects."""

    url: str
    definition: dict[str, Any]
    experiment_id: int
    owner: str
    artifacts: str
    base_dir: str | None
    cwd: str
    study_ids: tuple[int, ...] | None = None


def train_one(spec: TaskSpec) -> dict[str, Any]:
    """The body of a Ray task: claim the next trial of the experiment and train it.

    Runs in a Ray worker process, possibly on another host: the store URL and the artifacts folder
    must mean the same thing there (PostgreSQL, a shared filesystem)."""
    signal.signal(signal.SIGTERM, raise_interrupted)
    experiment = Experiment.model_validate(spec.definition)
    program = load_program(experiment, Path(spec.base_dir) if spec.base_dir else None, cwd=Path(spec.cwd))
    store = Store(spec.url)
    try:
        study_ids = list(spec.study_ids) if spec.study_ids else None
        claimed = store.claim(spec.experiment_id, spec.owner, HOST, study_ids)
        if claimed is None and experiment.search.algorithm == "bayesian":
            from scitune.run.proposer import proposer_for  # Optuna: only for a Bayesian round

            claimed = proposer_for(experiment, study_ids).propose(store, spec.experiment_id, spec.owner, HOST)
        if claimed is None:
            return {"trial": None, "state": None}
        state = run_trial(store, experiment, program, claimed, spec.owner, Path(spec.artifacts))
        return {"trial": claimed.id, "state": state, "host": HOST, "pid": os.getpid()}
    finally:
        store.close()


class RayRunner(RunnerBase):
    """Runs one experiment's trials as Ray tasks; same results and store as :class:`LocalRunner`."""

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
    ) -> None:
        self.store, self.experiment = store, experiment
        self.address, self.base_dir, self.max_concurrency = address, base_dir, max_concurrency
        self.on_progress, self.study_ids = on_progress, study_ids
        self.artifacts = (artifacts or artifacts_root(store.url)).resolve()
        self.poll_seconds, self.heartbeat_seconds, self.stale_after = poll_seconds, heartbeat_seconds, stale_after
        # ray:driver-host:driver-pid:token: — each task appends its own number.
        self.owner_prefix = f"ray:{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}:"
        self.proposer = None
        if experiment.search.algorithm == "bayesian":  # trials still to be proposed are work left too
            from scitune.run.proposer import proposer_for  # Optuna: only for a Bayesian round

            self.proposer = proposer_for(experiment, study_ids)

    def run(self, experiment_id: int) -> RunSummary:
        ray = import_ray()
        start = time.monotonic()
        self.store.reap_lost(experiment_id, lost_owner_check(self.stale_after))
        if not ray.is_initialized():
            ray.init(address=init_arguments(self.address), include_dashboard=False, logging_level="WARNING",
                     log_to_driver=False, configure_logging=True)
        resources = self.experiment.resources
        task = ray.remote(train_one).options(num_cpus=resources.cpus, num_gpus=resources.gpus, max_retries=0)
        slots = self.max_concurrency or max(1, int(ray.cluster_resources().get("CPU", 1) // resources.cpus))
        spec = dict(
            url=self.store.url, definition=self.experiment.canonical(), experiment_id=experiment_id,
            artifacts=str(self.artifacts), base_dir=str(self.base_dir.resolve()) if self.base_dir else None,
            cwd=str(Path.cwd()), study_ids=tuple(self.study_ids) if self.study_ids else None,
        )
        in_flight: dict[Any, str] = {}
        lost: list[str] = []
        interrupted, counter = False, 0
        previous_term = signal.signal(signal.SIGTERM, raise_interrupted)
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            last_beat = time.monotonic()
            while True:
                progress = self._progress(experiment_id)
                states = progress["states"]
                # Trials not yet claimed, plus those our in-flight tasks hold (counted as running).
                left = sum(states[s] for s in CLAIMABLE) + states[TrialState.RUNNING]
                if self.proposer is not None:
                    left += self.proposer.remaining(self.store, experiment_id)
                wanted = min(slots, left)
                while len(in_flight) < wanted:
                    owner = f"{self.owner_prefix}{counter}"
                    counter += 1
                    in_flight[task.remote(TaskSpec(owner=owner, **spec))] = owner
                if not in_flight:
                    break
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=self.poll_seconds)
                for ref in done:
                    owner = in_flight.pop(ref)
                    try:
                        ray.get(ref)
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
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for ref in in_flight:
                ray.cancel(ref, force=True)
            ray.wait(list(in_flight), num_returns=len(in_flight), timeout=30)
            self.store.release(self.owner_prefix, TrialState.INTERRUPTED, "the runner was stopped")
        finally:
            signal.signal(signal.SIGTERM, previous_term)
            signal.signal(signal.SIGINT, previous_int)
        return self._summary(experiment_id, start, interrupted, lost)
