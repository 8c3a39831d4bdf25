"""Were there enough usable points? Infeasible fractions and the density of the good region.

Playbook ("Extracting insight from experimental results"; "Not sampling enough points in the search space"): many infeasible trials (diverged, or failed to run) call for a
narrower or reparameterized space, or point to a bug; and whether a study has enough points shows in
how many of them fall in the good region. The playbook has no number for either. Ours: a study is
flagged above ``infeasible_fraction`` of its finished trials, and the good region is the band of
objectives within ``near_best`` of the gap between the study's best and its median completed trial
(a scale-free band: it means the same for a loss of 2.3 and an error rate of 0.02), and never
narrower than ``noise_margin`` noise floors of a *difference* (:mod:`scitune.analysis.noise`): trials
that differ from the best by less than the noise are as good as the best, however the rest of the
study spreads. The band compares two readings, the best's and another trial's, each carrying its own
noise of one floor, so their difference has sd sqrt(2) floors and the allowance is
``noise_margin * sqrt(2)`` floors. (The best is also the minimum of the study's readings, which only
makes its lead over the next trials larger under pure noise.) Without reruns the floor is the curves'
evaluation noise and misses seed noise, so the band's noise allowance is a lower bound on what noise
alone can produce; calibration: docs/report.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scitune.analysis.ranking import oriented, ranked, study_order
from scitune.states import FINISHED, UNUSABLE, TrialState

DIFFERENCE = float(np.sqrt(2.0))  # the sd of a difference of two independent readings, in floors


@dataclass(frozen=True)
class Feasibility:
    """A study's finished trials by outcome."""

    study: str
    finished: int
    completed: int
    infeasible: int  # diverged: NaN or infinite objective or loss
    failed: int  # crashed, timed out, or never reported the objective
    common_reason: str | None  # the most frequent reason among the infeasible and failed trials

    @property
    def fraction(self) -> float:
        """The share of finished trials that gave no usable objective."""
        return (self.infeasible + self.failed) / self.finished if self.finished else 0.0


@dataclass(frozen=True)
class NearBest:
    """How densely a study sampled the region around its best trial."""

    study: str
    completed: int
    best: float | None
    median: float | None
    limit: float | None  # objectives on the best side of this value are "near the best"
    count: int  # completed trials within the band, the best included
    floor: float = 0.0  # the noise floor the band was held to (in the objective's units)
    noise_bound: bool = False  # the band is the noise allowance, wider than the share of the gap


def feasibility(trials: pd.DataFrame, studies: list[str] | None = None) -> list[Feasibility]:
    out = []
    for study in study_order(trials, studies):
        group = trials[trials["study"] == study]
        counts = group["state"].value_counts()
        bad = group[group["state"].isin(UNUSABLE)]
        reasons = Counter(str(r).splitlines()[0][:160] for r in bad["reason"] if isinstance(r, str) and r)
        out.append(
            Feasibility(
                study=study,
                finished=int(sum(counts.get(s, 0) for s in FINISHED)),
                completed=int(counts.get(TrialState.COMPLETED, 0)),
                infeasible=int(counts.get(TrialState.INFEASIBLE, 0)),
                failed=int(counts.get(TrialState.FAILED, 0)),
                common_reason=reasons.most_common(1)[0][0] if reasons else None,
            )
        )
    return out


def near_best(
    trials: pd.DataFrame,
    mode: str,
    band: float = 0.25,
    studies: list[str] | None = None,
    floors: Mapping[str, float] | None = None,
    noise_margin: float = 2.0,
) -> list[NearBest]:
    """Per study: the completed trials whose objective lies within ``band`` of the gap between the
    best and the median completed objective, counted from the best; the band is at least
    ``noise_margin * sqrt(2)`` times the study's noise floor (``floors``, by study) when one is known:
    the noise of a difference of two readings."""
    done = ranked(trials, mode)
    out = []
    for study in study_order(trials, studies):
        values = done.loc[done["study"] == study, "best_value"].to_numpy(float)
        if not len(values):
            out.append(NearBest(study, 0, None, None, None, 0))
            continue
        turned = np.asarray(oriented(values, mode))
        best, median = float(turned.min()), float(np.median(turned))
        floor = float((floors or {}).get(study) or 0.0)
        width = band * (median - best)
        noise = noise_margin * DIFFERENCE * floor  # two noisy readings differ with sd sqrt(2) floors
        limit = best + max(width, noise)
        out.append(
            NearBest(
                study=study,
                completed=len(values),
                best=float(oriented(best, mode)),
                median=float(oriented(median, mode)),
                limit=float(oriented(limit, mode)),
                count=int(np.sum(turned <= limit + 1e-12 * max(1.0, abs(limit)))),
                floor=floor,
                noise_bound=noise > width,
            )
        )
    return out
