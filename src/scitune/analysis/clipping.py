"""Gradient clipping from observed gradient norms.

Playbook (FAQ "How can optimization failures be debugged and mitigated?", on gradient clipping): log the unclipped L2 norm of the full gradient;
set the clipping threshold λ at the **90th percentile** of the observed norms (clip harder if
instability persists); if more than **half** of all updates would be clipped, clipping is doing the
learning rate's job badly: lower the learning rate instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CLIP_PERCENTILE = 90.0
TOO_AGGRESSIVE = 0.5  # fraction of updates clipped above which the playbook says lower the rate


def clip_scale(norm: float, threshold: float) -> float:
    """The factor clipping multiplies a gradient of norm ``norm`` by: ``min(1, λ/‖g‖)``."""
    return 1.0 if norm <= threshold else threshold / norm


def clipping_threshold(norms: Sequence[float], percentile: float = CLIP_PERCENTILE) -> float:
    """λ: the ``percentile``-th percentile of the finite observed norms."""
    finite = _finite(norms)
    if finite.size == 0:
        raise ValueError("no finite gradient norm to take a percentile of")
    return float(np.percentile(finite, percentile))


def clipped_fraction(norms: Sequence[float], threshold: float) -> float:
    """How often clipping at ``threshold`` would trigger: the share of updates whose norm exceeds
    it (a non-finite norm counts as clipped)."""
    values = np.asarray(norms, dtype=float)
    if values.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        return float(np.mean(~(values <= threshold)))


@dataclass(frozen=True)
class ClippingAdvice:
    threshold: float  # λ: the given threshold, or the percentile of the norms
    percentile: float | None  # the percentile λ was taken at, None when λ was given
    fraction_clipped: float
    updates: int

    @property
    def too_aggressive(self) -> bool:
        return self.fraction_clipped > TOO_AGGRESSIVE

    @property
    def message(self) -> str:
        if self.too_aggressive:
            return (
                f"clipping at {self.threshold:.4g} would clip {self.fraction_clipped:.0%} of {self.updates} updates "
                f"(over {TOO_AGGRESSIVE:.0%}): lower the learning rate instead of clipping this hard"
            )
        source = f"the {self.percentile:g}th percentile of the norms" if self.percentile is not None else "given"
        return (
            f"clip the gradient at norm {self.threshold:.4g} ({source}); it would clip "
            f"{self.fraction_clipped:.0%} of {self.updates} updates"
        )


def clipping_advice(
    norms: Sequence[float], threshold: float | None = None, percentile: float = CLIP_PERCENTILE
) -> ClippingAdvice:
    """The clipping threshold for these unclipped norms (the playbook's percentile unless
    ``threshold`` is given) and how often it would trigger."""
    values = np.asarray(norms, dtype=float)
    chosen = clipping_threshold(values, percentile) if threshold is None else float(threshold)
    return ClippingAdvice(
        chosen, percentile if threshold is None else None, clipped_fraction(values, chosen), int(values.size)
    )


def _finite(norms: Sequence[float]) -> np.ndarray:
    values = np.asarray(norms, dtype=float)
    return values[np.isfinite(values)]
