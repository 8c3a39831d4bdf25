"""The states a trial passes through, and the kinds of study: one definition for every tier.

A trial is created ``pending``, becomes ``running`` when a worker claims it, and ends
``completed`` (the objective was reported), ``infeasible`` (it diverged: a NaN or infinite objective
or loss), ``failed`` (it crashed, timed out, or never reported the objective) or ``interrupted``
(its runner was stopped or lost; it runs again on the next ``scitune run``).

The states are :class:`enum.StrEnum` members, so they compare equal to the strings the store holds
and to the ``state`` column of a trial frame: ``frame["state"] == TrialState.COMPLETED`` works.
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    INFEASIBLE = "infeasible"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


STATES: tuple[TrialState, ...] = tuple(TrialState)
# Finished trials are never run again.
FINISHED: tuple[TrialState, ...] = (TrialState.COMPLETED, TrialState.INFEASIBLE, TrialState.FAILED)
# Finished without a usable objective: the trial took a slot of the budget and gave nothing.
UNUSABLE: tuple[TrialState, ...] = (TrialState.INFEASIBLE, TrialState.FAILED)
# A worker may take these.
CLAIMABLE: tuple[TrialState, ...] = (TrialState.PENDING, TrialState.INTERRUPTED)
# Not finished yet: their point is taken, their result unknown.
UNFINISHED: tuple[TrialState, ...] = (TrialState.PENDING, TrialState.RUNNING, TrialState.INTERRUPTED)
# How a trial may end (what a runner records when it lets go of a trial).
ENDINGS: tuple[TrialState, ...] = (*FINISHED, TrialState.INTERRUPTED)


class StudyKind(StrEnum):
    """``search``: a study of the experiment's search; ``retrain``: reruns of one trial's
    configuration with other seeds, kept out of the search results."""

    SEARCH = "search"
    RETRAIN = "retrain"
