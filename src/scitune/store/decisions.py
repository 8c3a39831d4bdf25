"""Decisions: which trial a user means, the evidence that one configuration beats another, launches
of a new incumbent, notes, and the experiment log (the playbook's tracking spreadsheet).

Launches and notes are two tables on the store's own ``metadata``, so every store has them (an
existing store gains them when opened) and they travel with the store file: nothing here depends on
the folder a command runs in.

A trial is named, wherever a command takes one, by

- ``STUDY/NUMBER`` (``width=64/3``): trial 3 of study ``width=64``, as ``scitune trials`` lists it;
- ``STUDY`` (``width=64``): that study's best completed trial; ``best``: the best of all studies;
- ``ID`` (digits): the trial's global id (the ``id`` column of ``scitune trials``).

``compare`` and ``launch --against`` take one more level, the experiment: ``EXPERIMENT/STUDY/NUMBER``,
``EXPERIMENT/STUDY``, ``EXPERIMENT`` (its best trial), an ``ID``, or ``@incumbent``.
"""

from __future__ import annotations

import datetime as dt
import shlex
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, String, Table, Text, insert, select

from scitune.analysis.compare import ADOPT, DEFAULT_ALPHA, NOT_ENOUGH, Comparison, compare_samples, describe_comparison
from scitune.analysis.ranking import ranked
from scitune.analysis.summary import STATES, best_per_study, study_summary
from scitune.analysis.variance import TrialVariance, trial_variance, trial_variances
from scitune.errors import NotFoundError, ScituneError
from scitune.store.retry import retrying
from scitune.store.schema import experiments, metadata, studies, trials
from scitune.store.store import Store

DEFAULT_SEEDS = 5  # reruns suggested when a side has none and no estimate says how many
INCUMBENT = "@incumbent"

launches = Table(
    "launches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("trial_id", Integer, ForeignKey("trials.id"), nullable=False),
    Column("study", String(500), nullable=False),
    Column("trial", Integer, nullable=False),  # the trial's number in its study
    Column("config", JSON, nullable=False),  # every hyperparameter the incumbent trains with
    Column("objective", JSON, nullable=False),  # {metric, mode, value: mean over reruns or its own value}
    Column("evidence", JSON, nullable=False),  # the comparison it won, with its numbers
    Column("note", Text, nullable=False),
    Column("command", Text),  # reproduces the incumbent's training run
    Column("created_at", Float, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("study_id", Integer, ForeignKey("studies.id"), nullable=True),  # None: the whole experiment
    Column("text", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)


class NotAdopted(ScituneError):
    """A launch whose candidate did not beat the incumbent beyond the noise. Exit code 1: the
    command worked, the evidence said no."""

    exit_code = 1


@dataclass(frozen=True)
class TrialRef:
    """A search trial a user named, resolved."""

    id: int
    experiment: str
    study: str
    number: int
    state: str
    params: dict[str, Any]
    seed: int
    best_value: float | None
    best_step: int | None

    @property
    def name(self) -> str:
        """``STUDY/NUMBER``: the trial within its experiment."""
        return f"{self.study}/{self.number}"

    @property
    def label(self) -> str:
        """``EXPERIMENT/STUDY/NUMBER``: the trial anywhere in the store."""
        return f"{self.experiment}/{self.name}"


def when(timestamp: float) -> str:
    """A stored time as local ISO 8601 with its UTC offset, to the second."""
    return dt.datetime.fromtimestamp(timestamp).astimezone().isoformat(sep=" ", timespec="seconds")


def settle(store: Store) -> None:
    """Copy what was just written from SQLite's write-ahead log into the store file itself, so that a
    copy of the file alone carries it even while another process (a runner) keeps the store open."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


@retrying
def _insert(store: Store, table: Table, row: dict[str, Any]) -> int:
    """Write one decision record and settle it into the store file; returns its id."""
    with store._write() as conn:
        new_id = int(conn.execute(insert(table).values(**row)).inserted_primary_key[0])
    settle(store)
    return new_id


def _objective(record: dict[str, Any]) -> tuple[str, str]:
    objective = record["definition"]["objective"]
    return objective["metric"], objective.get("mode", "min")


def _ref(experiment: str, row: Any) -> TrialRef:
    value = row["best_value"]
    step = row["best_step"]
    return TrialRef(int(row["id"]), experiment, str(row["study"]), int(row["trial"]), str(row["state"]),
                    dict(row["params"]), int(row["seed"]), None if pd.isna(value) else float(value),
                    None if pd.isna(step) else int(step))


# -- naming trials -----------------------------------------------------------------------------------


@retrying
def _locate(store: Store, trial_id: int) -> dict[str, Any]:
    """Which experiment and study hold trial ``trial_id``, and of which kind the study is."""
    with store._read() as conn:
        row = conn.execute(
            select(experiments.c.name.label("experiment"), studies.c.name.label("study"), studies.c.kind,
                   studies.c.parent_trial_id, trials.c.number)
            .join(studies, studies.c.id == trials.c.study_id)
            .join(experiments, experiments.c.id == studies.c.experiment_id)
            .where(trials.c.id == trial_id)
        ).mappings().first()
    if row is None:
        raise NotFoundError(f"no trial with id {trial_id} in {store.url}", hint="ids are in the id column of scitune trials")
    return dict(row)


def resolve_trial(store: Store, experiment: str, ref: str) -> TrialRef:
    """The search trial that ``ref`` names within ``experiment`` (see the module's docstring)."""
    ref = ref.strip()
    record = store.experiment(experiment)
    table = store.trials(experiment)
    hint = ("name a trial as STUDY/NUMBER (e.g. width=64/3), a study for its best trial, best, or a trial id "
            f"from: scitune trials {experiment}")
    if ref.isdigit():
        where = _locate(store, int(ref))
        if where["experiment"] != experiment:
            raise NotFoundError(f"trial {ref} belongs to experiment '{where['experiment']}', not '{experiment}'")
        if where["kind"] != "search":
            parent = _locate(store, int(where["parent_trial_id"]))
            raise NotFoundError(f"trial {ref} is a rerun of {parent['study']}/{parent['number']}, not a search trial",
                                hint=f"name the retrained trial: {parent['study']}/{parent['number']}")
        return _ref(experiment, table[table["id"] == int(ref)].iloc[0])
    names = [s["name"] for s in store.studies(record["id"])]
    if ref == "best" or ref in names:
        done = ranked(table if ref == "best" else table[table["study"] == ref], _objective(record)[1])
        if done.empty:
            where = "any study" if ref == "best" else f"study '{ref}'"
            raise NotFoundError(f"{experiment}: {where} has no completed trial yet")
        return _ref(experiment, done.iloc[0])
    study, _, number = ref.rpartition("/")
    if not study or not number.isdigit():
        raise NotFoundError(f"{experiment}: no trial or study '{ref}'", hint=hint)
    if study not in names:
        raise NotFoundError(f"experiment '{experiment}' has no study '{study}'", hint=f"its studies: {', '.join(names)}")
    match = table[(table["study"] == study) & (table["trial"] == int(number))]
    if match.empty:
        raise NotFoundError(f"study '{study}' of '{experiment}' has no trial {number}", hint=hint)
    return _ref(experiment, match.iloc[0])


def resolve_side(store: Store, ref: str) -> TrialRef:
    """A trial named anywhere in the store: ``EXPERIMENT[/STUDY[/NUMBER]]``, an id, or ``@incumbent``."""
    ref = ref.strip()
    if ref == INCUMBENT:
        current = incumbent(store)
        if current is None:
            raise NotFoundError("there is no incumbent yet", hint="adopt one with: scitune launch EXPERIMENT --trial ...")
        ref = str(current["trial_id"])
    if ref.isdigit():
        return resolve_trial(store, _locate(store, int(ref))["experiment"], ref)
    experiment, _, rest = ref.partition("/")
    return resolve_trial(store, experiment, rest or "best")


# -- retrain variance and comparisons ----------------------------------------------------------------


def retrain_variances(store: Store, experiment: str) -> dict[int, TrialVariance]:
    """Every retrained trial's variance in ``experiment``, keyed by the retrained trial's id."""
    return trial_variances(store.trials(experiment), store.trials(experiment, kind="retrain"))


def variance_of(store: Store, trial: TrialRef) -> TrialVariance:
    """The trial's reruns (none yet: an empty sample with the original value alone)."""
    reruns = store.trials(trial.experiment, kind="retrain")
    found = trial_variances(None, reruns[reruns["parent_trial_id"] == trial.id])
    if trial.id in found:
        v = found[trial.id]
        return trial_variance(v.values, trial_id=trial.id, original=trial.best_value, unstable=v.unstable,
                              unfinished=v.unfinished, study=trial.study, trial=trial.number)
    return trial_variance([], trial_id=trial.id, original=trial.best_value, study=trial.study, trial=trial.number)


def retrain_command(trial: TrialRef, seeds: int) -> str:
    return f"scitune retrain {shlex.quote(trial.experiment)} --trial {shlex.quote(trial.name)} --seeds {seeds}"


@dataclass(frozen=True)
class Evidence:
    """A comparison of two trials' reruns, with the trials it is about."""

    baseline: TrialRef
    candidate: TrialRef
    metric: str
    comparison: Comparison

    def suggestions(self) -> list[str]:
        """Retrain commands that would let a later comparison account for the noise, or settle it."""
        c = self.comparison
        if c.verdict == NOT_ENOUGH and c.low is not None and c.reruns_needed is None:
            return []  # the gain is too small next to the noise to be worth more reruns
        target = c.reruns_needed or DEFAULT_SEEDS
        return [retrain_command(trial, target) for trial, side in ((self.baseline, c.baseline),
                                                                   (self.candidate, c.candidate))
                if side.n < 2 or (c.verdict == NOT_ENOUGH and side.n < target)]

    def lines(self) -> list[str]:
        return describe_comparison(self.comparison, self.metric) + [f"run: {cmd}" for cmd in self.suggestions()]

    def as_record(self) -> dict[str, Any]:
        return {**self.comparison.as_record(), "metric": self.metric, "baseline_id": self.baseline.id,
                "candidate_id": self.candidate.id, "summary": self.lines()}


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
               reruns_needed=c.reruns_needed)
    return pd.DataFrame([row])


def _sample(store: Store, trial: TrialRef) -> list[float]:
    """A side's values: its completed reruns, or its own objective when it has none."""
    reruns = variance_of(store, trial).values
    if reruns:
        return list(reruns)
    if trial.best_value is None:
        raise ScituneError(f"{trial.label} ended {trial.state} and has no completed rerun: nothing to compare")
    return [trial.best_value]


def compare_trials(store: Store, baseline: TrialRef, candidate: TrialRef, alpha: float = DEFAULT_ALPHA) -> Evidence:
    """Does ``candidate`` beat ``baseline`` beyond the retrain noise? Both must rank trials by the
    same objective."""
    a_metric, a_mode = _objective(store.experiment(baseline.experiment))
    b_metric, b_mode = _objective(store.experiment(candidate.experiment))
    if (a_metric, a_mode) != (b_metric, b_mode):
        raise ScituneError(f"{baseline.label} is ranked by {a_metric} ({a_mode}) and {candidate.label} by {b_metric} "
                           f"({b_mode}): they cannot be compared")
    comparison = compare_samples(_sample(store, baseline), _sample(store, candidate), a_mode, alpha=alpha,
                                 labels=(baseline.label, candidate.label))
    return Evidence(baseline, candidate, a_metric, comparison)


# -- launches -----------------------------------------------------------------------------------------


def reproduce_command(record: dict[str, Any], trial: TrialRef | None = None) -> str:
    """The command that trains the experiment again (its stored path is absolute), naming the trial."""
    base = f"scitune run {shlex.quote(record['config_path'])}" if record.get("config_path") else record.get("command") or ""
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
) -> dict[str, Any]:
    """Record ``trial`` of ``experiment`` as the new incumbent, with its evidence: the comparison with
    ``against`` (default: the current incumbent) that it must win (``adopt``) unless ``force``.
    The first launch needs no comparison. Returns the launch as stored."""
    candidate = resolve_trial(store, experiment, trial)
    if candidate.best_value is None:
        raise ScituneError(f"{candidate.label} ended {candidate.state}: only a completed trial can be launched")
    current = incumbent(store)
    baseline = resolve_side(store, against) if against else (
        resolve_side(store, str(current["trial_id"])) if current else None)
    variance = variance_of(store, candidate)
    evidence: dict[str, Any] = {"baseline": None, "forced": False,
                                "candidate": {"label": candidate.label, "values": list(variance.values),
                                              "mean": variance.mean, "std": variance.std, "original": candidate.best_value}}
    if baseline is not None:
        if baseline.id == candidate.id:
            raise ScituneError(f"{candidate.label} is already {'the incumbent' if not against else 'the baseline'}")
        try:
            result = compare_trials(store, baseline, candidate, alpha)
        except ScituneError as err:
            if not force:
                raise
            evidence.update(baseline={"label": baseline.label}, forced=True, not_compared=err.message)
        else:
            c = result.comparison
            if c.verdict != ADOPT and not force:
                interval = f", {round(100 * c.confidence)}% interval [{c.low:.4g}, {c.high:.4g}]" if c.low is not None else ""
                steps = "; ".join(result.suggestions()) or f"scitune compare {baseline.label} {candidate.label}"
                raise NotAdopted(
                    f"{candidate.label} does not beat {baseline.label} beyond the noise: {c.verdict} "
                    f"(gain {c.gain:.4g} {result.metric}{interval})",
                    hint=f"{steps}; or launch with --force to record it anyway",
                )
            evidence = {**result.as_record(), "forced": result.comparison.verdict != ADOPT}
    record = store.experiment(experiment)
    metric, mode = _objective(record)
    value = variance.mean if variance.n else candidate.best_value
    row: dict[str, Any] = {
        "experiment_id": record["id"], "trial_id": candidate.id, "study": candidate.study, "trial": candidate.number,
        "config": candidate.params, "objective": {"metric": metric, "mode": mode, "value": value, "reruns": variance.n},
        "evidence": evidence, "note": note, "command": reproduce_command(record, candidate), "created_at": time.time(),
    }
    row["id"] = _insert(store, launches, row)
    return {**row, "experiment": experiment}


@retrying
def _launch_rows(store: Store) -> list[dict[str, Any]]:
    with store._read() as conn:
        rows = conn.execute(
            select(launches, experiments.c.name.label("experiment"))
            .join(experiments, experiments.c.id == launches.c.experiment_id)
            .order_by(launches.c.id)
        ).mappings().all()
    return [dict(r) for r in rows]


def incumbent(store: Store) -> dict[str, Any] | None:
    """The latest launch (the current incumbent), or None before the first."""
    rows = _launch_rows(store)
    return rows[-1] if rows else None


LAUNCH_COLUMNS = ["launch", "time", "experiment", "trial", "trial_id", "objective", "value", "reruns", "baseline",
                  "verdict", "gain", "gain_low", "gain_high", "forced", "note", "command"]


def launch_history(store: Store) -> pd.DataFrame:
    """Every launch, oldest first: what became the incumbent, when, on what evidence, and why."""
    rows = []
    for r in _launch_rows(store):
        ev, obj = r["evidence"], r["objective"]
        baseline = ev.get("baseline")
        rows.append({
            "launch": r["id"], "time": when(r["created_at"]), "experiment": r["experiment"],
            "trial": f"{r['study']}/{r['trial']}", "trial_id": r["trial_id"],
            "objective": f"{obj['metric']} ({obj['mode']})", "value": obj.get("value"), "reruns": obj.get("reruns"),
            "baseline": baseline.get("label") if isinstance(baseline, dict) else None,
            "verdict": ev.get("verdict") or ("first incumbent" if baseline is None else "not compared"),
            "gain": ev.get("gain"), "gain_low": ev.get("low"), "gain_high": ev.get("high"),
            "forced": bool(ev.get("forced")), "note": r["note"], "command": r["command"],
        })
    return pd.DataFrame(rows, columns=LAUNCH_COLUMNS)


def incumbent_yaml(launch_row: dict[str, Any]) -> str:
    """The incumbent's configuration as the ``hyperparameters: fixed:`` block of a next experiment
    file, with where it came from in comments."""
    obj, ev = launch_row["objective"], launch_row["evidence"]
    where = f"{launch_row['experiment']}/{launch_row['study']}/{launch_row['trial']} (trial id {launch_row['trial_id']})"
    head = [
        f"# incumbent: launch {launch_row['id']} ({when(launch_row['created_at'])}), {where}",
        f"# {obj['metric']} ({obj['mode']}): {obj.get('value')} over {obj.get('reruns') or 'no'} reruns",
    ]
    if ev.get("verdict"):
        head.append(f"# evidence: {ev['verdict']} against {ev['baseline']['label']}, gain {ev['gain']:.4g}"
                    + (f" [{ev['low']:.4g}, {ev['high']:.4g}]" if ev.get("low") is not None else "")
                    + (" (forced)" if ev.get("forced") else ""))
    if launch_row["note"]:
        head += [f"# note: {line}" for line in str(launch_row["note"]).splitlines()]
    head.append(f"# reproduce: {launch_row['command']}")
    body = yaml.safe_dump({"hyperparameters": {"fixed": dict(launch_row["config"])}}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True)
    return "\n".join(head) + "\n" + body


# -- notes and the experiment log --------------------------------------------------------------------


def add_note(store: Store, experiment: str, text: str, study: str | None = None) -> int:
    """Attach a note to an experiment (or one of its studies); returns its id."""
    if not text.strip():
        raise ScituneError("a note needs some text")
    record = store.experiment(experiment)
    study_id = None
    if study is not None:
        found = {s["name"]: s["id"] for s in store.studies(record["id"])}
        if study not in found:
            raise NotFoundError(f"experiment '{experiment}' has no study '{study}'", hint=f"its studies: {', '.join(found)}")
        study_id = found[study]
    return _insert(store, notes, {"experiment_id": record["id"], "study_id": study_id, "text": text.strip(),
                                  "created_at": time.time()})


@retrying
def experiment_notes(store: Store, experiment_id: int) -> list[dict[str, Any]]:
    """An experiment's notes, oldest first: id, study_id (None for the whole experiment), text, created_at."""
    with store._read() as conn:
        rows = conn.execute(select(notes).where(notes.c.experiment_id == experiment_id).order_by(notes.c.id))
        return [dict(r) for r in rows.mappings()]


LOG_COLUMNS = ["experiment", "study", "goal", "objective", "config_path", "config_text", "trials", *STATES,
               "best_objective", "best_trial", "best_trial_id", "best_step", "checkpoint", "retrained", "launched",
               "reproduce", "notes", "created_at"]


def experiment_log(store: Store, experiment: str | None = None) -> pd.DataFrame:
    """The tracking spreadsheet: one row per search study of every experiment (or of one).

    Per study: its experiment and goal, where its config is (the stored text and the path it was
    read from), trials by state, the best objective with its trial, step and checkpoint, retrained
    trials' mean ± sd, launches made from it, the command that reproduces it and the notes."""
    records = [store.experiment(experiment)] if experiment else store.experiments()
    launched = _launch_rows(store)
    rows = []
    for record in records:
        name, (metric, mode) = record["name"], _objective(record)
        table = store.trials(name)
        study_rows = store.studies(record["id"])
        names = [s["name"] for s in study_rows]
        summary = study_summary(table, mode, names).set_index("study")
        best = best_per_study(table, store.checkpoints(table["id"].tolist()), mode).set_index("study")
        variances = trial_variances(table, store.trials(name, kind="retrain"))
        written = experiment_notes(store, record["id"])
        for study in study_rows:
            s = summary.loc[study["name"]]
            b = best.loc[study["name"]] if study["name"] in best.index else None
            mine = [n for n in written if n["study_id"] in (None, study["id"])]
            retrained = [v for v in variances.values() if v.study == study["name"]]
            rows.append({
                "experiment": name, "study": study["name"], "goal": record["goal"], "objective": f"{metric} ({mode})",
                "config_path": record["config_path"], "config_text": record["config_text"],
                "trials": int(s["trials"]), **{state: int(s[state]) for state in STATES},
                "best_objective": None if b is None else float(b["best_objective"]),
                "best_trial": None if b is None else int(b["trial"]),
                "best_trial_id": None if b is None else _best_id(table, study["name"], int(b["trial"])),
                "best_step": None if b is None else int(b["best_step"]),
                "checkpoint": None if b is None else b["checkpoint"],
                "retrained": "; ".join(_variance_words(v) for v in retrained) or None,
                "launched": "; ".join(f"launch {r['id']}: trial {r['trial']} ({when(r['created_at'])})"
                                      for r in launched if r["experiment_id"] == record["id"]
                                      and r["study"] == study["name"]) or None,
                "reproduce": reproduce_command(record),
                "notes": " | ".join(f"{when(n['created_at'])[:10]} {n['text']}" for n in mine) or None,
                "created_at": when(study["created_at"]),
            })
    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    for column in ("best_trial", "best_trial_id", "best_step"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


def _best_id(table: pd.DataFrame, study: str, number: int) -> int:
    return int(table[(table["study"] == study) & (table["trial"] == number)]["id"].iloc[0])


def _variance_words(v: TrialVariance) -> str:
    spread = f" ± {v.std:.4g}" if v.std is not None else ""
    mean = f"{v.mean:.4g}{spread} (n={v.n})" if v.mean is not None else "no completed rerun"
    return f"trial {v.trial}: {mean}" + (f", {v.unstable} unstable" if v.unstable else "")

