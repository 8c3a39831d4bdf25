"""Which Adam hyperparameters to tune for a trial budget, as experiment-file YAML.

Playbook (FAQs: "How should Adam's hyperparameters be tuned?"). ``scitune adam-preset --trials N``
is :func:`adam_preset`: the nuisance entries the budget affords (:mod:`scitune.config.presets`,
which ``adam: {preset: auto}`` in an experiment file also expands to) and, for the ones it leaves
closed, fixed values (PyTorch's defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scitune.config.presets import adam_fixed, adam_search_space


@dataclass(frozen=True)
class AdamPreset:
    trials_per_study: int
    nuisance: dict[str, dict[str, Any]]  # what to tune, as the nuisance section spells it
    fixed: dict[str, float]  # the Adam hyperparameters left closed at this budget, at PyTorch's defaults


def adam_preset(trials_per_study: int) -> AdamPreset:
    space = adam_search_space(trials_per_study)
    closed = {k: v for k, v in adam_fixed().items() if k not in space}
    return AdamPreset(trials_per_study, space, closed)
