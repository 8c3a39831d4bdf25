"""Experiment files derived from the user's own: the protocol's sweeps.

A learning-rate sweep (for the step budget, or for the learning rate where training turns
unstable) and a warmup sweep are written as experiment files derived from the user's: the same
training code, the swept hyperparameter as the *scientific* one (a grid, one study per value), no
nuisance hyperparameter, and everything else held fixed. The playbook steps run them through the
normal runner (:func:`scitune.steps.run.run_text`), so they get the store, resuming and the
progress bar, and their file is stored with them as a real, re-runnable experiment file. The
readings are pure functions elsewhere in this package (``step_budget``, ``warmup``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import yaml

from scitune.config import Experiment, parse_experiment
from scitune.errors import ConfigError, UsageError
from scitune.space import LEARNING_RATE_NAMES, resolve_conditions
from scitune.training.schedules import SCHEDULE_HPARAMS

# Held by every sweep: the playbook sweeps a *constant* learning rate.
CONSTANT_SCHEDULE = {"schedule": "constant", "warmup_steps": 0}


def learning_rate_name(experiment: Experiment) -> str:
    """The experiment's learning-rate hyperparameter, in any role (``learning_rate``, ``lr`` or a
    name ending in ``learning_rate``)."""
    hp = experiment.hyperparameters
    names = [*hp.nuisance, *hp.scientific, *hp.fixed]
    for name in names:
        if name in LEARNING_RATE_NAMES or name.endswith("learning_rate"):
            return name
    raise ConfigError(
        f"experiment '{experiment.name}' has no learning-rate hyperparameter (learning_rate, lr, *_learning_rate)",
        hint="name it with --lr-name",
    )


def learning_rate_range(experiment: Experiment, name: str) -> tuple[float, float] | None:
    """The (low, high) the experiment tunes ``name`` over, if it is a nuisance range."""
    spec = experiment.hyperparameters.nuisance.get(name)
    if spec is not None and spec.low is not None and spec.high is not None:
        return float(spec.low), float(spec.high)
    return None


def log_grid(low: float, high: float, points: int) -> list[float]:
    """``points`` values evenly spaced in log space from ``low`` to ``high``, each rounded to 3
    significant digits (they name studies)."""
    if not 0 < low < high:
        raise UsageError(f"a log grid needs 0 < low < high, got {low:g} and {high:g}")
    if points < 2:
        raise UsageError("a grid needs at least 2 points")
    return [float(f"{v:.3g}") for v in np.geomspace(low, high, points)]


def base_point(experiment: Experiment, overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """One configuration of the experiment to hold fixed in a sweep, and notes saying where each
    value not given in ``overrides`` came from: fixed values as they are, the first value of each
    scientific hyperparameter, and the middle of each nuisance range on its own scale (the middle
    value of a list)."""
    overrides = dict(overrides or {})
    notes: list[str] = []
    context = dict(experiment.fixed)
    for name, values in experiment.scientific.items():
        context[name] = values[0]
        if name not in overrides and len(values) > 1:
            notes.append(f"{name} = {_short(values[0])} (the first of its scientific values)")
    context.update({k: v for k, v in overrides.items() if k not in experiment.space.names})
    middle = {p.name: overrides.get(p.name, _round(p.from_unit(0.5))) for p in experiment.space.params}
    chosen = resolve_conditions(experiment.space.params, middle, context)
    for name, value in chosen.items():
        if name not in overrides:
            notes.append(f"{name} = {_short(value)} (the middle of its search range)")
    return {**context, **chosen}, notes


def _round(value: Any) -> Any:
    """Floats to 3 significant digits: a held value is a round number a user can read and repeat."""
    return float(f"{value:.3g}") if isinstance(value, float) else value


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def derived_yaml(
    base: Experiment,
    *,
    name: str,
    goal: str,
    objective: Mapping[str, Any],
    budget: Mapping[str, Any],
    scientific: Mapping[str, list[Any]],
    fixed: Mapping[str, Any],
    header: str,
) -> str:
    """The text of an experiment file that trains with ``base``'s code, checked by parsing it."""
    doc: dict[str, Any] = {"experiment": name, "goal": goal}
    if base.train is not None:
        doc["train"] = base.train
    else:
        doc["command"] = list(base.command or [])
    doc["objective"] = dict(objective)
    doc["budget"] = {**budget, **({"trial_timeout": base.budget.trial_timeout} if base.budget.trial_timeout else {})}
    doc["search"] = {"algorithm": "quasi_random", "seed": base.search.seed}
    doc["hyperparameters"] = {
        "scientific": {k: list(v) for k, v in scientific.items()},
        "fixed": {k: _plain(v) for k, v in fixed.items() if k not in scientific},
    }
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    text = comment + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
    parse_experiment(text, f"<{name}>")  # a derived file that does not validate is our bug, not the user's
    return text


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers, so the YAML stays plain."""
    return value.item() if isinstance(value, np.generic) else value


def grid_from(values: list[float] | None, fallback: tuple[float, float] | None, points: int) -> list[float]:
    """An explicit grid, or a log grid over ``fallback``; refuses when neither is known."""
    if values:
        return sorted({float(f"{v:.3g}") for v in values})
    if fallback is None:
        raise UsageError("the learning rate is not a nuisance range here: give the grid (--lr-min/--lr-max or --grid)")
    return log_grid(fallback[0], fallback[1], points)


def decades(low: float, high: float, per_decade: int = 2) -> int:
    """Grid points for ``per_decade`` values per decade between ``low`` and ``high``, ends included."""
    return max(2, round(math.log10(high / low) * per_decade) + 1)


def learning_rate_grid(
    base: Experiment,
    name: str,
    *,
    grid: list[float] | None = None,
    low: float | None = None,
    high: float | None = None,
    points: int | None = None,
    stretch: float = 1.0,
) -> list[float]:
    """The learning rates a sweep trains: ``grid`` when given, else a log grid from ``low`` to
    ``high`` (``points`` of them, default two per decade). A bound not given comes from the
    experiment's own range of ``name``, its high end raised by ``stretch`` (the stability sweep
    looks above the range the search used)."""
    known = learning_rate_range(base, name)
    if low is not None or high is not None:
        if known is None and (low is None or high is None):
            raise UsageError("give both --lr-min and --lr-max: the file has no learning-rate range to fill in")
        known = (low if low is not None else known[0],  # type: ignore[index]
                 high if high is not None else known[1] * stretch)  # type: ignore[index]
    elif known is not None:
        known = (known[0], known[1] * stretch)
    if known and not 0 < known[0] < known[1]:
        raise UsageError(f"--lr-min ({known[0]:g}) must be above 0 and below --lr-max ({known[1]:g})")
    return grid_from(grid, known, points or (decades(*known) if known else 2))


# -- the protocol's sweeps --------------------------------------------------------------------------


def _held_constant(base: Experiment, overrides: Mapping[str, Any] | None, drop: list[str]) -> tuple[dict, list[str]]:
    """The base configuration with a constant learning-rate schedule, without the names in ``drop``."""
    point, notes = base_point(base, overrides)
    for name in [*drop, *SCHEDULE_HPARAMS]:
        point.pop(name, None)
    notes = [n for n in notes if n.split(" = ")[0] not in (*drop, *SCHEDULE_HPARAMS)]
    return {**point, **CONSTANT_SCHEDULE}, notes


def steps_sweep(
    base: Experiment,
    *,
    grid: list[float],
    trial_steps: int,
    eval_every: int,
    metric: str,
    target: float,
    mode: str = "min",
    seeds: int = 1,
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "the experiment file",
    lr_name: str | None = None,
) -> tuple[str, list[str]]:
    """The experiment file of the playbook's sweep for an initial ``max_train_steps`` (playbook:
    "Deciding how long to train when training is *not* compute-bound"): a constant learning rate over ``grid``, one study per rate, ``seeds`` trials each,
    every trial ``trial_steps`` steps; and notes on the values held fixed."""
    lr = lr_name or learning_rate_name(base)
    fixed, notes = _held_constant(base, overrides, [lr])
    op = "<=" if mode == "min" else ">="
    text = derived_yaml(
        base,
        name=name or f"{base.name}-steps",
        goal=f"How many steps does the fastest constant learning rate need to reach {metric} {op} {target:g}? "
        "(the initial max_train_steps, playbook section D)",
        objective={"metric": metric, "mode": mode},
        budget={"trials_per_study": seeds, "max_train_steps": trial_steps, "eval_every": eval_every},
        scientific={lr: grid},
        fixed=fixed,
        header=f"Generated by `scitune steps sweep` from {source}: a constant learning rate, one study per\n"
        "value of the grid, everything else held fixed. Run again with: scitune run THIS_FILE",
    )
    return text, notes


def stability_sweep(
    base: Experiment,
    *,
    grid: list[float],
    trial_steps: int,
    eval_every: int,
    loss: str = "train_loss",
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "the experiment file",
    lr_name: str | None = None,
) -> tuple[str, list[str]]:
    """Step 1 of the warmup protocol: a constant learning rate over ``grid`` without warmup, to
    find where training becomes unstable."""
    lr = lr_name or learning_rate_name(base)
    fixed, notes = _held_constant(base, overrides, [lr])
    text = derived_yaml(
        base,
        name=name or f"{base.name}-lr-stability",
        goal="At which constant learning rate, without warmup, does training become unstable? "
        "(unstable_base_learning_rate, playbook FAQ on warmup)",
        objective={"metric": loss, "mode": "min"},
        budget={"trials_per_study": 1, "max_train_steps": trial_steps, "eval_every": eval_every},
        scientific={lr: grid},
        fixed=fixed,
        header=f"Generated by `scitune warmup` (step 1) from {source}. Run again with: scitune run THIS_FILE",
    )
    return text, notes


def warmup_sweep(
    base: Experiment,
    *,
    learning_rate: float,
    warmups: list[int],
    trial_steps: int,
    eval_every: int,
    loss: str = "train_loss",
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "the experiment file",
    lr_name: str | None = None,
) -> tuple[str, list[str]]:
    """Step 2 of the warmup protocol: at ``learning_rate``, one study per warmup length (linear
    warmup from 0, then constant)."""
    lr = lr_name or learning_rate_name(base)
    fixed, notes = _held_constant(base, overrides, [lr])
    fixed.pop("warmup_steps")
    text = derived_yaml(
        base,
        name=name or f"{base.name}-warmup",
        goal=f"Which is the shortest warmup that trains stably at learning rate {learning_rate:.3g}? "
        "(playbook FAQ on warmup)",
        objective={"metric": loss, "mode": "min"},
        budget={"trials_per_study": 1, "max_train_steps": trial_steps, "eval_every": eval_every},
        scientific={"warmup_steps": warmups},
        fixed={lr: float(f"{learning_rate:.3g}"), **fixed},
        header=f"Generated by `scitune warmup` (step 2) from {source}. Run again with: scitune run THIS_FILE",
    )
    return text, notes
