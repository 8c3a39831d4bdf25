"""The parameter-importance finding: a nuisance hyperparameter that barely matters.

Playbook ("Extracting insight from experimental results"; "Choosing the search space for the
next round"): a nuisance hyperparameter whose value barely changes whether a trial reaches the
best results can be fixed in the next round, which spends the trial budget on the ones that do.
The rule is :func:`scitune.analysis.importance.barely_matters`: in every study with an estimate,
the bootstrap's 95th percentile of its PED-ANOVA importance stays under :data:`BARELY_SHARE` of an
equal share. Its false-alarm and detection rates on simulated studies are in docs/dashboard.md
(``benchmarks/importance_calibration.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from scitune.analysis.findings.record import NOTE, Finding, num
from scitune.analysis.importance import TARGET_QUANTILE, StudyImportance, barely_matters

BARELY_SHARE = 0.5  # of an equal share (1 / number of nuisance hyperparameters)


def importance_findings(found: Sequence[StudyImportance]) -> list[Finding]:
    """One note per nuisance hyperparameter that barely matters in every study with an estimate."""
    out = []
    for name, estimates in barely_matters(found, BARELY_SHARE).items():
        per_study = "; ".join(
            f"{s.study}: {num(p.importance)} (5–95% {num(p.low)}–{num(p.high)}, {s.trials} trials)"
            for s, p in zip(found, estimates)
        )
        equal = 1 / len(found[0].params)
        out.append(Finding(
            "importance", NOTE, f"{name} barely matters here: consider fixing it next round",
            f"its share of the parameter importance (PED-ANOVA over the best {TARGET_QUANTILE:.0%} of trials, bootstrap 5–95%) stays "
            f"below {num(BARELY_SHARE * equal)}, half an equal share, in every study: {per_study}.",
            f"fix {name} at a value near the best trials' in the next round's experiment file (hyperparameters: "
            "fixed:), and spend its trials on the nuisance hyperparameters that matter",
            data={"param": name, "estimates": [vars(p) for p in estimates]},
        ))
    return out
