"""Execution: the trial handle training code sees, workers, the local and Ray runners, command
mode, checkpoints, planning a run's points and seeds, and proposing the Bayesian round's points."""

from scitune.errors import TrialInfeasible
from scitune.run.local import LocalRunner, RunSummary
from scitune.run.planning import prepare
from scitune.run.program import load_train
from scitune.run.trial import Trial

__all__ = ["Trial", "TrialInfeasible", "LocalRunner", "RunSummary", "prepare", "load_train"]
