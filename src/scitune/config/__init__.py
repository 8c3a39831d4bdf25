"""The experiment file: its model (:mod:`~scitune.config.experiment`), how it is read
(:mod:`~scitune.config.loading`) and the presets it may name (:mod:`~scitune.config.presets`)."""

from scitune.config.experiment import (
    COMMAND_FIELDS,
    NAME_PATTERN,
    DESIGN_RULES,
    Budget,
    CheckSettings,
    Checkpoints,
    Experiment,
    Hyperparameters,
    Objective,
    ParamSpec,
    ReportSettings,
    Resources,
    Search,
    StudySpec,
    study_name,
)
from scitune.config.loading import load_experiment, parse_experiment

__all__ = [
    "Experiment", "Objective", "Budget", "Checkpoints", "Resources", "Search", "ReportSettings", "ParamSpec",
    "Hyperparameters", "StudySpec", "study_name", "load_experiment", "parse_experiment", "COMMAND_FIELDS",
    "NAME_PATTERN",
    "CheckSettings", "DESIGN_RULES",
]
