"""Define: an experiment from Python values, for notebooks and scripts that keep no YAML file.

``define_experiment(...)`` takes what an experiment file holds, as keyword arguments, and a
``train`` callable (defined in the notebook, say). It writes the equivalent experiment file's text
(stored with the experiment, as any file's is), validates it with the file's own rules (a mistake
is one :class:`~scitune.errors.ConfigError` naming the key), and returns it ready to run:
``run_experiment(define_experiment(...), store)``. Nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from scitune.config import parse_experiment
from scitune.run.program import as_program
from scitune.steps.run import Loaded

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _train_ref(train: Callable[..., Any]) -> str:
    """``module:function`` naming a callable: what the stored file says trains the trials. A
    notebook's function is ``__main__:NAME``; a lambda or a nested function, ``__main__:train``."""
    ref = f"{getattr(train, '__module__', '__main__')}:{getattr(train, '__qualname__', 'train')}"
    return ref if _REF.match(ref) else "__main__:train"


def define_experiment(
    name: str,
    goal: str,
    train: Callable[..., Any] | str | None = None,
    *,
    objective: str | Mapping[str, Any],
    budget: Mapping[str, Any],
    scientific: Mapping[str, Any] | None = None,
    nuisance: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    mode: str = "min",
    command: Sequence[str] | None = None,
    **sections: Any,
) -> Loaded:
    """An experiment from Python values: ``train`` (a ``train(hp, trial)`` callable, or
    ``"module:function"``) or ``command``; ``objective`` a metric name (with ``mode``) or
    ``{metric, mode}``; ``budget`` ``{trials_per_study, max_train_steps, eval_every}``; the three
    roles as the file's ``hyperparameters`` sections; any other section of the file (``search``,
    ``report``, ``check``, ``checkpoints``, ``resources``, ``test``) by its name."""
    raw: dict[str, Any] = {"experiment": name, "goal": goal}
    if callable(train):
        raw["train"] = _train_ref(train)
    elif train is not None:
        raw["train"] = train
    if command is not None:
        raw["command"] = list(command)
    raw["objective"] = {"metric": objective, "mode": mode} if isinstance(objective, str) else dict(objective)
    raw["budget"] = dict(budget)
    raw.update(sections)
    raw["hyperparameters"] = {"scientific": dict(scientific or {}), "nuisance": dict(nuisance or {}),
                              "fixed": dict(fixed or {})}
    header = "# Defined in Python (scitune.define_experiment); train: the callable it was given.\n"
    try:
        text = header + yaml.safe_dump(raw, sort_keys=False, default_flow_style=None, width=110)
    except yaml.YAMLError as err:
        from scitune.errors import ConfigError

        raise ConfigError(f"<{name}>: a value cannot be written to an experiment file: {err}") from None
    experiment = parse_experiment(text, f"<{name}>")
    program = as_program(train) if callable(train) else None
    if program is None:
        from scitune.run.program import load_program

        program = load_program(experiment, None, f"<{name}>")
    return Loaded(experiment, text, None, program)
