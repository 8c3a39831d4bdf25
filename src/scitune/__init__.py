"""scitune: hyperparameter tuning the Deep Learning Tuning Playbook's way.

The Python API mirrors the command line::

    from scitune import Store, load_experiment, run_experiment
    experiment, text = load_experiment("experiment.yaml")
    run_experiment(experiment, Store("scitune.db"), config_text=text, config_path="experiment.yaml")

Names are imported on first use, so ``import scitune.client`` in a training script stays free of
scitune's own dependencies (pandas, SQLAlchemy, pydantic).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Experiment": "scitune.config",
    "load_experiment": "scitune.config",
    "parse_experiment": "scitune.config",
    "run_experiment": "scitune.run",
    "Trial": "scitune.run",
    "TrialInfeasible": "scitune.run",
    "Store": "scitune.store",
    "ScituneError": "scitune.errors",
    "ConfigError": "scitune.errors",
    "StoreError": "scitune.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scitune' has no attribute {name!r}")
