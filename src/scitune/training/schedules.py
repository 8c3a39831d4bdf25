"""Learning-rate schedules as plain functions of the step.

A schedule is any ``Callable[[int], float]``: the number of optimizer updates done so far (``count``,
0 for the first update) in, a learning rate out. With ``init_value=1.0`` the same functions give a
multiplier of a base learning rate, which is what :func:`scitune.training.pytorch.lr_scheduler`
hands to PyTorch. Every piece has this one shape, so they compose like optax's schedules:
:func:`join` runs schedules one after another and :func:`warmup` prepends a linear ramp to any of
them, extending the total by the ramp's length.

Playbook (FAQs "What is the best learning rate decay schedule family?" and "Which learning rate decay
should I use as a default?", the FAQ on warmup; "Deciding how long to train when training is
compute-bound"): a tuned
non-constant schedule matters more than its family; linear or cosine decay are the defaults to
reach for; warmup is prepended to the existing schedule and the step budget is extended by it.

The same schedules, named by hyperparameters, can be tuned like any other nuisance hyperparameter
(:func:`schedule_from_hparams`)::

    nuisance:
      schedule:          [linear, cosine]
      warmup_steps:      {low: 0, high: 100, type: int}
      final_lr_fraction: {low: 1.0e-3, high: 0.1, scale: log}
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Schedule = Callable[[int], float]

# The hyperparameters schedule_from_hparams reads; a trainer may attach a schedule only when the
# experiment names one of them, so experiments that never mention schedules keep a constant rate.
SCHEDULE_HPARAMS = ("schedule", "warmup_steps", "decay_steps", "final_lr_fraction")
SCHEDULE_KINDS = ("constant", "linear", "cosine")


def constant(value: float = 1.0) -> Schedule:
    """The same value at every step."""
    return lambda count: value


def linear(init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0) -> Schedule:
    """Hold ``init_value`` for ``transition_begin`` updates, move linearly to ``end_value`` over
    ``transition_steps`` updates, then stay there (optax's ``linear_schedule``). Linear decay is
    ``linear(base, 0.0, decay_steps)``; a constant phase before it is ``transition_begin``."""
    if transition_steps < 1:
        raise ValueError(f"transition_steps must be at least 1, got {transition_steps}")
    if transition_begin < 0:
        raise ValueError(f"transition_begin must not be negative, got {transition_begin}")

    def schedule(count: int) -> float:
        done = min(max(count - transition_begin, 0), transition_steps) / transition_steps
        return init_value + (end_value - init_value) * done

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0, transition_begin: int = 0) -> Schedule:
    """Hold ``init_value`` for ``transition_begin`` updates, then follow half a cosine down to
    ``alpha * init_value`` over ``decay_steps`` updates and stay there (optax's
    ``cosine_decay_schedule``)."""
    if decay_steps < 1:
        raise ValueError(f"decay_steps must be at least 1, got {decay_steps}")

    def schedule(count: int) -> float:
        done = min(max(count - transition_begin, 0), decay_steps) / decay_steps
        return init_value * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * done)) + alpha)

    return schedule


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` (which sees the count
    restarted at 0) until ``boundaries[1]``, and so on (optax's ``join_schedules``)."""
    if len(schedules) != len(boundaries) + 1:
        raise ValueError("join needs exactly one boundary fewer than schedules")
    if list(boundaries) != sorted(boundaries):
        raise ValueError(f"boundaries must be increasing, got {list(boundaries)}")
    starts = [0, *boundaries]

    def schedule(count: int) -> float:
        i = bisect.bisect_right(boundaries, count)
        return schedules[i](count - starts[i])

    return schedule


def warmup(schedule: Schedule, warmup_steps: int, init_value: float = 0.0) -> Schedule:
    """Prepend a linear warmup from ``init_value`` to where ``schedule`` starts, over
    ``warmup_steps`` updates; ``schedule`` then runs in full, shifted by ``warmup_steps``. The
    total grows by ``warmup_steps`` (playbook: 10,000 steps with 1,000 of warmup become 11,000)."""
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must not be negative, got {warmup_steps}")
    if warmup_steps == 0:
        return schedule
    return join([linear(init_value, schedule(0), warmup_steps), schedule], [warmup_steps])


def schedule_from_hparams(hp: Mapping[str, Any], max_train_steps: int, base: float = 1.0) -> Schedule:
    """The schedule a trial's hyperparameters name, as a multiple of ``base``, fitted to a trial of
    ``max_train_steps`` updates:

    ``schedule``
        ``constant`` (the default), ``linear`` or ``cosine``.
    ``warmup_steps``
        linear warmup from 0 over the first updates (default 0); the rest of the schedule follows.
    ``decay_steps``
        length of the decay at the end of training (default: every update after warmup). Anything
        between warmup and decay is held at ``base``; a Round 2 that keeps ``decay_steps`` and
        raises ``max_train_steps`` therefore lengthens the high-learning-rate phase (playbook: Round 2 of compute-bound training).
    ``final_lr_fraction``
        where the decay ends, as a fraction of ``base`` (default 0).

    Raises ``ValueError`` naming the hyperparameter for a value it cannot use."""
    kind = hp.get("schedule", "constant")
    if kind not in SCHEDULE_KINDS:
        raise ValueError(f"schedule {kind!r} is not one of {', '.join(SCHEDULE_KINDS)}")
    warmup_steps = int(hp.get("warmup_steps", 0))
    if not 0 <= warmup_steps < max_train_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be between 0 and max_train_steps ({max_train_steps})")
    after_warmup = max_train_steps - warmup_steps
    decay_steps = int(hp.get("decay_steps", after_warmup))
    if decay_steps < 1:
        raise ValueError(f"decay_steps must be at least 1, got {decay_steps}")
    final = float(hp.get("final_lr_fraction", 0.0))
    if not 0.0 <= final <= 1.0:
        raise ValueError(f"final_lr_fraction must be between 0 and 1, got {final}")
    hold = max(after_warmup - decay_steps, 0)
    if kind == "linear":
        body = linear(base, base * final, decay_steps, transition_begin=hold)
    elif kind == "cosine":
        body = cosine_decay(base, decay_steps, alpha=final, transition_begin=hold)
    else:
        body = constant(base)
    return warmup(body, warmup_steps)
