"""Fail fast: when the first trials of a run all failed, stop the run and say why.

Playbook ("Designing the next round of experiments"; "Setting up experiment tracking"): a study's
trials are a budget. A training function with a bug (it raises, it reports another metric than the
objective, it returns its loss instead of reporting it, it takes one argument) fails every trial the
same way, so running the rest of the study spends the budget to learn nothing. :func:`fail_fast`
decides, from plain data about the trials this run finished, whether to stop now and why; the runner
calls it while it polls. :func:`never_reported_reason` words the reason a worker records for a trial
that ended without reporting its objective, so that the rule can recognise it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scitune.states import TrialState

if TYPE_CHECKING:  # a frame arrives only once a run has finished enough trials to judge
    import pandas as pd

FAIL_FAST_DEFAULT = 3  # the first this-many finished trials of a run all failed: stop (budget.fail_fast)

NEVER_REPORTED = "was never reported"  # every reason for a trial that never reported its objective says this
RETURNED = "train returned"


def never_reported_reason(metric: str, reported: Iterable[str] = (), returned: Any = None) -> str:
    """The reason recorded for a trial that ended without reporting the objective ``metric``: what
    it reported instead (``reported``, metric names) and what ``train`` returned, if anything."""
    names = sorted(set(reported))
    reason = f"the objective '{metric}' {NEVER_REPORTED}"
    reason += f"; reported metrics: {', '.join(names)}" if names else "; no metric was reported"
    if returned is not None:
        shown = repr(returned)
        reason += f"; {RETURNED} {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return reason


@dataclass(frozen=True)
class FailFast:
    """Why a run stops early: ``cause`` (one line, the failure the trials share) and ``hint``
    (what to do about it); ``trials`` names the failed trials (``STUDY/NUMBER``)."""

    cause: str
    hint: str
    trials: tuple[str, ...]
    shape: str  # returned | never_reported | signature | raised | other


_SIGNATURE = re.compile(r"^TypeError: .*takes \d+ positional arguments? but \d+ (were|was) given")
_RAISED = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)|[A-Z]\w*): ")


def failure_shape(reason: str | None) -> str:
    """Which way a failed trial failed, from its recorded reason: ``returned`` (``train`` returned
    a value and reported no objective), ``never_reported`` (it reported other metrics, or none),
    ``signature`` (``train`` does not take ``(hparams, trial)``), ``raised`` (an exception), or
    ``other`` (a died worker, a command's exit code, a timeout)."""
    text = reason or ""
    if NEVER_REPORTED in text:
        return "returned" if RETURNED in text else "never_reported"
    if _SIGNATURE.match(text):
        return "signature"
    if _RAISED.match(text):
        return "raised"
    return "other"


def _hint(shape: str, reason: str, metric: str, example: str) -> str:
    if shape == "returned":
        returned = reason.split(f"{RETURNED} ", 1)[1]
        return (f"train returned {returned}: report it with trial.report(step, {metric}=...) instead of returning it")
    if shape == "never_reported":
        reported = re.search(r"reported metrics: (.*?)(;|$)", reason)
        if reported:
            return (f"set objective.metric to one of {reported.group(1)}, or call trial.report(step, {metric}=...) "
                    "in train")
        return f"call trial.report(step, {metric}=...) in train at each evaluation"
    if shape == "signature":
        return "scitune calls train(hparams, trial): add the trial argument and report metrics through it"
    return f"see the traceback and output with: scitune show {example}"


def fail_fast(finished: pd.DataFrame, metric: str, limit: int = FAIL_FAST_DEFAULT, *,
              experiment: str = "EXPERIMENT") -> FailFast | None:
    """Whether a run should stop now: the first ``limit`` trials it finished all failed.

    ``finished`` holds the trials this run finished (columns ``study``, ``trial``, ``state``,
    ``reason``, ``finished_at``), in any order; ``metric`` is the objective. Returns None while
    fewer than ``limit`` have finished, when any of the first ``limit`` completed or was infeasible
    (a diverged trial reported its objective: that is the search's business, not a bug), or when
    ``limit`` is 0 (fail fast turned off). The cause is the reason the failures share when they
    share one, else their most common shape, with the count of each reason."""
    if limit <= 0 or len(finished) < limit:
        return None
    first = finished.sort_values(["finished_at", "trial"], kind="stable").head(limit)
    if not (first["state"] == TrialState.FAILED).all():
        return None
    reasons = [str(r) if isinstance(r, str) else "no reason recorded" for r in first["reason"]]
    names = tuple(f"{s}/{int(n)}" for s, n in zip(first["study"], first["trial"]))
    shapes = Counter(failure_shape(r) for r in reasons)
    shape = shapes.most_common(1)[0][0]
    example = next(r for r in reasons if failure_shape(r) == shape)
    if len(set(reasons)) == 1:
        cause = f"the first {limit} trials all failed the same way: {example}"
    else:
        counts = Counter(reasons).most_common()
        listed = "; ".join(f"{n} x {r}" for r, n in counts[:3])
        cause = f"the first {limit} trials all failed: {listed}"
    trial = names[reasons.index(example)]
    return FailFast(cause, _hint(shape, example, metric, f"{experiment}/{trial}"), names, shape)
