"""scitune: hyperparameter tuning the Deep Learning Tuning Playbook's way.

The Python API mirrors the command line, one call per command::

    import scitune
    summary = scitune.run_experiment("experiment.yaml", "scitune.db")     # scitune run
    report = scitune.write_report(scitune.Store("scitune.db"), "digits-width")   # scitune report

Names are imported on first use, so ``import scitune.training.client`` in a training script stays
free of scitune's own dependencies (pandas, SQLAlchemy, pydantic).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # the experiment file and the store
    "Experiment": "scitune.config",
    "load_experiment": "scitune.config",
    "parse_experiment": "scitune.config",
    "Store": "scitune.store",
    # what training code sees
    "Trial": "scitune.run.trial",
    "TrialInfeasible": "scitune.errors",
    # the playbook's steps, one per command
    "run_experiment": "scitune.steps.run",  # run
    "status": "scitune.steps.results",  # status
    "trial_rows": "scitune.steps.results",  # trials
    "best_trials": "scitune.steps.results",  # best
    "trial_detail": "scitune.steps.results",  # show
    "delete_experiment": "scitune.steps.manage",  # delete
    "deletion_plan": "scitune.steps.manage",
    "rename_experiment": "scitune.steps.manage",  # rename
    "write_report": "scitune.steps.report",  # report
    "findings": "scitune.steps.report",
    "retrain": "scitune.steps.retrain",  # retrain
    "rerun_study": "scitune.steps.retrain",  # retrain --study --search-seeds
    "compare_trials": "scitune.steps.decide",  # compare
    "launch": "scitune.steps.decide",  # launch
    "launch_history": "scitune.steps.decide",  # launches
    "incumbent": "scitune.steps.decide",  # incumbent
    "resolve_side": "scitune.steps.naming",
    "resolve_trial": "scitune.steps.naming",
    "experiment_log": "scitune.steps.log",  # log
    "add_note": "scitune.steps.log",  # note
    "refine_experiment": "scitune.steps.refine",  # refine
    "write_refined": "scitune.steps.refine",
    "run_test": "scitune.steps.final_test",  # test
    "steps_sweep": "scitune.steps.step_budget",  # steps sweep
    "check_steps": "scitune.steps.step_budget",  # steps check
    "LearningRates": "scitune.steps.step_budget",
    "warmup_protocol": "scitune.steps.warmup",  # warmup
    "stability": "scitune.steps.stability",  # stability
    "throughput": "scitune.steps.batch_size",  # batch-size throughput
    "scaling": "scitune.steps.batch_size",  # batch-size scaling
    "round2": "scitune.steps.round2",  # round2
    "adam_preset": "scitune.steps.adam",  # adam-preset
    "check_experiment": "scitune.steps.check",  # check
    "design_review": "scitune.analysis.design_review",
    "next_round": "scitune.steps.next_round",  # next
    "write_next": "scitune.steps.next_round",
    "define_experiment": "scitune.steps.define",  # an experiment from Python values (notebooks)
    "import_optuna": "scitune.steps.importing",  # import optuna
    "import_csv": "scitune.steps.importing",  # import csv
    "export_experiment": "scitune.steps.exporting",  # export
    "serve_dashboard": "scitune.dashboard",  # dashboard
    # errors
    "ScituneError": "scitune.errors",
    "ConfigError": "scitune.errors",
    "StoreError": "scitune.errors",
    "UsageError": "scitune.errors",
    "NotFoundError": "scitune.errors",
    "NotAdopted": "scitune.errors",
    "DesignRefused": "scitune.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scitune' has no attribute {name!r}")
