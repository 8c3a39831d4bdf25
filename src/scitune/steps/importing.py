"""Bring results made elsewhere into the store: an Optuna study, or a CSV of runs from another tracker.

``scitune import optuna --storage URL --study NAME`` is :func:`import_optuna`; ``scitune import csv
FILE`` is :func:`import_csv`. Either way the result is an ordinary experiment in the store, so
``status``, ``trials``, ``report``, ``compare`` and the dashboard read it as they read a run's. In order:

1. read: the source's trials as plain records (hyperparameters, a state, metric points);
2. describe: an experiment file written for them (the space from the distributions, or from the
   values seen; ``--scientific`` parameters split the trials into one study per value), validated
   like any experiment file before anything is written;
3. record: the experiment, its studies and each finished trial with its points, through the same
   store calls a runner makes. Importing again adds only trials that are new since.

An imported experiment has no training code: its ``command`` exits with a message saying so, so a
``scitune run`` or ``retrain`` of it fails clearly rather than training something else.

How Optuna's trials map (docs/integrations.md):

- ``COMPLETE`` with a finite value: ``completed``; the intermediate values are the objective's
  curve, and the value is the objective at the trial's last step (its last intermediate step, or the
  study's last step when it reported none), so the best step is read retrospectively over the curve.
- ``COMPLETE`` with an infinite value, and any trial with a NaN or infinite intermediate value:
  ``infeasible`` (a diverged trial: playbook, "Designing the next round of experiments").
- other ``FAIL``: ``failed``. Optuna 4 and later record no reason for a failure, so a trial that
  returned NaN without reporting it along the way reads as failed (older Optunas' ``fail_reason``
  naming nan makes it infeasible).
- ``PRUNED``: ``failed`` by default (it was stopped before its budget, so its best value is not
  comparable with full runs'), its curve kept and its reason "pruned by Optuna at step N";
  ``pruned="completed"`` counts its curve instead.
- ``RUNNING`` and ``WAITING``: not imported (they are counted in the result's notes).
"""

from __future__ import annotations

import math
import re
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from scitune.analysis.ranking import best_point
from scitune.config import Experiment, parse_experiment
from scitune.config.experiment import NAME_PATTERN
from scitune.errors import NotFoundError, UsageError
from scitune.states import TrialState
from scitune.store import Store

Pruned = Literal["failed", "completed"]
# What an imported experiment runs if someone asks it to train: nothing, and it says why.
NO_TRAINING = ["python", "-c", "import sys; sys.exit('this experiment was imported: scitune has no training code for it')"]


@dataclass
class ImportedTrial:
    """One trial as read from the source, before it has a study or a number."""

    params: dict[str, Any]
    state: TrialState
    points: list[tuple[int, str, float]] = field(default_factory=list)  # (step, metric, value)
    reason: str | None = None
    seed: int = 0
    label: str = ""  # where it came from: "optuna trial 7", "row 12"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the experiment it made or extended, and its trials by state."""

    experiment: str
    studies: list[str]
    states: dict[str, int]  # of the trials written by this import
    already: int  # trials imported before (a second import adds only new ones)
    notes: tuple[str, ...] = ()
    config_text: str = ""


# -- the experiment file an import writes -----------------------------------------------------------


def _scalar(value: Any) -> Any:
    """A hyperparameter value as the store and the space hold it (None becomes "None")."""
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _sorted_values(values: Iterable[Any]) -> list[Any]:
    seen = list(dict.fromkeys(values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return sorted(seen)
    return seen


def _check_name(name: str, flag: str = "--as") -> str:
    if not re.match(NAME_PATTERN, name):
        raise UsageError(f"{name!r} is not a valid experiment name (letters, digits, _ . -)",
                         hint=f"name it with {flag} NAME")
    return name


def experiment_text(
    name: str,
    goal: str,
    metric: str,
    mode: str,
    nuisance: Mapping[str, Any],
    scientific: Mapping[str, list[Any]],
    fixed: Mapping[str, Any],
    trials_per_study: int,
    max_train_steps: int,
    eval_every: int,
    source: Mapping[str, Any],
) -> str:
    """The experiment file of an import, as YAML text (validated by the caller)."""
    doc = {
        "experiment": name,
        "goal": goal,
        "command": NO_TRAINING,
        "objective": {"metric": metric, "mode": mode},
        "budget": {"trials_per_study": max(1, trials_per_study), "max_train_steps": max(1, max_train_steps),
                   "eval_every": max(1, min(eval_every, max_train_steps))},
        "hyperparameters": {"scientific": dict(scientific), "nuisance": dict(nuisance), "fixed": dict(fixed)},
    }
    header = "".join(f"# imported: {k}: {v}\n" for k, v in source.items())
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=1000)


def _eval_every(step_lists: Iterable[Sequence[int]]) -> int:
    gaps = [b - a for steps in step_lists for a, b in zip(sorted(steps), sorted(steps)[1:]) if b > a]
    return min(gaps) if gaps else 1


def _record(
    store: Store,
    experiment: Experiment,
    text: str,
    trials: list[ImportedTrial],
    command: str | None,
    notes: list[str],
) -> ImportResult:
    """Write the experiment, its studies and its trials; trials imported before stay as they are."""
    specs = experiment.studies()
    by_study: dict[str, list[ImportedTrial]] = {s.name: [] for s in specs}
    for t in trials:
        spec = next(s for s in specs if all(t.params.get(k) == v for k, v in s.scientific.items()))
        by_study[spec.name].append(t)
    experiment_id = store.ensure_experiment(experiment.name, experiment.goal, experiment.canonical(), text, None, command,
                                            growable=("budget.trials_per_study",))
    owner, host = f"import:{uuid.uuid4().hex[:12]}", socket.gethostname()
    states = {str(s): 0 for s in TrialState}
    already = 0
    for spec in specs:
        mine = by_study[spec.name]
        study_id = store.ensure_study(experiment_id, spec.name, spec.scientific, {"algorithm": "imported"})
        stored = store.trials(experiment.name, spec.name)
        for row in stored.itertuples():
            if row.trial < len(mine) and dict(row.params) != mine[row.trial].params:
                raise UsageError(f"{experiment.name}/{spec.name}: trial {row.trial} in the store is not "
                                 f"{mine[row.trial].label} of this import: the source's trials changed order",
                                 hint="import it as a new experiment with --as NAME")
        store.ensure_trials(study_id, [(i, t.params, t.seed) for i, t in enumerate(mine)])
        claimed_numbers = set()
        while (claimed := store.claim(experiment_id, owner, host, [study_id])) is not None:
            t = mine[claimed.number]
            claimed_numbers.add(claimed.number)
            objective = [(s, v) for s, n, v in t.points if n == experiment.objective.metric]
            best = best_point([s for s, _ in objective], [v for _, v in objective], experiment.objective.mode)
            state = t.state
            if state == TrialState.COMPLETED and best is None:
                state, t.reason = TrialState.FAILED, f"{t.label}: no finite value of '{experiment.objective.metric}'"
            store.finish(claimed.id, owner, state, t.points, best, reason=t.reason)
            states[str(state)] += 1
        already += len(mine) - len(claimed_numbers)
    return ImportResult(experiment.name, [s.name for s in specs], states, already, tuple(notes), text)


def _describe_and_record(
    store: Store | str | None,
    trials: list[ImportedTrial],
    *,
    name: str,
    goal: str,
    metric: str,
    mode: str,
    nuisance: dict[str, Any],
    scientific: Sequence[str],
    max_train_steps: int,
    eval_every: int,
    source: Mapping[str, Any],
    command: str | None,
    notes: list[str],
    where: str,
) -> ImportResult:
    missing = [p for p in scientific if p not in nuisance]
    if missing:
        raise UsageError(f"{where}: --scientific {missing[0]}: no such parameter",
                         hint=f"its parameters are: {', '.join(sorted(nuisance)) or 'none'}")
    kept = []
    for t in trials:
        absent = [p for p in scientific if p not in t.params]
        if absent:
            notes.append(f"{t.label} skipped: it has no value of the scientific parameter '{absent[0]}'")
        else:
            kept.append(t)
    if not kept:
        raise UsageError(f"{where}: no finished trial to import")
    science = {}
    for p in scientific:  # in the order of its declared choices, else sorted
        seen = _sorted_values(t.params[p] for t in kept)
        declared = nuisance[p] if isinstance(nuisance[p], list) else []
        science[p] = [v for v in declared if v in seen] + [v for v in seen if v not in declared]
    space = {p: d for p, d in nuisance.items() if p not in science}
    fixed = {p: d.pop("fixed") for p, d in list(space.items()) if isinstance(d, dict) and "fixed" in d}
    for p in fixed:
        del space[p]
    counts: dict[tuple, int] = {}
    for t in kept:
        key = tuple(t.params[p] for p in scientific)
        counts[key] = counts.get(key, 0) + 1
    text = experiment_text(_check_name(name), goal, metric, mode, space, science, fixed, max(counts.values()),
                           max_train_steps, eval_every, source)
    experiment = parse_experiment(text, f"<import of {where}>")
    db = store if isinstance(store, Store) else Store(store)
    return _record(db, experiment, text, kept, command, notes)


# -- Optuna -----------------------------------------------------------------------------------------


def _distribution(dist: Any) -> dict[str, Any] | list[Any]:
    """An Optuna distribution as a nuisance parameter's form; a one-value range as ``{"fixed": v}``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        choices = [_scalar(c) for c in dist.choices]
        return {"fixed": choices[0]} if len(choices) == 1 else choices
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        if dist.low == dist.high:
            return {"fixed": dist.low}
        form: dict[str, Any] = {"low": dist.low, "high": dist.high, "scale": "log" if dist.log else "linear"}
        if isinstance(dist, IntDistribution):
            form["type"] = "int"
        return form
    raise UsageError(f"an Optuna distribution scitune cannot read: {type(dist).__name__}")


def _merge(param: str, forms: list[Any], notes: list[str]) -> Any:
    """One form for a parameter whose distribution changed between trials: the widest range."""
    first = forms[0]
    if all(f == first for f in forms):
        return first
    if all(isinstance(f, list) for f in forms):
        return list(dict.fromkeys(v for f in forms for v in f))
    ranges = [f for f in forms if isinstance(f, dict) and "low" in f]
    if len(ranges) == len(forms) and len({f.get("type") for f in ranges}) == 1:
        merged = {**first, "low": min(f["low"] for f in ranges), "high": max(f["high"] for f in ranges)}
        if any(f["scale"] != first["scale"] for f in ranges):
            merged["scale"] = "linear"
        notes.append(f"'{param}' had {len({str(f) for f in forms})} different distributions: imported as "
                     f"{merged['low']:g}..{merged['high']:g} ({merged['scale']})")
        return merged
    raise UsageError(f"parameter '{param}' has distributions of different kinds in different trials",
                     hint="import the trials of one search space at a time")


def _optuna_trial(frozen: Any, metric: str, pruned: Pruned, final_step: int) -> ImportedTrial | None:
    from optuna.trial import TrialState as OptunaState

    label = f"optuna trial {frozen.number}"
    params = {k: _scalar(v) for k, v in frozen.params.items()}
    curve = sorted((int(s), float(v)) for s, v in frozen.intermediate_values.items())
    points = [(s, metric, v) for s, v in curve]
    diverged = next(((s, v) for s, v in curve if not math.isfinite(v)), None)
    state, reason = TrialState.COMPLETED, None
    if frozen.state == OptunaState.COMPLETE:
        value = float(frozen.value)
        last = curve[-1][0] if curve else final_step
        points = [p for p in points if p[0] != last] + [(last, metric, value)]
        if not math.isfinite(value):
            state, reason = TrialState.INFEASIBLE, f"{metric} is {value} ({label})"
        elif diverged:
            state, reason = TrialState.INFEASIBLE, f"{metric} is {diverged[1]} at step {diverged[0]} ({label})"
    elif frozen.state == OptunaState.FAIL:
        why = str(frozen.system_attrs.get("fail_reason", "")).strip()
        if diverged or "nan" in why.lower().split():
            state = TrialState.INFEASIBLE
            reason = (f"{metric} is {diverged[1]} at step {diverged[0]} ({label})" if diverged
                      else f"{metric} is nan ({label} failed: {why})")
        else:
            state, reason = TrialState.FAILED, f"failed in Optuna ({label}): " + (why or "Optuna did not record why")
    elif frozen.state == OptunaState.PRUNED:
        step = curve[-1][0] if curve else None
        reason = f"pruned by Optuna at step {step}" if step is not None else "pruned by Optuna before reporting"
        if diverged:
            state, reason = TrialState.INFEASIBLE, f"{metric} is {diverged[1]} at step {diverged[0]}; {reason}"
        else:
            state = TrialState.COMPLETED if pruned == "completed" and curve else TrialState.FAILED
    else:
        return None  # RUNNING or WAITING: not finished
    return ImportedTrial(params, state, points, reason, seed=int(frozen.number), label=label)


def import_optuna(
    storage: str,
    study: str,
    store: Store | str | None = None,
    *,
    scientific: Sequence[str] = (),
    name: str | None = None,
    metric: str = "value",
    goal: str | None = None,
    pruned: Pruned = "failed",
    command: str | None = None,
) -> ImportResult:
    """Import Optuna study ``study`` from ``storage`` (an Optuna storage URL, e.g.
    ``sqlite:///optuna.db``) into ``store`` as experiment ``name`` (default: the study's name).

    ``scientific`` parameters split its trials into one study per value; the others become the
    nuisance space, from their distributions. The objective is named ``metric``, its mode from the
    study's direction. See the module's docstring for how trial states map."""
    try:
        import optuna
    except ImportError:
        raise UsageError("importing from Optuna needs optuna", hint="pip install 'scitune[optuna]'") from None
    if pruned not in ("failed", "completed"):
        raise UsageError(f"pruned must be 'failed' or 'completed', not {pruned!r}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    where = f"optuna study '{study}'"
    try:
        names = optuna.get_all_study_names(storage=storage)
    except Exception as err:  # noqa: BLE001 - any storage error is the user's URL
        raise UsageError(f"cannot open Optuna storage {storage!r}: {type(err).__name__}: {err}",
                         hint="give an Optuna storage URL, e.g. sqlite:///optuna.db") from None
    if study not in names:
        raise NotFoundError(f"{storage}: no Optuna study named '{study}'",
                            hint=f"its studies: {', '.join(names)}" if names else "the storage holds no study")
    loaded = optuna.load_study(study_name=study, storage=storage)
    if len(loaded.directions) != 1:
        raise UsageError(f"{where} has {len(loaded.directions)} objectives: scitune imports single-objective studies")
    mode = "min" if loaded.direction == optuna.study.StudyDirection.MINIMIZE else "max"
    frozen = sorted(loaded.get_trials(deepcopy=False), key=lambda t: t.number)
    steps = [int(s) for t in frozen for s in t.intermediate_values]
    final_step = max([1, *steps])
    notes: list[str] = []
    trials = [t for t in (_optuna_trial(f, metric, pruned, final_step) for f in frozen) if t is not None]
    if len(trials) < len(frozen):
        notes.append(f"{len(frozen) - len(trials)} unfinished trial(s) (running or waiting) not imported")
    forms: dict[str, list[Any]] = {}
    for f in frozen:
        for p, dist in f.distributions.items():
            forms.setdefault(p, []).append(_distribution(dist))
    nuisance = {p: _merge(p, fs, notes) for p, fs in forms.items()}
    partial = [p for p, fs in forms.items() if len(fs) < len(frozen)]
    if partial:
        notes.append(f"present in only some trials (conditional in Optuna): {', '.join(partial)}")
    return _describe_and_record(
        store, trials, name=name or study, goal=goal or f"Imported from Optuna study '{study}'", metric=metric,
        mode=mode, nuisance=nuisance, scientific=scientific, max_train_steps=final_step,
        eval_every=_eval_every([list(f.intermediate_values) for f in frozen]),
        source={"from": "optuna", "storage": storage, "study": study}, command=command, notes=notes, where=where,
    )


# -- CSV --------------------------------------------------------------------------------------------

PARAM_PREFIX, METRIC_PREFIX = "params.", "metrics."
RUN_COLUMNS = ("run", "run_id", "trial")
STATE_COLUMNS = ("state", "status")
_STATES = {
    "completed": TrialState.COMPLETED, "complete": TrialState.COMPLETED, "finished": TrialState.COMPLETED,
    "success": TrialState.COMPLETED, "ok": TrialState.COMPLETED,
    "failed": TrialState.FAILED, "fail": TrialState.FAILED, "killed": TrialState.FAILED, "crashed": TrialState.FAILED,
    "error": TrialState.FAILED, "pruned": TrialState.FAILED,
    "infeasible": TrialState.INFEASIBLE, "diverged": TrialState.INFEASIBLE,
}


def _space_from_values(name: str, values: list[Any], notes: list[str]) -> Any:
    """A nuisance form for a column of values: numbers a range (log when positive and spanning two
    decades or more; int when all whole), anything else the categories seen."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return {"fixed": distinct[0]}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct):
        low, high = min(distinct), max(distinct)
        form: dict[str, Any] = {"low": low, "high": high, "scale": "linear"}
        if low > 0 and high / low >= 100:
            form["scale"] = "log"
        if all(float(v).is_integer() for v in distinct):
            form.update(type="int", low=int(low), high=int(high))
        if len(distinct) <= 4 and not form.get("type"):
            notes.append(f"'{name}' took only {len(distinct)} values: imported as the range {low:g}..{high:g}")
        return form
    return [str(v) for v in distinct] if not all(isinstance(v, str) for v in distinct) else distinct


def _cell(raw: str) -> Any:
    """A CSV cell as a number when it reads as one (so 3 is an int, 0.01 a float), else the text."""
    text = raw.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def import_csv(
    path: str | Path,
    store: Store | str | None = None,
    *,
    objective: str,
    mode: str = "min",
    scientific: Sequence[str] = (),
    name: str | None = None,
    goal: str | None = None,
    command: str | None = None,
) -> ImportResult:
    """Import runs exported from another tracker (the CSV format of docs/integrations.md): columns
    ``params.NAME`` are hyperparameters, ``metrics.NAME`` metrics; an optional ``run`` (or
    ``run_id``) column names the run, an optional ``step`` column makes each row one step of a run,
    and an optional ``state`` (or ``status``) column says how the run ended. ``objective`` names the
    metric (without its prefix) that ranks runs."""
    import csv

    path = Path(path)
    where = str(path)
    if mode not in ("min", "max"):
        raise UsageError(f"--mode must be min or max, not {mode!r}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise UsageError(f"cannot read {where}: {err.strerror or err}") from None
    if not rows:
        raise UsageError(f"{where}: no rows (the first line must name the columns)")
    columns = list(rows[0])
    params = [c for c in columns if c.startswith(PARAM_PREFIX)]
    metrics = [c for c in columns if c.startswith(METRIC_PREFIX)]
    if METRIC_PREFIX + objective not in metrics:
        raise UsageError(f"{where}: no column '{METRIC_PREFIX}{objective}' for the objective",
                         hint=f"metric columns: {', '.join(metrics) or 'none'} (columns are params.NAME and metrics.NAME)")
    run_col = next((c for c in RUN_COLUMNS if c in columns), None)
    state_col = next((c for c in STATE_COLUMNS if c in columns), None)
    has_step = "step" in columns
    if has_step and run_col is None:
        raise UsageError(f"{where}: a 'step' column needs a 'run' column saying which run each row belongs to")
    runs: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, row in enumerate(rows, start=2):  # line 1 names the columns
        key = row[run_col].strip() if run_col else str(i)
        if not key:
            raise UsageError(f"{where}:{i}: '{run_col}' is empty")
        runs.setdefault(key, []).append((i, row))
    notes: list[str] = []
    trials: list[ImportedTrial] = []
    step_lists = []
    for key, lines in runs.items():
        line, first = lines[0]
        label = f"run {key}" if run_col else f"line {line}"
        values = {c[len(PARAM_PREFIX):]: _cell(first[c]) for c in params if (first[c] or "").strip() != ""}
        for other_line, other in lines[1:]:
            changed = [c for c in params if (other[c] or "").strip() != (first[c] or "").strip()]
            if changed:
                raise UsageError(f"{where}:{other_line}: run {key}: {changed[0]} differs from line {line}",
                                 hint="a run's hyperparameters must be the same on each of its rows")
        points = []
        for row_line, row in lines:
            if has_step:
                try:
                    step = int(row["step"])
                    if step < 0:
                        raise ValueError
                except ValueError:
                    raise UsageError(f"{where}:{row_line}: step {row['step']!r} is not a non-negative integer") from None
            else:
                step = 1
            for c in metrics:
                cell = (row[c] or "").strip()
                if cell == "":
                    continue
                try:
                    points.append((step, c[len(METRIC_PREFIX):], float(cell)))
                except ValueError:
                    raise UsageError(f"{where}:{row_line}: {c} {cell!r} is not a number") from None
        step_lists.append(sorted({p[0] for p in points}))
        raw_state = (first[state_col] or "").strip().lower() if state_col else "completed"
        state = _STATES.get(raw_state or "completed")
        if state is None:
            raise UsageError(f"{where}:{line}: {state_col} {first[state_col]!r} is not a state scitune knows",
                             hint="use completed, failed or infeasible (or FINISHED, FAILED, KILLED)")
        reason = None if state == TrialState.COMPLETED else f"{raw_state} in {path.name} ({label})"
        bad = next(((s, n, v) for s, n, v in points if not math.isfinite(v) and (n == objective or "loss" in n)), None)
        if bad and state == TrialState.COMPLETED:
            state, reason = TrialState.INFEASIBLE, f"{bad[1]} is {bad[2]} at step {bad[0]} ({label})"
        trials.append(ImportedTrial(values, state, points, reason, seed=len(trials), label=label))
    nuisance = {c[len(PARAM_PREFIX):]: _space_from_values(c[len(PARAM_PREFIX):],
                                                           [t.params[c[len(PARAM_PREFIX):]] for t in trials
                                                            if c[len(PARAM_PREFIX):] in t.params], notes)
                for c in params if any(c[len(PARAM_PREFIX):] in t.params for t in trials)}
    max_step = max([1, *(s for steps in step_lists for s in steps)])
    return _describe_and_record(
        store, trials, name=name or path.stem, goal=goal or f"Imported from {path.name}", metric=objective, mode=mode,
        nuisance=nuisance, scientific=scientific, max_train_steps=max_step, eval_every=_eval_every(step_lists),
        source={"from": "csv", "file": str(path.resolve())}, command=command, notes=notes, where=where,
    )
