"""The noise floor: the smallest difference in the objective that a study's data can resolve.

Playbook ("Determining whether to adopt a training pipeline change"; "Extracting insight from
experimental results"): a difference smaller than the variation between runs that differ only in
their seed is not evidence of anything. Every finding that claims an effect (a sparse good region,
a trial budget that still pays, a range edge worth widening) is judged against this one number.

Where it comes from, in order of preference:

1. ``retrain``: the retrain standard deviation of the study's retrained trials (two or more
   completed reruns, pooled: :func:`scitune.analysis.variance.study_noise`). It measures trial
   variance directly.
2. ``curve``: without reruns, the step-to-step noise of the best trials' objective curves (their
   second-difference estimates, :attr:`~scitune.analysis.curve_shape.CurveDiagnosis.sigma`, pooled
   as variances: the root of their mean square. The median of a few sd estimates from short curves
   sits below the true sd, since an sd estimate's distribution is skewed).
   An evaluation that wobbles by sigma between neighbouring steps cannot rank two trials closer
   than that.
3. ``quantum``: a metric counted on a small validation set moves in steps (7/360, 8/360): no
   difference smaller than one step can be resolved, and zero variance between reruns is not
   certainty. The quantum floors both sources above.

The floor is 0 (source ``none``) only when nothing above is measurable: a deterministic, noiseless,
continuous objective. Callers multiply it by a margin of their own (see ``ReportSettings``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scitune.analysis.curve_shape import CurveDiagnosis

RETRAIN, CURVE, QUANTUM, NONE = "retrain", "curve", "quantum", "none"
MAX_QUANTA = 100_000  # a "quantum" finer than range / this is float rounding, not counting
MIN_DISTINCT = 4  # fewer distinct values say nothing about a grid


@dataclass(frozen=True)
class NoiseFloor:
    """One study's noise floor, in the objective's units, and where it came from."""

    value: float
    source: str  # "retrain", "curve", "quantum" or "none"
    retrain_sd: float | None = None
    curve_sd: float | None = None
    quantum: float | None = None

    def describe(self) -> str:
        """How a finding names it: ``retrain sd 0.0031``, ``curve noise sd 0.002``, ..."""
        label = {RETRAIN: "retrain sd", CURVE: "curve noise sd", QUANTUM: "the metric's quantum", NONE: "no noise"}
        return f"{label[self.source]} {self.value:.3g}" if self.source != NONE else "no measurable noise"


def metric_quantum(values: Iterable[float], *, tolerance: float = 1e-4, min_distinct: int = MIN_DISTINCT) -> float | None:
    """The step a metric moves in when it is counted (an error rate on N examples moves in 1/N),
    or None when the values do not sit on a grid. Read from the smallest gap between distinct
    values: every other gap must be a whole number of it (within ``tolerance`` of a step), over at
    least ``min_distinct`` distinct values (four for a finding's floor; ``compare`` accepts two,
    since its sides' values are all it has)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    distinct = np.unique(np.round(arr[np.isfinite(arr)], 12))
    if distinct.size < max(2, min_distinct):
        return None
    gaps = np.diff(distinct)
    step = float(gaps.min())
    if step <= 0 or float(distinct[-1] - distinct[0]) / step > MAX_QUANTA:
        return None
    ratio = gaps / step
    if np.max(np.abs(ratio - np.round(ratio))) > tolerance:
        return None
    return step


def noise_floor(
    *, retrain_sd: float | None = None, curve_sds: Sequence[float] = (), values: Iterable[float] = ()
) -> NoiseFloor:
    """The floor from whatever is known (module docstring): the retrain sd when measured, else the
    median curve noise, and never below the metric's quantum."""
    sds = [float(s) for s in curve_sds if s is not None and math.isfinite(s)]
    curve = float(math.sqrt(np.mean(np.square(sds)))) if sds else None  # pooled: the root mean variance
    quantum = metric_quantum(values)
    if retrain_sd is not None and math.isfinite(retrain_sd):
        value, source = float(retrain_sd), RETRAIN
    elif curve is not None and curve > 0:
        value, source = curve, CURVE
    else:
        value, source = 0.0, NONE
    if quantum is not None and quantum > value:
        value, source = quantum, QUANTUM
    return NoiseFloor(value, source, retrain_sd, curve, quantum)


def noise_floors(
    top: pd.DataFrame,
    diagnoses: Mapping[tuple[int, str], CurveDiagnosis],
    metrics: pd.DataFrame,
    objective: str,
    retrain_sd: Mapping[str, float] | None = None,
    studies: Sequence[str] | None = None,
) -> dict[str, NoiseFloor]:
    """Each study's :func:`noise_floor`: ``top`` holds its best trials (study, id, best_value),
    ``diagnoses`` their curves, ``metrics`` their points (the quantum is read from the objective's
    values), ``retrain_sd`` the pooled retrain sd by study."""
    order = list(studies) if studies is not None else list(dict.fromkeys(top["study"]))
    out = {}
    for study in order:
        ids = [int(i) for i in top.loc[top["study"] == study, "id"]]
        sds = [d.sigma for i in ids if (d := diagnoses.get((i, objective))) is not None and d.sigma is not None]
        points = metrics[(metrics["trial_id"].isin(ids)) & (metrics["name"] == objective)]["value"] if len(metrics) else []
        values = [*pd.to_numeric(top.loc[top["study"] == study, "best_value"], errors="coerce"), *points]
        out[study] = noise_floor(retrain_sd=(retrain_sd or {}).get(study), curve_sds=sds, values=values)
    return out
