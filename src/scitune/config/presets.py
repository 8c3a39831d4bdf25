"""Which Adam hyperparameters to tune, for a given trial budget.

Playbook (FAQs: "How should Adam's hyperparameters be tuned?"): with fewer than 10 trials per study tune only
the learning rate; with 10 to 25, the learning rate and β1; with 25 or more, also ε; with
substantially more than 25, also β2. The boundaries, ours where the playbook overlaps or is vague:

=================  ==========================================
trials per study   nuisance hyperparameters opened
=================  ==========================================
1 - 9              learning_rate
10 - 24            + one_minus_beta1
25 - 49            + epsilon
50 and more        + one_minus_beta2   ("substantially more": twice 25)
=================  ==========================================

β1 and β2 are tuned as 1-β (``one_minus_beta1``, ``one_minus_beta2``) on a log scale, where their
useful values spread out. ε assumes PyTorch's and optax's form, added to √v̂ *after* bias correction;
the playbook's (TensorFlow 1's "ε-hat") adds it to the uncorrected √v, so values do not carry over
between the two. The ranges are ours, wide enough to hold the usual good values.

In an experiment file, ``adam: {preset: auto}`` among the nuisance hyperparameters expands to these
(sized by ``budget.trials_per_study``); see :func:`expand_preset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scitune.errors import UsageError

ADAM_THRESHOLDS = {"one_minus_beta1": 10, "epsilon": 25, "one_minus_beta2": 50}
ADAM_RANGES: dict[str, dict[str, Any]] = {
    "learning_rate": {"low": 1.0e-5, "high": 1.0e-1, "scale": "log"},
    "one_minus_beta1": {"low": 1.0e-2, "high": 0.5, "scale": "log"},
    "epsilon": {"low": 1.0e-10, "high": 1.0e-2, "scale": "log"},
    "one_minus_beta2": {"low": 1.0e-4, "high": 1.0e-1, "scale": "log"},
}
PRESET_KEYS = ("preset", "when")


def adam_parameters(trials_per_study: int) -> list[str]:
    """The Adam hyperparameters to tune with ``trials_per_study`` trials, in the order above."""
    if trials_per_study < 1:
        raise UsageError(f"trials_per_study must be at least 1, got {trials_per_study}")
    return ["learning_rate", *(name for name, least in ADAM_THRESHOLDS.items() if trials_per_study >= least)]


def adam_search_space(
    trials_per_study: int, when: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The nuisance entries (as an experiment file spells them) for ``trials_per_study`` trials,
    each with condition ``when`` if given (e.g. ``{optimizer: adam}``)."""
    return {
        name: {**ADAM_RANGES[name], **({"when": dict(when)} if when else {})}
        for name in adam_parameters(trials_per_study)
    }


def adam_fixed() -> dict[str, float]:
    """Values for the Adam hyperparameters a small budget leaves closed: PyTorch's defaults."""
    return {"one_minus_beta1": 0.1, "epsilon": 1.0e-8, "one_minus_beta2": 0.001}


def expand_preset(spec: Any, trials_per_study: int) -> dict[str, dict[str, Any]]:
    """The entries ``adam: {preset: auto}`` stands for. ``preset`` is ``auto`` (size by the
    experiment's ``trials_per_study``) or a number of trials to size for; ``when`` is passed on
    to every entry. Raises ``ValueError`` for anything else."""
    if not isinstance(spec, Mapping):
        raise ValueError("a preset is a mapping, e.g. {preset: auto}")
    unknown = [k for k in spec if k not in PRESET_KEYS]
    if unknown:
        raise ValueError(f"unknown key '{unknown[0]}' in the Adam preset (it takes preset and when)")
    preset = spec.get("preset")
    if preset == "auto":
        budget = trials_per_study
    elif isinstance(preset, int) and not isinstance(preset, bool) and preset >= 1:
        budget = preset
    else:
        raise ValueError(f"preset must be 'auto' or a number of trials, got {preset!r}")
    return adam_search_space(budget, spec.get("when"))
