"""Choosing the batch size: training throughput by batch size, and steps to a result by batch size.

Playbook ("Choosing the batch size"):

* Throughput (examples per second) is measured with short runs at doubling batch sizes until one
  runs out of memory. While the hardware is not saturated, doubling the batch about doubles the
  throughput (the time per step stays flat); once it stops rising, larger batches no longer shorten
  training, so only batch sizes up to there are worth considering. A doubling that gains much less
  than 2x before that point hints at a bottleneck (input pipeline, synchronization) to fix first.
  (:func:`scitune.run.throughput.scan_throughput`) and :func:`throughput_scaling`.
* With everything re-tuned at each batch size, the steps needed to reach a fixed result fall as the
  batch grows: halving per doubling ("perfect scaling") up to a critical batch size, then by less
  and less (diminishing returns). :func:`steps_by_batch_size` and :func:`batch_scaling` read that
  from studies at several batch sizes; :func:`plot_steps_vs_batch_size` draws it.

Both are read as a scaling exponent between consecutive batch sizes: the slope of log(throughput)
or log(steps) against log(batch size). The regime boundaries are ours (the playbook gives none):
throughput exponent at least 0.85 "scales", below 0.15 "saturated" (a doubling gains under 11%);
steps exponent at most -0.75 "perfect scaling", above -0.15 "no gain".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from scitune.analysis.metric_frames import curve, first_reaching, param

THROUGHPUT_SCALES, THROUGHPUT_SATURATED = 0.85, 0.15
STEPS_PERFECT, STEPS_NO_GAIN = -0.75, -0.15


# -- throughput -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputPoint:
    batch_size: int
    time_per_step: float | None  # seconds; None where the batch size could not run
    stopped: str | None = None  # why the scan stopped at this batch size

    @property
    def examples_per_second(self) -> float | None:
        return None if self.time_per_step is None else self.batch_size / self.time_per_step


def doubling_batch_sizes(start: int, limit: int) -> list[int]:
    """``start, 2*start, 4*start, ...`` up to ``limit``."""
    if start < 1 or limit < start:
        raise ValueError(f"need 1 <= start <= limit, got start={start}, limit={limit}")
    return [start * 2**k for k in range(int(math.log2(limit // start)) + 1)]


@dataclass(frozen=True)
class ThroughputScaling:
    table: pd.DataFrame  # batch_size, ms_per_step, examples_per_second, exponent, regime
    largest_useful: int | None  # the largest batch size whose doubling still raised throughput
    scales_until: int | None  # the largest batch size reached by near-perfect scaling
    findings: list[str] = field(default_factory=list)


def _exponents(x: Sequence[float], y: Sequence[float]) -> list[float | None]:
    """Slopes of log y against log x between consecutive points (None for the first)."""
    out: list[float | None] = [None]
    for (x0, y0), (x1, y1) in zip(zip(x, y), zip(x[1:], y[1:])):
        out.append(math.log(y1 / y0) / math.log(x1 / x0))
    return out


def throughput_scaling(
    points: Sequence[ThroughputPoint], *, scales: float = THROUGHPUT_SCALES, saturated: float = THROUGHPUT_SATURATED
) -> ThroughputScaling:
    """Where throughput stops scaling with the batch size, and what that means."""
    ran = [p for p in points if p.time_per_step is not None]
    exps = _exponents([p.batch_size for p in ran], [p.examples_per_second for p in ran])  # type: ignore[misc]
    rows, largest, perfect, findings = [], None, None, []
    still_rising = still_perfect = True
    for p, e in zip(ran, exps):
        regime = "-" if e is None else "scales" if e >= scales else "saturated" if e < saturated else "sub-linear"
        still_rising = still_rising and regime != "saturated"
        still_perfect = still_perfect and regime in ("-", "scales")
        largest = p.batch_size if still_rising else largest
        perfect = p.batch_size if still_perfect else perfect
        rows.append({"batch_size": p.batch_size, "ms_per_step": p.time_per_step * 1e3,  # type: ignore[operator]
                     "examples_per_second": p.examples_per_second, "exponent": e, "regime": regime})
    stop = next((p for p in points if p.stopped), None)
    for p in points:
        if p.stopped:
            rows.append({"batch_size": p.batch_size, "ms_per_step": None, "examples_per_second": None,
                         "exponent": None, "regime": p.stopped})
    if largest is not None:
        findings.append(
            f"throughput rises up to batch size {largest}" + (
                " and stops rising beyond it: larger batches would not shorten training" if largest != ran[-1].batch_size
                else " (the largest measured)")
        )
    if perfect is not None and largest is not None and perfect < largest:
        findings.append(
            f"doubling beyond {perfect} gains clearly less than 2x while throughput still rises: the hardware is "
            "nearing saturation, or a bottleneck (input pipeline, synchronization) is worth fixing first"
        )
    if stop is not None:
        findings.append(f"batch size {stop.batch_size} could not run ({stop.stopped})")
    return ThroughputScaling(pd.DataFrame(rows), largest, perfect, findings)


# -- steps to a result ------------------------------------------------------------------------------


def steps_by_batch_size(
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    metric: str,
    target: float,
    mode: Literal["min", "max"] = "min",
    batch_size: str = "batch_size",
) -> pd.DataFrame:
    """One row per batch size: its trials, how many reached ``target`` on ``metric``, and the fewest
    steps any of them needed (the best-tuned trial's), with that trial's study and number."""
    sizes = param(trials, batch_size)
    rows = []
    for size in sorted({int(v) for v in sizes if v is not None}):
        group = trials[sizes == size]
        best: tuple[int, str, int] | None = None
        reached = 0
        for _, t in group.iterrows():
            steps, values = curve(metrics, t["id"], metric)
            hit = first_reaching(steps, values, target, mode)
            if hit is not None:
                reached += 1
                if best is None or hit < best[0]:
                    best = (hit, t["study"], int(t["trial"]))
        rows.append({"batch_size": size, "trials": len(group), "reached": reached,
                     "steps": best[0] if best else None, "study": best[1] if best else None,
                     "trial": best[2] if best else None})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BatchScaling:
    table: pd.DataFrame  # batch_size, steps, exponent, regime
    critical_batch_size: int | None  # the end of perfect scaling
    largest_useful: int | None  # the largest batch size that still cut the steps meaningfully
    findings: list[str] = field(default_factory=list)


def batch_scaling(table: pd.DataFrame, *, perfect: float = STEPS_PERFECT, no_gain: float = STEPS_NO_GAIN) -> BatchScaling:
    """The perfect-scaling region and the point of diminishing returns in steps vs batch size."""
    done = table.dropna(subset=["steps"]).sort_values("batch_size")
    exps = _exponents(done["batch_size"].tolist(), done["steps"].astype(float).tolist())
    regimes, critical, useful, findings = [], None, None, []
    in_perfect = in_useful = True
    for size, e in zip(done["batch_size"], exps):
        regime = "-" if e is None else "perfect scaling" if e <= perfect else "no gain" if e > no_gain else "diminishing returns"
        in_perfect = in_perfect and regime in ("-", "perfect scaling")
        in_useful = in_useful and regime != "no gain"
        # A claim needs its points: a size counts only through an exponent measured up to it (the
        # first size reached has none, so it alone supports no scaling claim).
        if e is not None:
            critical = int(size) if in_perfect else critical
            useful = int(size) if in_useful else useful
        regimes.append(regime)
        if e is not None and e > 0:
            findings.append(f"steps rose at batch size {size}: the playbook expects never an increase once every "
                            "batch size is re-tuned, so this study may be under-tuned")
    out = done.assign(exponent=exps, regime=regimes)[["batch_size", "steps", "exponent", "regime", "study", "trial"]]
    if critical is not None:
        findings.insert(0, f"perfect scaling (double the batch, half the steps) up to batch size {critical}")
    if useful is not None and critical is not None and useful > critical:
        findings.insert(1, f"diminishing returns from there; larger batches still cut steps up to {useful}")
    missing = table[table["steps"].isna()]["batch_size"].tolist()
    if missing:
        findings.append(f"batch sizes that never reached the target: {', '.join(map(str, missing))}")
    return BatchScaling(out.reset_index(drop=True), critical, useful, findings)
