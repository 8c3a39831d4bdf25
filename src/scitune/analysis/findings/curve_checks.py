"""Findings from the best trials' training curves: overfitting and noise per study, and where in
training the best steps fell (still improving at the end, or saturated early).

The other checks (the goal's answer, the search space, the trial budget) are in
:mod:`scitune.analysis.findings.search_checks`, the record in :mod:`~scitune.analysis.findings.record`;
the curves themselves are diagnosed in :mod:`scitune.analysis.curve_shape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from scitune.analysis.curve_shape import TRANSIENT, CurveDiagnosis, metric_role
from scitune.analysis.findings.record import NOTE, WARNING, Finding, num, pct
from scitune.analysis.noise import NoiseFloor
from scitune.analysis.step_budget import TOO_MANY_STEPS, TRAIN_LONGER, StepVerdict
from scitune.config import ReportSettings

NOISE_MARGIN = 5  # an overfitting rise must exceed this many step-to-step sds (4 let 5.5% of noisy nulls through)


def _trial_label(row: pd.Series) -> str:
    return f"#{int(row['trial'])}"


def curve_findings(
    top: pd.DataFrame,
    diagnoses: dict[tuple[int, str], CurveDiagnosis],
    objective: str,
    max_train_steps: int,
    settings: ReportSettings,
    goal_gap: float | None = None,
    floors: Mapping[str, NoiseFloor] | None = None,
) -> list[Finding]:
    """Overfitting and noise among each study's best trials (``top``: best first per study). The
    overfitting rise must exceed ``NOISE_MARGIN`` step-to-step sds: the larger of the trial's own
    estimate and the study's noise floor (``floors``), since one curve's estimate from a dozen
    evaluations can come out low."""
    findings = []
    floors = floors or {}
    for study, group in top.groupby("study", sort=False):
        over, noisy = [], []
        floor = floors[str(study)].value if str(study) in floors else 0.0
        for rank, (_, row) in enumerate(group.iterrows()):
            tid = int(row["id"])
            d = diagnoses.get((tid, objective))
            # A rise within a few noise sds of the best is noise, not a trend.
            if (
                d
                and d.rise >= settings.overfit_rise
                and d.after_best >= 2
                and d.rise_abs > NOISE_MARGIN * max(d.sigma or 0.0, floor)
            ):
                over.append((rank, row, d))
            for (trial_id, metric), c in diagnoses.items():
                if trial_id != tid or metric_role(metric, objective) == "other" or c.noise is None:
                    continue
                if c.noise >= settings.noise:
                    noisy.append((rank, row, metric, c))
        if over:
            shown = over[:3]
            many = len(shown) > 1
            lines = [
                (
                    f"trial{'s' if many else ''} {', '.join(_trial_label(r) for _, r, _ in shown)} end "
                    f"{', '.join(num(d.rise_abs) for _, _, d in shown)} above {'their' if many else 'its'} best "
                    f"({', '.join(num(d.best_value) for _, _, d in shown)} at step{'s' if many else ''} "
                    f"{', '.join(str(d.best_step) for _, _, d in shown)} of {max_train_steps}): "
                    f"{', '.join(pct(d.rise) for _, _, d in shown)} of the improvement made after the first "
                    f"{pct(TRANSIENT)} of training"
                )
            ]
            best_over = over[0][0] == 0
            findings.append(
                Finding(
                    check="overfitting",
                    severity=WARNING if best_over else NOTE,
                    title=(
                        f"{study}: {objective} worsens after its best step in {len(over)} of "
                        f"its {len(group)} best trials"
                    ),
                    evidence="; ".join(lines) + f" (threshold {pct(settings.overfit_rise)}).",
                    suggestion=(
                        "add or retune regularization (weight decay, dropout, augmentation) before comparing "
                        "scientific values, unless regularization is what this experiment studies: overfitting "
                        "among the best trials lets selection reward accidental regularizers."
                    ),
                    study=str(study),
                    data={
                        "trials": [int(r["trial"]) for _, r, _ in over],
                        "rise": [d.rise for _, _, d in over],
                        "best_trial_overfits": best_over,
                    },
                )
            )
        if noisy:
            worst: dict[str, tuple] = {}
            for item in noisy:
                if item[2] not in worst or item[3].noise > worst[item[2]][3].noise:
                    worst[item[2]] = item
            lines = [
                f"{m}: step-to-step sd {num(c.sigma)} in trial {_trial_label(r)}, {pct(c.noise)} of the "
                "curve's improvement after the first 10% of training (or of its level, if larger)"
                for m, (_, r, _, c) in worst.items()
            ]
            on_objective = objective in worst
            extra = ""
            if on_objective and goal_gap is not None and worst[objective][3].sigma > goal_gap:
                extra = ("; the two best scientific values are equal, so noise of this size can decide their order"
                         if goal_gap == 0 else f"; larger than the {num(goal_gap)} gap between the two best scientific values")
            findings.append(
                Finding(
                    check="noise",
                    severity=WARNING if on_objective else NOTE,
                    title=f"{study}: noisy curves ({', '.join(worst)}) among its best trials",
                    evidence="; ".join(lines) + extra + f" (threshold {pct(settings.noise)}).",
                    suggestion=(
                        "the value at the best step is partly luck: evaluate on more validation data, use a "
                        "larger batch, decay the learning rate, or average weights (Polyak/EMA); retrain the "
                        "best trials before trusting small gaps."
                    ),
                    study=str(study),
                    data={
                        "metrics": {
                            m: {"trial": int(r["trial"]), "sigma": c.sigma, "noise": c.noise}
                            for m, (_, r, _, c) in worst.items()
                        }
                    },
                )
            )
    return findings


def step_findings(
    verdicts: list[StepVerdict],
    max_train_steps: int,
    eval_every: int,
    settings: ReportSettings,
) -> list[Finding]:
    """Where the best trials reached their best (:func:`scitune.analysis.step_budget.step_verdicts`):
    consistently in the last ``late_fraction`` while still gaining (train longer), or always in the
    first ``early_fraction`` (fewer steps would do). One finding each across studies, since
    max_train_steps is the experiment's."""
    late_lines, late_studies, early_lines, early_studies, latest = [], [], [], [], 0
    for v in verdicts:
        shown = ", ".join(str(s) for s in v.best_steps)
        if v.verdict == TRAIN_LONGER:
            late_studies.append(v.study)
            late_lines.append(
                f"{v.study}: best steps {shown}"
                + (f", still gaining {pct(v.late_gain)} of their improvement in that stretch (median)"
                   if v.late_gain is not None else "")
            )
        elif v.verdict == TOO_MANY_STEPS:
            early_studies.append(v.study)
            early_lines.append(f"{v.study}: best steps {shown}")
            latest = max(latest, *v.best_steps)
    findings = []
    total = len(verdicts)
    if late_studies:
        findings.append(
            Finding(
                check="still_improving",
                severity=WARNING,
                title=f"Still improving when training stopped in {len(late_studies)} of {total} studies",
                evidence=(
                    f"every one of the top {settings.top_k} trials reached its best in the last "
                    f"{pct(settings.late_fraction)} of the {max_train_steps} steps. " + "; ".join(late_lines) + "."
                ),
                suggestion=(
                    f"train longer: raise max_train_steps (e.g. to {2 * max_train_steps}) and retune the "
                    "learning-rate decay schedule for the longer run; results at this budget understate what "
                    "each configuration can reach."
                ),
                data={"studies": late_studies, "max_train_steps": max_train_steps},
            )
        )
    if early_studies:
        suggested = int(math.ceil(3 * latest / eval_every) * eval_every) if latest else eval_every
        findings.append(
            Finding(
                check="saturated",
                severity=NOTE,
                title=f"Saturated early in {len(early_studies)} of {total} studies",
                evidence=(
                    f"every one of the top {settings.top_k} trials reached its best within the first "
                    f"{pct(settings.early_fraction)} of the {max_train_steps} steps. " + "; ".join(early_lines) + "."
                ),
                suggestion=(
                    f"fewer steps would do: about {suggested} (3x the latest best step) instead of "
                    f"{max_train_steps}, with the schedule retuned for the shorter run; the saved compute buys "
                    "more trials."
                ),
                data={"studies": early_studies, "suggested_max_train_steps": suggested},
            )
        )
    return findings
