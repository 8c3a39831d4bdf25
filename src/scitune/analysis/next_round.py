"""The next round, planned from an experiment's findings: what to change, and why.

Playbook ("The incremental tuning strategy", "Exploration vs exploitation", "Extracting insight
from experimental results"): each round's results say what the next round should be. This module
reads the post-study checks (:func:`scitune.analysis.review.review`, whose findings the report
shows) and turns each actionable one into a change of the experiment file, with its reason and the
number behind it:

- a strong boundary finding (the best trials at a range's edge) widens that bound to the
  finding's ``suggested_bound``, kept inside the parameter's domain (a declared ``domain``, else an
  obvious one: probabilities in [0, 1], nonnegative ranges stay nonnegative). Weak edges and edges
  of divergence are noted, not widened;
- "only a few trials near the best", or "more trials would likely still help" as a warning (the gain
  could change the answer), raises ``trials_per_study`` to the finding's suggestion (twice the
  budget); as a note it is listed, not acted on;
- "still improving when training stopped" doubles ``max_train_steps``; "saturated early" lowers it
  to the finding's suggestion; ``eval_every`` keeps the number of evaluations;
- an answer not settled (the goal's finding is a warning) adds a retrain plan: each study's best
  trial rerun with several seeds before concluding; when nothing else changes, the file is a
  replicate study (the next quasi-random seed), never the same trials again;
- when none of these holds, the exploration is adequate: the next round is exploitation
  (``scitune refine``'s Bayesian round), which the step builds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scitune.analysis.findings.record import WARNING, Finding, num, pct
from scitune.analysis.review import Review
from scitune.config import Experiment
from scitune.space import RangeParam

EXPLORE, EXPLOIT, SETTLE, DONE = "explore", "exploit", "settle", "done"
RETRAIN_SEEDS = 5


@dataclass(frozen=True)
class Change:
    """One change of the experiment file: where (a key path), from what to what, and why."""

    path: tuple[str, ...]  # e.g. ("budget", "trials_per_study") or ("hyperparameters", "nuisance", "lr", "high")
    old: Any
    new: Any
    reason: str  # one line, with the finding's number
    finding: int | None = None  # the finding's place in the review's findings, from 1
    check: str | None = None


@dataclass(frozen=True)
class NextPlan:
    """The next round: ``kind`` (explore again, exploit, settle the answer first, or done),
    ``changes`` to the file, ``retrains`` (studies whose best trial to rerun), ``notes`` (findings
    that call for a person's judgement, not an edit) and the new file's ``definition``."""

    kind: str
    changes: list[Change]
    retrains: list[str]
    notes: list[str]
    definition: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)


def domain_of(param: RangeParam) -> tuple[float, float]:
    """Where ``param``'s range may go: its domain (declared in the file, or inferred from its name by
    :func:`scitune.space.inferred_domain` -- one rule for the report's suggestion and this plan),
    and above 0 on a log scale."""
    low, high = param.domain or (None, None)
    if low is None:
        low = 0.0 if param.scale == "log" else -math.inf
    return float(low), (math.inf if high is None else float(high))


def _widen(experiment: Experiment, finding: Finding, number: int) -> tuple[Change | None, str | None]:
    """The change a boundary finding asks for, or a note when its bound cannot or should not move."""
    name, edge = finding.data["param"], finding.data["edge"]
    param = experiment.space[name]
    assert isinstance(param, RangeParam)
    where = f"finding {number} ({finding.check})"
    positions = ", ".join(pct(p) for p in finding.data.get("positions", []))
    if finding.data.get("unstable"):
        return None, (f"{where}: {name}'s {edge} edge is one of divergence (trials past the best diverged): not "
                      "widened; try learning-rate warmup (`scitune warmup`) or gradient clipping first.")
    if finding.severity != WARNING:
        return None, (f"{where}: {name}'s best trial sits at its {edge} edge ({positions} of the way up), but "
                      "no other top trial is there and no trend points there (weak evidence): not widened.")
    low, high = domain_of(param)
    target = float(finding.data["suggested_bound"])
    target = max(target, low) if edge == "low" else min(target, high)
    if param.scale == "log" and target <= 0:
        target = param.low / 10
    if param.integer:
        target = float(math.floor(target) if edge == "low" else math.ceil(target))
    old = param.low if edge == "low" else param.high
    if target == old:
        return None, (f"{where}: {name}'s best trials sit at its {edge} edge, which is already its domain's "
                      f"limit ({num(old)}): consider fixing {name} at {num(old)}.")
    new: float | int = int(target) if param.integer else float(f"{target:.4g}")
    clamped = " (kept inside its domain)" if target != float(finding.data["suggested_bound"]) else ""
    reason = (f"{where}: {name}'s best trials at the {edge} edge ({positions} of the way up the {param.scale} range "
              f"[{num(param.low)}, {num(param.high)}]); {edge} {num(old)} -> {num(new)}{clamped}")
    return Change(("hyperparameters", "nuisance", name, edge), old, new, reason, number, finding.check), None


def plan_next(experiment: Experiment, result: Review) -> NextPlan:
    """Plan the next round of ``experiment`` from its review (module docstring). The definition's
    name and header are the step's; ``definition`` here has the changes applied."""
    changes: list[Change] = []
    notes: list[str] = []
    retrains: list[str] = []
    budget = experiment.budget
    trials = budget.trials_per_study
    for number, finding in enumerate(result.findings, start=1):
        where = f"finding {number} ({finding.check})"
        if finding.check == "boundary":
            change, note = _widen(experiment, finding, number)
            changes += [change] if change else []
            notes += [note] if note else []
        elif finding.check == "few_points" and finding.data.get("completed"):
            changes.append(Change(("budget", "trials_per_study"), trials, 2 * trials,
                                  f"{where}: {finding.study}: only {finding.data['near_best']} of "
                                  f"{finding.data['completed']} completed trials near the best; {trials} -> {2 * trials}",
                                  number, finding.check))
        elif (finding.check == "more_trials" and finding.severity == WARNING
              and finding.data.get("finished", 0) >= trials):
            gain = finding.data.get("last_doubling_gain")
            changes.append(Change(("budget", "trials_per_study"), trials, finding.data["suggested_trials_per_study"],
                                  f"{where}: {finding.study}: the expected best still improved by {num(gain)} over "
                                  f"the last doubling of trials; {trials} -> {finding.data['suggested_trials_per_study']}",
                                  number, finding.check))
        elif finding.check == "still_improving":
            new = 2 * budget.max_train_steps
            changes.append(Change(("budget", "max_train_steps"), budget.max_train_steps, new,
                                  f"{where}: the best steps fell in the last {pct(result.settings.late_fraction)} of "
                                  f"training in {len(finding.data['studies'])} studies; {budget.max_train_steps} -> "
                                  f"{new} (retune the decay schedule for the longer run)", number, finding.check))
        elif finding.check == "saturated":
            new = int(finding.data["suggested_max_train_steps"])
            if new < budget.max_train_steps:
                changes.append(Change(("budget", "max_train_steps"), budget.max_train_steps, new,
                                      f"{where}: every top trial peaked in the first "
                                      f"{pct(result.settings.early_fraction)} of training; {budget.max_train_steps} "
                                      f"-> {new} (3x the latest best step)", number, finding.check))
        elif finding.check == "goal" and finding.severity == WARNING and len(result.answer.ranking) > 1:
            retrains = [b.study for b in result.answer.ranking]
            notes.append(f"{where}: {finding.title}: retrain each study's best trial with {RETRAIN_SEEDS} seeds "
                         "before concluding (commands below).")
        elif finding.check != "goal" and (finding.severity == WARNING or finding.check == "more_trials"):
            notes.append(f"{where}: {finding.title}: {finding.suggestion}")
    changes = _merge(changes)
    if any(c.path == ("budget", "trials_per_study") for c in changes):  # already doubled: no need to say it again
        notes = [n for n in notes if "(more_trials)" not in n.split(":", 1)[0]]
    if changes:
        kind = EXPLORE
    elif retrains:
        kind = SETTLE
        if experiment.search.algorithm == "quasi_random":  # the same design again would rerun the same trials
            seed = experiment.search.seed
            changes.append(Change(("search", "seed"), seed, seed + 1,
                                  "settle: the same design with the next quasi-random seed, a replicate study: does "
                                  "the answer hold across studies? (run the retrains first)"))
    elif experiment.search.algorithm == "quasi_random":
        kind = EXPLOIT
    else:
        kind = DONE
    definition = apply(experiment.canonical(), changes)
    return NextPlan(kind, changes, retrains, notes, definition, list(result.findings))


def _merge(changes: list[Change]) -> list[Change]:
    """One change per key: the largest trial budget asked for; the first of the rest."""
    merged: dict[tuple[str, ...], Change] = {}
    for change in changes:
        before = merged.get(change.path)
        if before is None or (change.path[-1] == "trials_per_study" and change.new > before.new):
            merged[change.path] = change
    return list(merged.values())


def apply(definition: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    """``definition`` (an experiment's canonical form) with ``changes`` made; ``eval_every`` follows
    a new ``max_train_steps`` so the number of evaluations stays the same."""
    out = {**definition, "budget": dict(definition["budget"])}
    hp = dict(out.get("hyperparameters", {}))
    nuisance = {k: (dict(v) if isinstance(v, dict) else v) for k, v in hp.get("nuisance", {}).items()}
    for change in changes:
        if change.path[0] == "budget":
            out["budget"][change.path[1]] = change.new
            if change.path[1] == "max_train_steps":
                old = definition["budget"]
                out["budget"]["eval_every"] = max(1, round(old["eval_every"] * change.new / old["max_train_steps"]))
        elif change.path[0] == "hyperparameters":
            nuisance[change.path[2]][change.path[3]] = change.new
        else:  # a key of a top-level section, e.g. ("search", "seed")
            out[change.path[0]] = {**out.get(change.path[0], {}), change.path[1]: change.new}
    if nuisance:
        out["hyperparameters"] = {**hp, "nuisance": nuisance}
    return out
