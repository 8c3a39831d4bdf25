"""How a user names a trial, wherever a command takes one.

Within an experiment (``--trial`` of ``retrain``, ``launch`` and ``test``):

- ``STUDY/NUMBER`` (``width=64/3``): trial 3 of study ``width=64``, as ``scitune trials`` lists it;
- ``STUDY`` (``width=64``): that study's best completed trial; ``best``: the best of all studies;
- ``ID`` (digits): the trial's global id (the ``id`` column of ``scitune trials``).

Anywhere in the store (``compare`` and ``launch --against``), one more level, the experiment:
``EXPERIMENT/STUDY/NUMBER``, ``EXPERIMENT/STUDY``, ``EXPERIMENT`` (its best trial), an ``ID``, or
``@incumbent`` (the latest launch). "Best" is :func:`scitune.analysis.ranking.ranked`'s first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from scitune.analysis.ranking import ranked
from scitune.errors import NotFoundError
from scitune.states import StudyKind, TrialState
from scitune.store import Store

INCUMBENT = "@incumbent"


@dataclass(frozen=True)
class TrialRef:
    """A search trial a user named, resolved."""

    id: int
    experiment: str
    study: str
    number: int
    state: TrialState
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


def trial_ref(experiment: str, row: Any) -> TrialRef:
    """A row of :meth:`Store.trials` as a :class:`TrialRef`."""
    value, step = row["best_value"], row["best_step"]
    return TrialRef(int(row["id"]), experiment, str(row["study"]), int(row["trial"]), TrialState(row["state"]),
                    dict(row["params"]), int(row["seed"]), None if pd.isna(value) else float(value),
                    None if pd.isna(step) else int(step))


def resolve_trial(store: Store, experiment: str, ref: str) -> TrialRef:
    """The search trial that ``ref`` names within ``experiment`` (see the module's docstring)."""
    ref = ref.strip()
    record = store.experiment(experiment)
    table = store.trials(experiment)
    hint = ("name a trial as STUDY/NUMBER (e.g. width=64/3), a study for its best trial, best, or a trial id "
            f"from: scitune trials {experiment}")
    if ref.isdigit():
        where = store.locate(int(ref))
        if where.experiment != experiment:
            raise NotFoundError(f"trial {ref} belongs to experiment '{where.experiment}', not '{experiment}'")
        if where.kind != StudyKind.SEARCH:
            parent = store.locate(int(where.parent_trial_id or 0))
            raise NotFoundError(f"trial {ref} is a rerun of {parent.study}/{parent.number}, not a search trial",
                                hint=f"name the retrained trial: {parent.study}/{parent.number}")
        return trial_ref(experiment, table[table["id"] == int(ref)].iloc[0])
    names = [s.name for s in store.studies(record.id)]
    if ref == "best" or ref in names:
        done = ranked(table if ref == "best" else table[table["study"] == ref], record.objective.mode)
        if done.empty:
            where_text = "any study" if ref == "best" else f"study '{ref}'"
            raise NotFoundError(f"{experiment}: {where_text} has no completed trial yet")
        return trial_ref(experiment, done.iloc[0])
    study, _, number = ref.rpartition("/")
    if not study or not number.isdigit():
        raise NotFoundError(f"{experiment}: no trial or study '{ref}'", hint=hint)
    if study not in names:
        raise NotFoundError(f"experiment '{experiment}' has no study '{study}'", hint=f"its studies: {', '.join(names)}")
    match = table[(table["study"] == study) & (table["trial"] == int(number))]
    if match.empty:
        raise NotFoundError(f"study '{study}' of '{experiment}' has no trial {number}", hint=hint)
    return trial_ref(experiment, match.iloc[0])


def resolve_side(store: Store, ref: str) -> TrialRef:
    """A trial named anywhere in the store: ``EXPERIMENT[/STUDY[/NUMBER]]``, an id, or ``@incumbent``."""
    ref = ref.strip()
    if ref == INCUMBENT:
        launches = store.launches()
        if not launches:
            raise NotFoundError("there is no incumbent yet", hint="adopt one with: scitune launch EXPERIMENT --trial ...")
        ref = str(launches[-1].trial_id)
    if ref.isdigit():
        return resolve_trial(store, store.locate(int(ref)).experiment, ref)
    experiment, _, rest = ref.partition("/")
    return resolve_trial(store, experiment, rest or "best")

