"""The post-study checklist (playbook: "Extracting insight from experimental results"): run every check on an experiment's data and collect
the findings, with the intermediate results the report's plots are drawn from (the studies' bests
with their retrain variance, and how each study's expected best grows with its number of trials)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from scitune.analysis.boundaries import EdgeHit, InfeasibleRegion, edge_hits, infeasible_regions
from scitune.analysis.budget import BudgetCurve, budget_curves
from scitune.analysis.curve_shape import CurveDiagnosis, diagnose_trials, late_gains
from scitune.analysis.findings.curve_checks import curve_findings, step_findings
from scitune.analysis.findings.importance_checks import importance_findings
from scitune.analysis.findings.record import CHECKS, Finding, order_findings
from scitune.analysis.findings.search_checks import (
    boundary_findings,
    budget_findings,
    density_findings,
    feasibility_findings,
    goal_finding,
)
from scitune.analysis.goal import GoalAnswer, StudyBest, goal_answer, study_bests
from scitune.analysis.importance import StudyImportance, importances
from scitune.analysis.noise import NoiseFloor, noise_floors
from scitune.analysis.ranking import top_trials
from scitune.analysis.readings import read_trials
from scitune.analysis.sampling import Feasibility, NearBest, feasibility, near_best
from scitune.analysis.step_budget import StepVerdict, step_verdicts
from scitune.analysis.variance import TrialVariance, study_noise, study_variances, trial_variances
from scitune.config import Experiment, ReportSettings, StudySpec


@dataclass(frozen=True)
class Review:
    """Every check's result for one experiment; ``findings`` is what a user reads first."""

    findings: list[Finding]
    passed: list[str]  # checks that ran and found nothing (keys of CHECKS)
    settings: ReportSettings
    top: pd.DataFrame  # each study's top_k completed trials, best first
    diagnoses: dict[tuple[int, str], CurveDiagnosis]
    bests: list[StudyBest]
    answer: GoalAnswer
    edges: list[EdgeHit]
    regions: list[InfeasibleRegion]
    feasibility: list[Feasibility]
    near_best: list[NearBest]
    variances: dict[int, TrialVariance]  # retrained trials' reruns, by the retrained trial's id
    budgets: list[BudgetCurve]  # per study: the expected best objective against the number of trials
    steps: list[StepVerdict]  # per study: the step-budget verdict from its top trials' best steps
    importances: list[StudyImportance] = field(default_factory=list)  # per study with enough trials
    noise: dict[str, NoiseFloor] = field(default_factory=dict)  # per study: the noise floor findings are judged by


def review(
    experiment: Experiment,
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    studies: Sequence[StudySpec] | None = None,
    retrain: pd.DataFrame | None = None,
    settings: ReportSettings | None = None,
    importance: bool = True,
) -> Review:
    """Run the checks. ``trials``: the search trials (one row each: study, trial, id, state, reason,
    params, best_step, best_value); ``metrics``: metric points (trial_id, name, step, value) of at
    least each study's top_k trials (and of the reruns, for the goal to read them as ``compare`` does);
    ``retrain``: retrain trials with ``parent_trial_id``, if any. ``importance``: also estimate
    parameter importance (a bootstrap of PED-ANOVA fits per study, a fraction of a second each;
    simulations of the other checks may turn it off)."""
    settings = settings or experiment.report_settings
    studies = list(studies) if studies is not None else experiment.studies()
    names = [s.name for s in studies]
    metric, mode = experiment.objective.metric, experiment.objective.mode
    budget, space = experiment.budget, experiment.space

    top = top_trials(trials, mode, settings.top_k)
    points = metrics[metrics["trial_id"].isin(top["id"])] if len(top) else metrics.head(0)
    diagnoses = diagnose_trials(points, metric, mode, budget.max_train_steps, settings.late_fraction)
    variances = trial_variances(trials, retrain)
    floors = noise_floors(top, diagnoses, points, metric, study_noise(variances), names)
    floor_values = {study: f.value for study, f in floors.items()}
    edges = edge_hits(trials, space, mode, settings.top_k, settings.edge_fraction, settings.widen_by)
    regions = infeasible_regions(trials, space, mode, settings.edge_fraction, border_decades=settings.border_decades,
                                 floors=floor_values, noise_margin=settings.noise_margin)
    feasible = feasibility(trials, names)
    near = near_best(trials, mode, settings.near_best, names, floor_values, settings.noise_margin)
    wanted = [*top.groupby("study", sort=False).head(1)["id"], *([] if retrain is None else retrain["id"])] \
        if len(top) else []
    readings = read_trials(metrics, metric, mode, wanted)  # the goal reads its sides as `compare` does
    bests = study_bests(trials, studies, mode, settings.top_k, variances, readings)
    answer = goal_answer(bests, mode, extra_values=metrics.loc[metrics["name"] == metric, "value"].dropna().tolist()
                         if len(metrics) else (), study_variance=study_variances(trials, retrain, mode))
    budgets = (
        budget_curves(trials, mode, names, floor_values, noise_sources={s: f.source for s, f in floors.items()},
                      noise_margin=settings.noise_margin)
        if len(trials)
        else []
    )
    steps = step_verdicts(top, late_gains(diagnoses, metric), budget.max_train_steps, late_fraction=settings.late_fraction,
                          early_fraction=settings.early_fraction, min_late_gain=settings.min_late_gain)
    found_importance = importances(trials, space, mode, names) if importance and len(trials) else []

    findings = [
        goal_finding(answer, metric, mode, len(studies), settings.top_k),
        *boundary_findings(edges, regions, space, settings, floors),
        *feasibility_findings(feasible, regions, settings),
        *density_findings(near, metric, budget.trials_per_study, settings, floors),
        *budget_findings(budgets, answer, metric, mode, budget.trials_per_study),
        *curve_findings(top, diagnoses, metric, budget.max_train_steps, settings, answer.gap, floors),
        *step_findings(steps, budget.max_train_steps, budget.eval_every, settings),
        *importance_findings(found_importance),
    ]
    # A check that could not run is not passed: no study was large enough to judge its trial budget.
    skipped = {"goal"} | (set() if any(c.more_would_help is not None for c in budgets) else {"more_trials"})
    skipped |= set() if found_importance else {"importance"}  # no study had enough trials (or no Optuna)
    found = {f.check for f in findings}
    passed = [check for check in CHECKS if check not in skipped and check not in found]
    return Review(
        order_findings(findings),
        passed,
        settings,
        top,
        diagnoses,
        bests,
        answer,
        edges,
        regions,
        feasible,
        near,
        variances,
        budgets,
        steps,
        importances=found_importance,
        noise=floors,
    )
