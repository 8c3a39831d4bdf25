"""The body of the Ray executor's tasks (:mod:`scitune.run.ray_executor`): a worker that claims and
trains an experiment's trials in a Ray worker process.

Its own module, apart from the driver's, so that what a Ray worker imports before its first trial
is only what a worker needs (the store, the experiment's model, the claim loop): each new Ray job's
workers pay that import before they start training, and the driver's side (Ray itself, the runner,
its progress) is not needed there.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitune.config import Experiment
from scitune.errors import Interrupted
from scitune.run.program import load_program
from scitune.run.worker import HOST, FailFastWatch, claim_loop, pid_alive, raise_interrupted
from scitune.store import Store


@dataclass(frozen=True)
class TaskSpec:
    """All a Ray task needs to claim and train trials: plain data, no live objects."""

    url: str
    definition: dict[str, Any]
    experiment_id: int
    owner: str
    artifacts: str
    base_dir: str | None
    cwd: str
    study_ids: tuple[int, ...] | None = None
    fail_fast: int = 0  # stop after a failed trial once the run's first this many trials all failed (0: never)
    since: float = 0.0  # when the run started (wall clock): the trials the fail-fast rule looks at


def train_trials(spec: TaskSpec) -> dict[str, Any]:
    """The body of a Ray task: a worker, claiming and training the experiment's trials one after
    another until none is left, the way a local worker process does (the same claim loop,
    :func:`scitune.run.worker.claim_loop`). One long task per trial slot: Ray's scheduling and the
    start-up (imports, the store's connection) are paid once per slot, not once per trial.

    Runs in a Ray worker process, possibly on another host: the store URL and the artifacts folder
    must mean the same thing there (PostgreSQL, a shared filesystem)."""
    previous_term = signal.signal(signal.SIGTERM, raise_interrupted)
    previous_int = signal.getsignal(signal.SIGINT)
    experiment = Experiment.model_validate(spec.definition)
    program = load_program(experiment, Path(spec.base_dir) if spec.base_dir else None, cwd=Path(spec.cwd))
    study_ids = list(spec.study_ids) if spec.study_ids else None
    proposer = None
    if experiment.search.algorithm == "bayesian":
        from scitune.run.proposer import proposer_for  # Optuna: only for a Bayesian round

        proposer = proposer_for(experiment, study_ids)
    watch = FailFastWatch(experiment, spec.fail_fast, spec.since, study_ids) if spec.fail_fast else None
    store = Store(spec.url)
    trained, interrupted = 0, False
    try:
        # Ray ends a dead driver's tasks; on the driver's own host this task also stops by itself.
        _, host, driver_pid = spec.owner.split(":")[:3]
        trained = claim_loop(store, spec.experiment_id, experiment, program, spec.owner, study_ids,
                             Path(spec.artifacts), proposer, watch,
                             keep_going=lambda: host != HOST or pid_alive(int(driver_pid)))
    except (KeyboardInterrupt, Interrupted):
        interrupted = True  # the trial is recorded as interrupted; the driver reports the stop
    finally:
        store.close()
        # This Ray worker process may run other tasks next: leave its signal handling as it was.
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
    return {"trained": trained, "interrupted": interrupted, "host": HOST, "pid": os.getpid()}
