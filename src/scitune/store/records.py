"""What the store hands out: typed records, one per kind of row.

Trial tables and metric points leave the store as pandas frames (plain data the analysis reads in
bulk); everything else is a frozen dataclass here, so no caller digs into a dict by key. An
experiment's stored definition is validated once, when a caller first asks for
:attr:`ExperimentRecord.experiment`, with one error for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from scitune.config.study import StudySpec
from scitune.errors import StoreError
from scitune.states import StudyKind

if TYPE_CHECKING:  # imported where used: reading records (``scitune status``) needs no pydantic
    from scitune.config import Experiment, Objective


class StoredObjective(NamedTuple):
    """An experiment's objective as its stored definition holds it: the metric and its mode."""

    metric: str
    mode: str


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as stored: its definition (canonical form), the file it was read from, and
    the command line that ran it."""

    id: int
    name: str
    goal: str
    definition: dict[str, Any]
    config_text: str
    config_path: str | None
    command: str | None
    created_at: float
    updated_at: float
    store_url: str = field(default="", compare=False)

    @cached_property
    def experiment(self) -> Experiment:
        """The stored definition as a validated :class:`~scitune.config.Experiment`."""
        from pydantic import ValidationError

        from scitune.config import Experiment

        try:
            return Experiment.model_validate(self.definition)
        except ValidationError as err:  # written by a scitune whose experiment files had other rules
            problem = err.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
            raise StoreError(
                f"experiment '{self.name}' in {self.store_url or 'the store'} cannot be read by this scitune "
                f"version: {where}: {problem['msg']}",
                hint="use the scitune version that ran it",
            ) from None

    @property
    def objective(self) -> Objective:
        return self.experiment.objective

    @property
    def stored_objective(self) -> StoredObjective:
        """The objective's metric and mode read from the stored definition (the canonical form this
        store wrote, validated then) without validating the whole experiment again: what reading
        the store's counts needs (``scitune status``: no pydantic). A definition that does not hold
        them as this version writes them goes through :attr:`objective` and its one error."""
        spec = self.definition.get("objective")
        if isinstance(spec, dict) and isinstance(spec.get("metric"), str) and spec["metric"] \
                and spec.get("mode", "min") in ("min", "max"):
            return StoredObjective(spec["metric"], spec.get("mode", "min"))
        objective = self.objective
        return StoredObjective(objective.metric, objective.mode)

    @property
    def folder(self) -> Path | None:
        """The folder the experiment file was read from (where its training code is found)."""
        return Path(self.config_path).parent if self.config_path else None


@dataclass(frozen=True)
class StudyRecord(StudySpec):
    """A study as stored: a :class:`~scitune.config.StudySpec` with its id, kind and how its points
    are chosen (``search``: algorithm, seed, dimension order, library versions)."""

    id: int = 0
    experiment_id: int = 0
    search: dict[str, Any] = field(default_factory=dict)
    kind: StudyKind = StudyKind.SEARCH
    parent_trial_id: int | None = None  # a retrain study: the trial it reruns
    created_at: float = 0.0


@dataclass(frozen=True)
class TrialLocation:
    """Where a trial id lives: its experiment, its study and the study's kind."""

    trial_id: int
    experiment: str
    study: str
    kind: StudyKind
    parent_trial_id: int | None
    number: int


@dataclass(frozen=True)
class ClaimedTrial:
    """A trial this runner now owns and must finish (or give back as interrupted)."""

    id: int
    study_id: int
    study: str
    number: int
    params: dict[str, Any]
    seed: int
    attempt: int
    directory: str | None = None  # the folder an earlier attempt used, if any
    resume_step: int | None = None  # an interrupted trial continues from its latest checkpoint
    resume_path: str | None = None


@dataclass(frozen=True)
class LaunchRecord:
    """One launch: the trial that became the incumbent, with the evidence it won and why."""

    id: int
    experiment_id: int
    experiment: str
    trial_id: int
    study: str
    trial: int  # the trial's number in its study
    config: dict[str, Any]
    objective: dict[str, Any]  # {metric, mode, value, reruns}
    evidence: dict[str, Any]  # the comparison it won (empty baseline for the first incumbent)
    note: str
    command: str | None
    created_at: float


@dataclass(frozen=True)
class NoteRecord:
    id: int
    experiment_id: int
    study_id: int | None  # None: the note is about the whole experiment
    text: str
    created_at: float


@dataclass(frozen=True)
class TestResultRecord:
    """One evaluation of a trial's checkpoint on the test set."""

    __test__ = False  # not a pytest test class

    id: int
    trial_id: int
    step: int
    checkpoint: str
    function: str
    metrics: dict[str, float | None]
    command: str | None
    created_at: float
