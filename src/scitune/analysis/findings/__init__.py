"""Findings: what the post-study checks found, each a :class:`Finding` with the number behind it
and a concrete suggestion. The record is in :mod:`~scitune.analysis.findings.record`; the checks in
:mod:`~scitune.analysis.findings.search_checks` and :mod:`~scitune.analysis.findings.curve_checks`."""

from scitune.analysis.findings.record import (
    CHECKS,
    INFO,
    NOTE,
    WARNING,
    Finding,
    num,
    order_findings,
    pct,
    trust_line,
)

__all__ = ["Finding", "CHECKS", "WARNING", "NOTE", "INFO", "order_findings", "trust_line", "num", "pct"]
