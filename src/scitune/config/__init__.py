"""The experiment file: its model (:mod:`~scitune.config.experiment`), how it is read
(:mod:`~scitune.config.loading`) and the presets it may name (:mod:`~scitune.config.presets`).

Each name is imported from its module when first asked for: a command that only reads the store
(``scitune status``) needs :class:`StudySpec` (:mod:`~scitune.config.study`) but not pydantic."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scitune.config.experiment import (
        COMMAND_FIELDS,
        DESIGN_RULES,
        NAME_PATTERN,
        Budget,
        Checkpoints,
        CheckSettings,
        Experiment,
        Hyperparameters,
        Objective,
        ParamSpec,
        ReportSettings,
        Resources,
        Search,
        study_name,
    )
    from scitune.config.loading import load_experiment, parse_experiment
    from scitune.config.study import StudySpec

_MODULES = {
    **dict.fromkeys(["COMMAND_FIELDS", "NAME_PATTERN", "DESIGN_RULES", "Budget", "CheckSettings", "Checkpoints",
                     "Experiment", "Hyperparameters", "Objective", "ParamSpec", "ReportSettings", "Resources", "Search",
                     "study_name"], "scitune.config.experiment"),
    "StudySpec": "scitune.config.study",
    "load_experiment": "scitune.config.loading",
    "parse_experiment": "scitune.config.loading",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = getattr(importlib.import_module(_MODULES[name]), name)
        globals()[name] = value
        return value
    if name in ("experiment", "loading", "presets", "study"):
        return importlib.import_module(f"scitune.config.{name}")
    raise AttributeError(f"module 'scitune.config' has no attribute {name!r}")


__all__ = [
    "Experiment", "Objective", "Budget", "Checkpoints", "Resources", "Search", "ReportSettings", "ParamSpec",
    "Hyperparameters", "StudySpec", "study_name", "load_experiment", "parse_experiment", "COMMAND_FIELDS",
    "NAME_PATTERN",
    "CheckSettings", "DESIGN_RULES",
]
