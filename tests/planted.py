"""Planted data for the tests: workloads and results whose right answers are known by
construction. Test modules import from here (and from ``helpers``), never from each other.

- ``TRAINER``: a cheap pure-Python trainer whose behaviour a hyperparameter chooses (crash, die,
  NaN, quiet), and ``experiment_yaml`` around it;
- ``PROTO_TRAINER`` and ``PROTO_BASE``: a synthetic workload with known steps-to-fit, stability
  limit and warmup effect, for the training-protocol tools;
- curves of known shapes (``shape``): ``clean`` (decays and settles, best step mid-run),
  ``overfit`` (turns up after 40% of the run), ``noisy`` (clean plus large step-to-step noise),
  ``improving`` (still falling steeply at the end), ``saturated`` (best at its first evaluation,
  flat after); ``planted_frames`` gives the frames a store would give, ``plant_store`` writes them
  into a real store through the runner's own calls.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

from scitune.config import Experiment, parse_experiment
from scitune.search import QuasiRandomSearch
from scitune.store import Store

TRAINER = '''
"""A cheap trainer whose behaviour is chosen by the hyperparameter `behaviour`."""
import math, os, time

def _log(event, hp, trial):
    path = os.environ.get("SCITUNE_TEST_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{event} {trial.study} {trial.number} {os.getpid()}\\n")

def train(hp, trial):
    _log("start", hp, trial)
    behaviour = hp.get("behaviour", "ok")
    lr = hp["learning_rate"]
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp.get("step_seconds", 0.0))
        if behaviour == "crash" and step == 3:
            raise RuntimeError("boom at step 3")
        if behaviour == "die" and step == 2:
            os.kill(os.getpid(), 9)
        if trial.should_eval(step):
            loss = (math.log10(lr) + 2.0) ** 2 + 1.0 / step
            if behaviour == "nan" and step >= 4:
                loss = float("nan")
            if behaviour == "quiet":
                trial.report(step, train_loss=loss)
            else:
                trial.report(step, train_loss=loss, val_loss=loss + 0.1, val_error=loss / 10)
    _log("end", hp, trial)
'''


def expected_loss(lr: float, step: int) -> float:
    """What TRAINER reports as train_loss at ``step``."""
    return (math.log10(lr) + 2.0) ** 2 + 1.0 / step


def experiment_yaml(name: str = "tiny", *, trials: int = 3, steps: int = 8, eval_every: int = 2,
                    scientific: str = "{width: [8, 16]}", fixed: str = "{behaviour: ok}") -> str:
    return textwrap.dedent(
        f"""\
        experiment: {name}
        goal: Does width change the validation error of the toy trainer?
        train: toytrainer:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: {eval_every}}}
        search: {{algorithm: quasi_random, seed: 0}}
        hyperparameters:
          scientific: {scientific}
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
          fixed: {fixed}
        """
    )


# Pure Python, no torch. Its answers are known: the training set is fit after steps_to_fit(lr) steps
# (fewest, 40, at lr 0.01); training is stable up to lr 0.05, and each warmup step raises that limit
# by 0.05; above it the loss jumps 5x at step 10, or turns NaN for lr > 0.5. grad_norm cycles 1..10.
PROTO_TRAINER = '''
import math

def steps_to_fit(lr):
    return 40 * math.exp((math.log10(lr) + 2) ** 2)

def train(hp, trial):
    lr, warmup = hp["learning_rate"], hp.get("warmup_steps", 0)
    need, stable = steps_to_fit(lr), lr <= 0.05 * (1 + warmup)
    for step in range(1, trial.max_train_steps + 1):
        trial.report(step, grad_norm=float(step % 10 + 1))
        if trial.should_eval(step):
            loss = 1.0 / math.sqrt(step)
            if not stable and step >= 10:
                loss = float("nan") if lr > 0.5 else 5 * loss
            trial.report(step, train_loss=loss, train_error=max(0.0, 1 - step / need))
'''

PROTO_BASE = textwrap.dedent("""\
    experiment: proto
    goal: A synthetic workload with known answers.
    train: prototrainer:train
    objective: {metric: train_error, mode: min}
    budget: {trials_per_study: 4, max_train_steps: 200, eval_every: 5}
    hyperparameters:
      nuisance:
        learning_rate: {low: 1.0e-3, high: 1.0e-1, scale: log}
        weight_decay: {low: 1.0e-6, high: 1.0e-2, scale: log}
      fixed: {batch_size: 32}
    """)


SHAPES = ("clean", "overfit", "noisy", "improving", "saturated")


def planted_experiment(
    name: str = "planted",
    *,
    trials: int = 16,
    steps: int = 1000,
    eval_every: int = 50,
    scientific: str = "{width: [64, 256]}",
    nuisance: str = "{learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}, dropout: {low: 0.0, high: 0.5}}",
    mode: str = "min",
    metric: str = "val_error",
    report: str | None = None,
) -> tuple[Experiment, str]:
    text = textwrap.dedent(f"""\
        experiment: {name}
        goal: Does a wider layer lower the planted validation error?
        train: planted:train
        objective: {{metric: {metric}, mode: {mode}}}
        budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: {eval_every}}}
        hyperparameters:
          scientific: {scientific}
          nuisance: {nuisance}
          fixed: {{batch_size: 64}}
        """)
    if report:
        text += f"report: {report}\n"
    return parse_experiment(text), text


def shape(
    kind: str, steps: np.ndarray, total: int, *, start: float = 1.0, floor: float = 0.1, seed: int = 0
) -> np.ndarray:
    """A validation curve of a known shape, from ``start`` down toward ``floor``."""
    t = steps / total
    drop = start - floor
    rng = np.random.default_rng(seed)
    if kind == "clean":
        # Settles, then creeps back up by 1% of its range: the best step lies mid-run, well inside.
        return floor + drop * np.exp(-t / 0.12) + 0.01 * drop * np.clip(t - 0.5, 0, None)
    if kind == "overfit":
        return floor + drop * np.exp(-t / 0.1) + 0.6 * drop * np.clip(t - 0.4, 0, None)
    if kind == "noisy":
        return shape("clean", steps, total, start=start, floor=floor) + rng.normal(0, 0.1 * drop, len(t))
    if kind == "improving":
        return start - drop * t
    if kind == "saturated":
        # Flat from 2% of the run on, creeping up by 0.5% of its level: best at the first evaluation.
        return floor + drop * np.exp(-t / 0.004) + 0.005 * floor * t
    raise ValueError(kind)


class Outcome(NamedTuple):
    state: str  # completed or infeasible (or failed)
    curves: dict[str, np.ndarray]  # metric -> values at the evaluation steps
    reason: str | None = None


OutcomeFn = Callable[[str, int, dict[str, Any]], Outcome]


def lr_quality(params: dict[str, Any], optimum: float = 10**-2.5) -> float:
    """How far a trial's learning rate is from ``optimum``, in decades squared: 0 is best."""
    return (math.log10(params["learning_rate"]) - math.log10(optimum)) ** 2


def shaped_outcome(
    kind: str = "clean",
    optimum: float = 10**-2.5,
    steps: int = 1000,
    eval_every: int = 50,
    study_offset: Callable[[str], float] = lambda s: 0.0,
) -> OutcomeFn:
    """Every trial's curve has shape ``kind``; its floor grows with the learning rate's distance to
    ``optimum`` (plus a per-study offset), so the best trials sit near the optimum."""
    grid = np.arange(eval_every, steps + 1, eval_every)

    def outcome(study: str, number: int, params: dict[str, Any]) -> Outcome:
        floor = 0.05 + 0.04 * lr_quality(params, optimum) + study_offset(study)
        val = shape(kind, grid, steps, start=floor + 0.8, floor=floor, seed=number)
        train = shape("clean", grid, steps, start=floor + 1.5, floor=floor * 0.5, seed=number + 1000)
        return Outcome("completed", {"val_error": val, "val_loss": val * 3, "train_loss": train})

    return outcome


def best_of(values: np.ndarray, steps: np.ndarray, mode: str) -> tuple[int, float]:
    i = int(np.nanargmin(values) if mode == "min" else np.nanargmax(values))
    return int(steps[i]), float(values[i])


def points_for(experiment: Experiment, scientific: dict[str, Any]) -> list[dict[str, Any]]:
    context = {**experiment.fixed, **scientific}
    n = experiment.budget.trials_per_study
    return [{**context, **p} for p in QuasiRandomSearch(experiment.space, experiment.search.seed).points(0, n, context)]


def planted_frames(experiment: Experiment, outcome: OutcomeFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and metrics frames the store would give, without a store."""
    budget, mode, metric = experiment.budget, experiment.objective.mode, experiment.objective.metric
    grid = np.arange(budget.eval_every, budget.max_train_steps + 1, budget.eval_every)
    trials, points, next_id = [], [], 1
    for spec in experiment.studies():
        study, scientific = spec.name, spec.scientific
        for number, params in enumerate(points_for(experiment, scientific)):
            result = outcome(study, number, params)
            row = dict(
                study=study,
                trial=number,
                id=next_id,
                state=result.state,
                reason=result.reason,
                params=params,
                seed=number,
                best_step=None,
                best_value=None,
                kind="search",
            )
            if result.state == "completed":
                row["best_step"], row["best_value"] = best_of(result.curves[metric], grid, mode)
            trials.append(row)
            for name, values in result.curves.items():
                points += [(next_id, name, int(s), float(v)) for s, v in zip(grid[: len(values)], values)]
            next_id += 1
    return pd.DataFrame(trials), pd.DataFrame(points, columns=["trial_id", "name", "step", "value"])


def plant_store(
    store: Store, experiment: Experiment, text: str, outcome: OutcomeFn, retrain: dict[str, list[float]] | None = None
) -> None:
    """Write the experiment and its trials' planted results into a real store, through the same
    calls the runner makes. ``retrain``: per study, the objectives of reruns of its best trial."""
    budget, mode, metric = experiment.budget, experiment.objective.mode, experiment.objective.metric
    grid = np.arange(budget.eval_every, budget.max_train_steps + 1, budget.eval_every)
    eid = store.ensure_experiment(experiment.name, experiment.goal, experiment.canonical(), text, "planted.yaml")
    for spec in experiment.studies():
        sid = store.ensure_study(eid, spec.name, spec.scientific, {"algorithm": "quasi_random"})
        store.ensure_trials(sid, [(i, p, i) for i, p in enumerate(points_for(experiment, spec.scientific))])
    while (claimed := store.claim(eid, "planter", "host")) is not None:
        result = outcome(claimed.study, claimed.number, claimed.params)
        rows = [(int(s), name, float(v)) for name, values in result.curves.items() for s, v in zip(grid, values)]
        best = best_of(result.curves[metric], grid, mode) if result.state == "completed" else None
        store.finish(claimed.id, "planter", result.state, rows, best, result.reason)
    for study, values in (retrain or {}).items():
        trials = store.trials(experiment.name, study)
        done = trials[trials["state"] == "completed"]
        parent = done.loc[done["best_value"].idxmin() if mode == "min" else done["best_value"].idxmax()]
        sid = store.ensure_study(eid, f"retrain-{study}", {}, {}, kind="retrain", parent_trial_id=int(parent["id"]))
        store.ensure_trials(sid, [(i, parent["params"], 100 + i) for i in range(len(values))])
        for value in values:
            claimed = store.claim(eid, "planter", "host", study_ids=[sid])
            store.finish(claimed.id, "planter", "completed", [(int(grid[-1]), metric, value)], (int(grid[-1]), value))


# -- tests of the report's data access ---------------------------------------------------------


def make_planted_store(folder: Path) -> Path:
    """Two studies, 16 trials each; the optimum lies above the learning-rate range (a boundary
    warning) and the curves overfit; width=256 was retrained."""
    path = folder / "planted.db"
    experiment, text = planted_experiment(trials=16)
    offset = {"width=64": 0.1, "width=256": 0.0}
    store = Store(str(path))
    plant_store(
        store,
        experiment,
        text,
        shaped_outcome("overfit", optimum=1.0, study_offset=offset.get),
        retrain={"width=256": [0.116, 0.119, 0.117]},
    )
    store.close()
    return path


def plant_reruns(store: Store, experiment: Experiment, study: str, curves: list[np.ndarray]) -> int:
    """Reruns of ``study``'s best trial whose objective curves are ``curves`` (one per rerun, on the
    experiment's evaluation grid), written the way ``scitune retrain`` writes them. Returns the
    retrained trial's id."""
    budget, mode, metric = experiment.budget, experiment.objective.mode, experiment.objective.metric
    grid = np.arange(budget.eval_every, budget.max_train_steps + 1, budget.eval_every)
    record = store.experiment(experiment.name)
    trials = store.trials(experiment.name, study)
    done = trials[trials["state"] == "completed"]
    parent = done.loc[done["best_value"].idxmin() if mode == "min" else done["best_value"].idxmax()]
    name = f"{study}/{int(parent['trial'])}/retrain"
    sid = store.ensure_study(record.id, name, {}, {}, kind="retrain", parent_trial_id=int(parent["id"]))
    store.ensure_trials(sid, [(i, parent["params"], 1000 + i) for i in range(len(curves))])
    for values in curves:
        claimed = store.claim(record.id, "planter", "host", study_ids=[sid])
        rows = [(int(s), metric, float(v)) for s, v in zip(grid, values)]
        store.finish(claimed.id, "planter", "completed", rows, best_of(np.asarray(values), grid, mode))
    return int(parent["id"])


# -- the dashboard's hostile store ---------------------------------------------------------------

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def make_hostile_store(folder: Path) -> Path:
    """An experiment whose goal, a study name (a scientific value), infeasible trials' reasons and
    a note hold HTML and script (``HOSTILE``): every face must show them as text."""
    path = folder / "hostile.db"
    experiment, text = planted_experiment(name="hostile", trials=6, scientific=f"{{tag: ['{HOSTILE}', plain]}}")
    text = text.replace("goal: Does a wider layer lower the planted validation error?", f"goal: 'Goal {HOSTILE}'")
    experiment = parse_experiment(text)
    base = shaped_outcome("clean")

    def outcome(study: str, number: int, params: dict[str, Any]) -> Outcome:
        if number == 1:
            return Outcome("infeasible", {}, f"diverged {HOSTILE}")
        return base(study, number, params)

    store = Store(str(path))
    plant_store(store, experiment, text, outcome)
    store.add_note(store.experiment("hostile").id, f"note {HOSTILE}")
    store.close()
    return path
