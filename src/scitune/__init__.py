"""scitune: hyperparameter tuning the Deep Learning Tuning Playbook's way.

The Python API mirrors the command line::

    from scitune import Store, load_experiment, run_experiment
    experiment, text = load_experiment("experiment.yaml")
    run_experiment(experiment, Store("scitune.db"), config_text=text, config_path="experiment.yaml")
"""

from scitune.config import Experiment, load_experiment, parse_experiment
from scitune.errors import ConfigError, ScituneError, StoreError
from scitune.run import Trial, TrialInfeasible, run_experiment
from scitune.store import Store

__version__ = "0.1.0"

__all__ = [
    "Experiment", "load_experiment", "parse_experiment", "run_experiment", "Store", "Trial", "TrialInfeasible",
    "ScituneError", "ConfigError", "StoreError", "__version__",
]
