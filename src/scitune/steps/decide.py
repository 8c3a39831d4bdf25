"""Decide with evidence: compare two trials' reruns, launch a new incumbent, and look back.

Playbook ("Determining whether to adopt a training pipeline change or hyperparameter
configuration"): adopt a change only when it beats the baseline after accounting for both sides'
retrain variance, and keep a record of what was adopted, when and why.

- :func:`compare_trials` (``scitune compare A B``): does B beat A beyond the retrain noise? Each
  side's sample is its completed reruns (:mod:`scitune.steps.retrain`), or its own objective when
  it has none, each read off its curve (:mod:`scitune.analysis.readings`); the verdict is
  :func:`scitune.analysis.compare.compare_readings`'s, the same core as the report's answer.
- :func:`launch` (``scitune launch``): record a trial as the new incumbent, with the comparison it
  won against the current one (the first launch needs none), a note and the command that
  reproduces it. A candidate that does not win is refused (:class:`~scitune.errors.NotAdopted`)
  unless forced, which is recorded.
- :func:`incumbent`, :func:`launch_history`, :func:`incumbent_yaml` (``scitune incumbent``,
  ``scitune launches``): what was adopted, as a table or as the next experiment file's fixed values.

Trials are named as :mod:`scitune.steps.naming` says.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

from scitune.analysis.compare import ADOPT, DEFAULT_ALPHA, NOT_ENOUGH, Comparison, compare_readings, describe_comparison
from scitune.analysis.ranking import ranked
from scitune.analysis.readings import Reading, read_trials
from scitune.analysis.variance import StudyVariance
from scitune.errors import NotAdopted, ScituneError
from scitune.steps.naming import TrialRef, resolve_side, resolve_trial
from scitune.steps.retrain import study_variances_of, variance_of
from scitune.store import ExperimentRecord, LaunchRecord, Store

DEFAULT_SEEDS = 5  # reruns suggested when a side has none and no estimate says how many


def when(timestamp: float) -> str:
    """A stored time as local ISO 8601 with its UTC offset, to the second."""
    return dt.datetime.fromtimestamp(timestamp).astimezone().isoformat(sep=" ", timespec="seconds")


def retrain_command(trial: TrialRef, seeds: int) -> str:
    return f"scitune retrain {shlex.quote(trial.experiment)} --trial {shlex.quote(trial.name)} --seeds {seeds}"


@dataclass(frozen=True)
class Evidence:
    """A comparison of two trials' reruns, with the trials it is about."""

    baseline: TrialRef
    candidate: TrialRef
    metric: str
    comparison: Comparison
    studies: tuple[StudyVariance | None, StudyVariance | None] = (None, None)  # each side's study variance

    def suggestions(self) -> list[str]:
        """Retrain commands that would let a later comparison account for the noise, or settle it."""
        c = self.comparison
        if c.verdict == NOT_ENOUGH and c.low is not None and c.reruns_needed is None:
            return []  # the gain is too small next to the noise to be worth more reruns
        target = c.reruns_needed or DEFAULT_SEEDS
        # A side without reruns gets at least DEFAULT_SEEDS: its own variance is what is missing.
        return [retrain_command(trial, max(target, DEFAULT_SEEDS) if side.n < 2 else target)
                for trial, side in ((self.baseline, c.baseline), (self.candidate, c.candidate))
                if side.n < 2 or (c.verdict == NOT_ENOUGH and side.n < target)]

    def lines(self) -> list[str]:
        return (describe_comparison(self.comparison, self.metric) + self.study_lines()
                + [f"run: {cmd}" for cmd in self.suggestions()])

    def study_lines(self) -> list[str]:
        """Study variance beside trial variance, for each side whose study was searched again."""
        out = []
        for side, v in zip((self.comparison.baseline, self.comparison.candidate), self.studies):
            if v is None or v.std is None:
                continue
            trial = f"trial sd {side.std:.4g} over its reruns" if side.std is not None else "no trial sd measured"
            which = ("study variance dominates" if side.std is None or v.std > side.std
                     else "trial variance dominates")
            out.append(f"study variance: {side.label}'s study best moves by sd {v.std:.4g} over {v.n} search seeds; "
                       f"{trial}: {which}")
        return out

    def as_record(self) -> dict[str, Any]:
        return {**self.comparison.as_record(), "metric": self.metric, "baseline_id": self.baseline.id,
                "candidate_id": self.candidate.id, "summary": self.lines(),
                "study_variance": [None if v is None else {"study": v.study, "bests": list(v.bests), "std": v.std}
                                   for v in self.studies]}


def comparison_row(evidence: Evidence) -> pd.DataFrame:
    """A comparison as one flat row: each side's label, id, reruns, mean and sd; the gain, its
    interval, the p-value and the verdict."""
    c = evidence.comparison
    row: dict[str, Any] = {"metric": evidence.metric, "mode": c.mode}
    for key, side, trial in (("a", c.baseline, evidence.baseline), ("b", c.candidate, evidence.candidate)):
        row.update({key: side.label, f"{key}_id": trial.id, f"{key}_n": side.n, f"{key}_mean": side.mean,
                    f"{key}_std": side.std})
    row.update(difference=c.difference, gain=c.gain, gain_low=c.low, gain_high=c.high, confidence=c.confidence,
               p_value=c.p_value, verdict=c.verdict, accounts_for_variance=c.accounts_for_variance,
               reruns_needed=c.reruns_needed, reading=c.reading, floor=c.floor, borrowed=c.borrowed)
    return pd.DataFrame([row])


def side_readings(store: Store, trial: TrialRef, metric: str, mode: str) -> tuple[list[Reading], int | None, list[float]]:
    """A side's readings: one per completed rerun, or the trial's own when it has none; the number
    of trials its only value was picked from when it is its study's best without reruns (the
    winner's curse); and every value of the objective's curves read (to infer the metric's step)."""
    reruns = variance_of(store, trial)
    if reruns.values:
        ids, values = list(reruns.ids), list(reruns.values)
    elif trial.best_value is None:
        raise ScituneError(f"{trial.label} ended {trial.state} and has no completed rerun: nothing to compare")
    else:
        ids, values = [trial.id], [trial.best_value]
    points = store.metrics(ids) if ids else None
    read = read_trials(points, metric, mode) if points is not None else {}
    readings = [read.get(i) or Reading(v) for i, v in zip(ids, values)] if len(ids) == len(values) else \
        [Reading(v) for v in values]
    selected = None
    if not reruns.values:
        study = ranked(store.trials(trial.experiment, trial.study), mode)
        if len(study) > 1 and int(study.iloc[0]["id"]) == trial.id:
            selected = len(study)
    extra = [] if points is None else points.loc[points["name"] == metric, "value"].dropna().tolist()
    return readings, selected, extra


def compare_trials(store: Store, baseline: TrialRef, candidate: TrialRef, alpha: float = DEFAULT_ALPHA,
                   borrow_variance: bool = False) -> Evidence:
    """Does ``candidate`` beat ``baseline`` beyond the retrain noise? Both must rank trials by the
    same objective. The verdict is :func:`scitune.analysis.compare.compare_readings`'s, the one the
    report's answer gives too; ``borrow_variance`` lets a side without reruns take the other's."""
    a_objective = store.experiment(baseline.experiment).objective
    b_objective = store.experiment(candidate.experiment).objective
    a_metric, a_mode = a_objective.metric, a_objective.mode
    b_metric, b_mode = b_objective.metric, b_objective.mode
    if (a_metric, a_mode) != (b_metric, b_mode):
        raise ScituneError(f"{baseline.label} is ranked by {a_metric} ({a_mode}) and {candidate.label} by {b_metric} "
                           f"({b_mode}): they cannot be compared")
    a, a_selected, a_extra = side_readings(store, baseline, a_metric, a_mode)
    b, b_selected, b_extra = side_readings(store, candidate, a_metric, a_mode)
    comparison = compare_readings(a, b, a_mode, alpha=alpha, labels=(baseline.label, candidate.label),
                                  borrow_variance=borrow_variance, selected=(a_selected, b_selected),
                                  extra_values=a_extra + b_extra)
    studies = tuple(study_variances_of(store, t.experiment).get(t.study) for t in (baseline, candidate))
    return Evidence(baseline, candidate, a_metric, comparison, studies)  # type: ignore[arg-type]


# -- launches -----------------------------------------------------------------------------------------


def reproduce_command(record: ExperimentRecord, trial: TrialRef | None = None) -> str:
    """The command that trains the experiment again (its stored path is absolute), naming the trial."""
    base = f"scitune run {shlex.quote(record.config_path)}" if record.config_path else record.command or ""
    return base + (f"  # trial {trial.name} (id {trial.id}), seed {trial.seed}" if trial else "")


def launch(
    store: Store,
    experiment: str,
    trial: str,
    note: str,
    *,
    against: str | None = None,
    force: bool = False,
    alpha: float = DEFAULT_ALPHA,
    borrow_variance: bool = False,
) -> dict[str, Any]:
    """Record ``trial`` of ``experiment`` as the new incumbent, with its evidence: the comparison with
    ``against`` (default: the current incumbent) that it must win (``adopt``) unless ``force``.
    The first launch needs no comparison. A candidate (or baseline) without reruns of its own is
    refused unless ``borrow_variance`` (or ``force``) says to lend it the other side's. Returns the launch as stored; :class:`NotAdopted` (exit
    code 1) when the evidence says no."""
    candidate = resolve_trial(store, experiment, trial)
    if candidate.best_value is None:
        raise ScituneError(f"{candidate.label} ended {candidate.state}: only a completed trial can be launched")
    current = incumbent(store)
    baseline = resolve_side(store, against) if against else (
        resolve_side(store, str(current.trial_id)) if current else None)
    variance = variance_of(store, candidate)
    evidence: dict[str, Any] = {"baseline": None, "forced": False,
                                "candidate": {"label": candidate.label, "values": list(variance.values),
                                              "mean": variance.mean, "std": variance.std, "original": candidate.best_value}}
    if baseline is not None:
        if baseline.id == candidate.id:
            raise ScituneError(f"{candidate.label} is already {'the incumbent' if not against else 'the baseline'}")
        try:
            result = compare_trials(store, baseline, candidate, alpha, borrow_variance)
        except ScituneError as err:
            if not force:
                raise
            evidence.update(baseline={"label": baseline.label}, forced=True, not_compared=err.message)
        else:
            c = result.comparison
            if c.verdict != ADOPT and not force:
                interval = f", {round(100 * c.confidence)}% interval [{c.low:.4g}, {c.high:.4g}]" if c.low is not None else ""
                steps = "; ".join(result.suggestions()) or f"scitune compare {baseline.label} {candidate.label}"
                lone = (c.baseline.n < 2 or c.candidate.n < 2) and not c.borrowed
                raise NotAdopted(
                    f"{candidate.label} does not beat {baseline.label} beyond the noise: {c.verdict} "
                    f"(gain {c.gain:.4g} {result.metric}{interval})",
                    hint=f"{steps}; or launch with " + ("--borrow-variance to lend the side without reruns the "
                                                        "other's variance, or " if lone else "")
                    + "--force to record it anyway",
                )
            evidence = {**result.as_record(), "forced": result.comparison.verdict != ADOPT}
    record = store.experiment(experiment)
    objective = record.objective
    value = variance.mean if variance.n else candidate.best_value
    launch_id = store.add_launch(
        record.id, candidate.id, candidate.study, candidate.number, candidate.params,
        {"metric": objective.metric, "mode": objective.mode, "value": value, "reruns": variance.n},
        evidence, note, reproduce_command(record, candidate),
    )
    return next(r for r in store.launches() if r.id == launch_id)


def incumbent(store: Store) -> LaunchRecord | None:
    """The latest launch (the current incumbent), or None before the first."""
    rows = store.launches()
    return rows[-1] if rows else None


LAUNCH_COLUMNS = ["launch", "time", "experiment", "trial", "trial_id", "objective", "value", "reruns", "baseline",
                  "verdict", "gain", "gain_low", "gain_high", "forced", "note", "command"]


def launch_history(store: Store) -> pd.DataFrame:
    """Every launch, oldest first: what became the incumbent, when, on what evidence, and why."""
    rows = []
    for r in store.launches():
        ev, obj = r.evidence, r.objective
        baseline = ev.get("baseline")
        rows.append({
            "launch": r.id, "time": when(r.created_at), "experiment": r.experiment,
            "trial": f"{r.study}/{r.trial}", "trial_id": r.trial_id,
            "objective": f"{obj['metric']} ({obj['mode']})", "value": obj.get("value"), "reruns": obj.get("reruns"),
            "baseline": baseline.get("label") if isinstance(baseline, dict) else None,
            "verdict": ev.get("verdict") or ("first incumbent" if baseline is None else "not compared"),
            "gain": ev.get("gain"), "gain_low": ev.get("low"), "gain_high": ev.get("high"),
            "forced": bool(ev.get("forced")), "note": r.note, "command": r.command,
        })
    return pd.DataFrame(rows, columns=LAUNCH_COLUMNS)


def incumbent_yaml(launch_row: LaunchRecord) -> str:
    """The incumbent's configuration as the ``hyperparameters: fixed:`` block of a next experiment
    file, with where it came from in comments."""
    obj, ev = launch_row.objective, launch_row.evidence
    where = f"{launch_row.experiment}/{launch_row.study}/{launch_row.trial} (trial id {launch_row.trial_id})"
    head = [
        f"# incumbent: launch {launch_row.id} ({when(launch_row.created_at)}), {where}",
        f"# {obj['metric']} ({obj['mode']}): {obj.get('value')} over {obj.get('reruns') or 'no'} reruns",
    ]
    if ev.get("verdict"):
        head.append(f"# evidence: {ev['verdict']} against {ev['baseline']['label']}, gain {ev['gain']:.4g}"
                    + (f" [{ev['low']:.4g}, {ev['high']:.4g}]" if ev.get("low") is not None else "")
                    + (" (forced)" if ev.get("forced") else ""))
    if launch_row.note:
        head += [f"# note: {line}" for line in str(launch_row.note).splitlines()]
    head.append(f"# reproduce: {launch_row.command}")
    body = yaml.safe_dump({"hyperparameters": {"fixed": dict(launch_row.config)}}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True)
    return "\n".join(head) + "\n" + body
