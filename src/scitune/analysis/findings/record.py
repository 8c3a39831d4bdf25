"""The finding record: what a check found, the number behind it and what to do about it.

A :class:`Finding` is plain data (``to_dict()`` gives JSON-ready values); every face (the report,
the terminal, the dashboard) shows the same record. Also here: the list of checks, the order
findings are read in, and the wording helpers the checks share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

WARNING, NOTE, INFO = "warning", "note", "info"
SEVERITY_ORDER = {INFO: 0, WARNING: 1, NOTE: 2}

# Every check, and what it means when it finds nothing (the report lists those as passed).
CHECKS = {
    "goal": "the goal's answer",
    "boundary": "the best trials lie inside every nuisance range",
    "infeasible": "few infeasible or failed trials, and none bordering the best",
    "few_points": "enough trials near the best in every study",
    "more_trials": "more trials would likely not improve any study's best",
    "overfitting": "no validation objective worsens after its best step",
    "noise": "no noisy curve among the best trials",
    "still_improving": "no study was still improving when training stopped",
    "saturated": "no study peaked in the first part of training",
    "importance": "every nuisance hyperparameter matters enough to keep tuning",
}


@dataclass(frozen=True)
class Finding:
    """One thing the report found: what, the number behind it, and a concrete suggestion."""

    check: str  # a key of CHECKS
    severity: str  # "warning" (fix before trusting the answer), "note" (worth a look) or "info"
    title: str
    evidence: str
    suggestion: str
    study: str | None = None  # None when it concerns the whole experiment
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def num(value: float | None) -> str:
    """A number as a researcher reads it: four significant digits."""
    return "-" if value is None else f"{value:.4g}"


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def trust_line(findings: Iterable[Finding]) -> str:
    """One sentence on how far the goal's answer can be trusted, from the other findings."""
    rest = [f for f in findings if f.check != "goal"]
    warnings = sum(f.severity == WARNING for f in rest)
    notes = sum(f.severity == NOTE for f in rest)
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"
    if warnings:
        return f"Before trusting this answer, look at the {plural(warnings, 'warning')} below" + (
            f" (and {plural(notes, 'note')})." if notes else "."
        )
    if notes:
        return f"No warnings; {plural(notes, 'note')} below {'are' if notes > 1 else 'is'} worth a look."
    return "No check found anything to fix."


def order_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The goal's answer first, then warnings, then notes, each in the order of CHECKS."""
    checks = list(CHECKS)
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], checks.index(f.check)))


def p_text(p: float | None) -> str:
    return "p n/a" if p is None else "p<0.001" if p < 0.001 else f"p={p:.2g}"
