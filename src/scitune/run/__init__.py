"""Running trials: the handle training code sees, workers, and the local runner."""

from scitune.run.local import (
    LocalRunner,
    RunSummary,
    prepare,
    run_experiment,
    trial_seed,
)
from scitune.run.program import load_train
from scitune.run.trial import Trial, TrialInfeasible

__all__ = ["Trial", "TrialInfeasible", "LocalRunner", "RunSummary", "run_experiment", "prepare", "trial_seed", "load_train"]
