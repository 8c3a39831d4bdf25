"""From Round 1 to Round 2: a longer-training experiment built from a finished short one.

Playbook ("Deciding how long to train when training is compute-bound", Round 1 and Round 2): when training is compute-bound, tune in rounds of
increasing length; Round 1 runs short (about 10% of the production length) to tune the model and
optimizer, Round 2 runs the best Round-1 configurations longer. What carries over from short to
long runs: warmup length very likely; optimizer hyperparameters maybe; the learning-rate schedule
unlikely, so it is rescaled, spending the extra steps at a *high* learning rate:

* linear decay: keep the decay's length and lengthen the constant phase before it;
* cosine decay: keep the base learning rate and stretch the decay over the longer run.

:func:`round2_experiment` writes that Round-2 file. Its nuisance ranges are narrowed to span the
best few Round-1 trials of each study, on each parameter's own scale, padded by ``margin`` of that
span (at least 5% of the Round-1 range) and never beyond the Round-1 range; categories and listed
values keep only those the best trials used; a tuned ``warmup_steps`` is fixed at the best trial's
value. Scientific and fixed hyperparameters stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from scitune.analysis.ranking import ranked
from scitune.analysis.space_refinement import refine_range
from scitune.config import Experiment, parse_experiment
from scitune.errors import NotFoundError
from scitune.space import ChoiceParam, RangeParam

MIN_PAD = 0.05  # of the Round-1 range, on the parameter's own scale
NEAR_EDGE = 0.10  # a best trial in the outer 10% of a range hints that the range was too narrow


@dataclass(frozen=True)
class Round2Plan:
    text: str  # the Round-2 experiment file
    best: pd.DataFrame  # the Round-1 trials it was built from
    notes: list[str] = field(default_factory=list)


def narrow(p: RangeParam, values: list[float], margin: float) -> tuple[dict[str, Any], list[str]]:
    """A range spanning ``values`` padded by ``margin`` of their span (at least ``MIN_PAD`` of the
    Round-1 range), within ``p``'s range: the refined range of
    :func:`scitune.analysis.space_refinement.refine_range`, with a note when the best trials sit
    near an edge."""
    pos = [p.position(v) for v in values]
    notes = []
    if min(pos) < NEAR_EDGE or max(pos) > 1 - NEAR_EDGE:
        side = "low" if min(pos) < NEAR_EDGE else "high"
        notes.append(f"{p.name}: the best trials sit near the {side} edge of Round 1's range; its axis plot may ask "
                     "for a wider range")
    low, high = refine_range(p, values, margin, MIN_PAD)
    spec: dict[str, Any] = {"low": int(low) if p.integer else low, "high": int(high) if p.integer else high,
                            "scale": p.scale}
    if p.integer:
        spec["type"] = "int"
    if p.when:
        spec["when"] = p.when.to_dict()
    return spec, notes


def best_trials(trials: pd.DataFrame, mode: str, top: int) -> pd.DataFrame:
    """The ``top`` completed trials of each study by their best objective, best first overall."""
    return ranked(trials, mode).groupby("study", sort=False).head(top)


def round2_experiment(
    round1: Experiment,
    trials: pd.DataFrame,
    *,
    top: int = 3,
    factor: float = 10.0,
    max_train_steps: int | None = None,
    trials_per_study: int | None = None,
    name: str | None = None,
    margin: float = 0.25,
) -> Round2Plan:
    """The Round-2 experiment file for a finished Round 1: ``max_train_steps`` (default ``factor``
    times Round 1's), evaluations as many as before, nuisance ranges around the ``top`` best trials
    of each study, and the schedule rescaled as the playbook describes."""
    best = best_trials(trials, round1.objective.mode, top)
    if best.empty:
        raise NotFoundError(f"experiment '{round1.name}' has no completed trial with an objective to start Round 2 from")
    m1, e1 = round1.budget.max_train_steps, round1.budget.eval_every
    m2 = max_train_steps or round(m1 * factor)
    notes: list[str] = []
    if m2 <= m1:
        notes.append(f"Round 2's max_train_steps ({m2}) is not longer than Round 1's ({m1})")
    hp = round1.hyperparameters
    configs = best["params"].tolist()
    winner = configs[0]  # best_trials keeps the overall ranking
    fixed = dict(hp.fixed)
    nuisance: dict[str, Any] = {}
    for spec_name in hp.nuisance:
        p = round1.space[spec_name]
        seen = [c[spec_name] for c in configs if spec_name in c]
        if spec_name == "warmup_steps" and spec_name in winner:
            fixed["warmup_steps"] = winner["warmup_steps"]
            notes.append(f"warmup_steps fixed at the best trial's {winner['warmup_steps']} (warmup length transfers "
                         "to longer runs)")
        elif not seen:
            nuisance[spec_name] = p.to_dict()
        elif isinstance(p, ChoiceParam):
            kept = [v for v in p.values if v in seen]
            nuisance[spec_name] = {"values": kept, "when": p.when.to_dict()} if p.when else kept
        else:
            nuisance[spec_name], edge = narrow(p, [float(v) for v in seen], margin)
            notes.extend(edge)
    notes.extend(_rescale_schedule(round1, fixed, nuisance, winner, m1))
    doc = round1.canonical()
    doc.update(
        experiment=name or f"{round1.name}-round2",
        goal=f"Round 2 of {round1.name}: its best configurations trained {m2} steps instead of {m1}. "
        f"Round 1 asked: {round1.goal}",
    )
    doc["budget"] = {**doc["budget"], "max_train_steps": m2, "eval_every": max(1, round(e1 * m2 / m1)),
                     "trials_per_study": trials_per_study or 2 * top}
    doc["hyperparameters"] = {"scientific": dict(hp.scientific), "nuisance": nuisance, "fixed": fixed}
    header = (
        f"Round 2 of {round1.name}, written by `scitune round2` from the {top} best trial(s) of each of its studies:\n"
        f"max_train_steps {m1} -> {m2}; nuisance ranges narrowed around those trials.\n"
        + "".join(f"- {n}\n" for n in notes) + "Run it with: scitune run THIS_FILE"
    )
    text = "".join(f"# {line}\n" for line in header.splitlines()) + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=None, width=100
    )
    parse_experiment(text, f"<{doc['experiment']}>")
    return Round2Plan(text, best, notes)


def _rescale_schedule(
    round1: Experiment, fixed: dict[str, Any], nuisance: dict[str, Any], winner: dict[str, Any], m1: int
) -> list[str]:
    """Keep a linear decay's length (so the extra steps go to the constant phase before it); a
    cosine decay stretches by itself. Edits ``fixed``/``nuisance`` in place; returns notes."""
    hp = round1.hyperparameters
    if "schedule" in fixed:
        kinds = [fixed["schedule"]]
    elif "schedule" in hp.scientific:
        kinds = list(hp.scientific["schedule"])
    elif "schedule" in nuisance:
        spec = nuisance["schedule"]
        kinds = list(spec["values"] if isinstance(spec, dict) else spec)
    else:
        kinds = ["constant"]
    notes = []
    if "linear" in kinds:
        if any("decay_steps" in role for role in (fixed, nuisance, hp.scientific)):
            notes.append("linear decay: decay_steps is kept, so the extra steps lengthen the constant phase before it")
        else:
            decay = m1 - int(fixed.get("warmup_steps", winner.get("warmup_steps", 0)))
            if kinds == ["linear"]:
                fixed["decay_steps"] = decay
            else:
                nuisance["decay_steps"] = {"values": [decay], "when": {"schedule": "linear"}}
            notes.append(f"linear decay: decay_steps fixed at Round 1's {decay}, so the extra steps lengthen the "
                         "constant phase at the base learning rate")
    if "cosine" in kinds:
        notes.append("cosine decay: the base learning rate is kept and the decay stretches over the longer run")
    if kinds == ["constant"]:
        notes.append("constant learning rate: nothing to rescale; a tuned decay schedule usually does better "
                     "(playbook FAQ on schedules)")
    return notes
