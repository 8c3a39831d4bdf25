"""The report: one self-contained HTML file, a PNG per plot and the findings, for one experiment.

Playbook ("Extracting insight from experimental results", "Automate generically useful plots"):
before judging an experiment's goal, check the search space, the sampling, the infeasible trials
and the best trials' curves, and look at the axis, isolation and training-curve plots.
``scitune report EXPERIMENT`` is :func:`write_report`. In order:

1. read the experiment, its search trials, each study's best few trials' metric points (the checks
   and the plots need no more, which keeps a report of thousands of trials fast) and any retrains;
2. run the post-study checks (:func:`scitune.analysis.review.review`);
3. compute every plot's info and draw it: isolation, axis, trial budget, training curves, best steps;
4. write ``report.html`` (plotly.js embedded once, so it opens offline), ``<plot>.png`` for each
   plot and ``findings.json``.

:func:`findings` gives the findings alone, as plain data.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from scitune import __version__
from scitune.analysis.budget import DEFAULT_RESAMPLES
from scitune.analysis.findings import CHECKS, Finding, num
from scitune.analysis.ranking import top_trials
from scitune.analysis.review import Review, review
from scitune.analysis.summary import study_summary
from scitune.config import Experiment, ReportSettings
from scitune.errors import ScituneError
from scitune.plots import (
    AxisPlotInfo,
    BestStepInfo,
    BudgetPlotInfo,
    CurvesPlotInfo,
    IsolationPlotInfo,
    axis_figure,
    axis_plot_info,
    axis_png,
    best_step_figure,
    best_step_info,
    best_step_png,
    budget_figure,
    budget_plot_info,
    budget_png,
    curves_figure,
    curves_plot_info,
    curves_png,
    isolation_figure,
    isolation_plot_info,
    isolation_png,
)
from scitune.plots.importance import ImportancePlotInfo, importance_figure, importance_plot_info, importance_png
from scitune.plots.page import PageFigure, render_page
from scitune.states import StudyKind
from scitune.store import ExperimentRecord, Store, StudyRecord


@dataclass(frozen=True)
class ReportData:
    """What the report reads from the store, as plain data."""

    experiment: Experiment
    record: ExperimentRecord
    studies: list[StudyRecord]  # search studies
    trials: pd.DataFrame  # search trials
    metrics: pd.DataFrame  # metric points of each study's top_k trials
    retrain: pd.DataFrame | None  # retrain trials (with parent_trial_id), when any
    store_url: str = ""


@dataclass(frozen=True)
class Plot:
    key: str  # file stem of its PNG and id of its HTML element, e.g. "axis", "isolation-width"
    title: str
    caption: str  # how to read it
    info: Any  # the plot's info (AxisPlotInfo, ...): what it shows, computed without drawing

    def figure(self) -> go.Figure:
        return _BACKENDS[type(self.info)][0](self.info)

    def png(self, path: Path) -> Path:
        return _BACKENDS[type(self.info)][1](self.info, path)


_BACKENDS: dict[type, tuple[Callable[[Any], go.Figure], Callable[[Any, Path], Path]]] = {
    AxisPlotInfo: (axis_figure, axis_png),
    IsolationPlotInfo: (isolation_figure, isolation_png),
    CurvesPlotInfo: (curves_figure, curves_png),
    BestStepInfo: (best_step_figure, best_step_png),
    BudgetPlotInfo: (budget_figure, budget_png),
    ImportancePlotInfo: (importance_figure, importance_png),
}


@dataclass(frozen=True)
class Report:
    experiment: str
    goal: str
    findings: list[Finding]
    passed: list[str]
    html: Path | None
    pngs: list[Path] = field(default_factory=list)
    review: Review | None = None

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


def load(store: Store, name: str, settings: ReportSettings | None = None) -> ReportData:
    """Read an experiment's search trials, its best trials' metric points and any retrains."""
    record = store.experiment(name)
    experiment = record.experiment
    settings = settings or experiment.report_settings
    studies = store.studies(record.id)
    trials = store.trials(name)
    top = top_trials(trials, experiment.objective.mode, settings.top_k) if len(trials) else trials
    retrain = store.trials(name, kind=StudyKind.RETRAIN)
    reruns = retrain[retrain["parent_trial_id"].notna()] if len(retrain) else retrain
    ids = (top["id"].tolist() if len(top) else []) + reruns["id"].tolist()  # reruns too: the goal reads their curves
    metrics = store.metrics(ids) if ids else pd.DataFrame(columns=["trial_id", "name", "step", "value"])
    return ReportData(experiment, record, studies, trials, metrics, retrain if len(retrain) else None, store.url)


def findings(store: Store, name: str, settings: ReportSettings | None = None) -> list[Finding]:
    """The report's findings alone (goal's answer first, then warnings, then notes)."""
    data = load(store, name, settings)
    return review(data.experiment, data.trials, data.metrics, data.studies, data.retrain, settings).findings


def build_plots(data: ReportData, result: Review) -> list[Plot]:
    """Every plot of the report, in reading order: isolation (the goal), axis, trial budget, curves,
    best steps."""
    exp, s = data.experiment, result.settings
    metric, mode, steps = exp.objective.metric, exp.objective.mode, exp.budget.max_train_steps
    names = [st.name for st in data.studies]
    plots = []
    for param, values in exp.scientific.items():
        if len(values) > 1:
            plots.append(
                Plot(
                    f"isolation-{param}",
                    f"Isolation plot: {param}",
                    (
                        f"Each point is the best {metric} found at one value of {param} after tuning the nuisance "
                        "hyperparameters away: the goal's answer at a glance. Where a best trial was retrained "
                        "with other seeds, a diamond shows the reruns' mean (the retrained trial itself left out) "
                        "with error bars of its 95% confidence interval (Student's t; none from a single rerun); "
                        "hover for the standard deviation."
                    ),
                    isolation_plot_info(result.bests, param, values, metric, mode),
                )
            )
    if exp.space.params:
        axis = axis_plot_info(data.trials, exp.space, metric, mode, s.top_k, s.edge_fraction, names)
        plots.append(
            Plot(
                "axis",
                "Axis plots",
                (
                    f"One point per trial: its {metric} at its best step against each "
                    "nuisance hyperparameter, colored by "
                    f"study. Large outlined points are each study's top {s.top_k}; red crosses are infeasible trials; "
                    "triangles are trials worse than the axis shows (hover for the value). Dashed lines are the search "
                    f"range's bounds, shaded bands its outer {s.edge_fraction:.0%}: best "
                    "trials there mean the range may be "
                    "too narrow." + _drawn(axis.note)
                ),
                axis,
            )
        )
    if result.budgets:
        plots.append(
            Plot(
                "trial-budget",
                "How many trials were enough",
                (
                    f"The best {metric} to expect from a study of k trials, for k up to each study's size: "
                    f"{DEFAULT_RESAMPLES:,} draws of k of its finished trials with replacement (infeasible and "
                    "failed ones take their slot), the line their median best, the dark band the middle 50% of "
                    "draws and the light band 5–95%. A line still falling at the right end means more trials "
                    "would likely still help; a flat one, that they were enough."
                ),
                budget_plot_info(result.budgets, metric, mode),
            )
        )
    plots.append(
        Plot(
            "curves",
            "Training curves",
            (
                f"Every metric of each study's {s.top_k} best trials against step; a "
                "star marks each trial's best step of "
                f"{metric}. Look for validation curves that turn up (overfitting), jagged curves (noise), curves still "
                "improving at the end (train longer) and curves flat long before it (fewer steps would do)."
            ),
            curves_plot_info(result.top, data.metrics, metric, mode, steps, names),
        )
    )
    if result.importances:  # parameter importance, when a study had enough completed trials
        from scitune.analysis.findings.importance_checks import BARELY_SHARE

        plots.append(Plot("importance", "Parameter importance", (
            "How much each nuisance hyperparameter decides whether a trial reaches the best 10% of the objective "
            "(Optuna's PED-ANOVA, normalised to sum to 1 per study), with the 5–95% range over bootstrap refits. "
            "Below the dotted line (half an equal share) in every study, it barely matters: fix it next round."),
            importance_plot_info(result.importances, BARELY_SHARE)))
    best_steps = best_step_info(data.trials, metric, mode, steps, s.top_k, s.early_fraction, s.late_fraction, names)
    plots.append(
        Plot(
            "best-steps",
            "Best steps",
            (
                f"Where in [0, {steps}] each completed trial reached its best {metric}, each study's top {s.top_k} "
                f"colored. Best steps consistently in the last {s.late_fraction:.0%} "
                "mean training was cut short; always "
                f"in the first {s.early_fraction:.0%}, far too many steps." + _drawn(best_steps.note)
            ),
            best_steps,
        )
    )
    return plots


def _drawn(note: str) -> str:
    """A thinned scatter's caption sentence (see :func:`scitune.plots._style.drawn_trials`)."""
    return f" {note[0].upper()}{note[1:]}." if note else ""


def write_report(
    store: Store,
    name: str,
    out_dir: str | Path | None = None,
    settings: ReportSettings | None = None,
    png: bool = True,
) -> Report:
    """Write ``report.html``, a PNG per plot (unless ``png`` is False) and ``findings.json`` into
    ``out_dir`` (default ``reports/NAME``); returns the findings and the paths written."""
    data = load(store, name, settings)
    result = review(data.experiment, data.trials, data.metrics, data.studies, data.retrain, settings)
    out = Path(out_dir) if out_dir is not None else Path("reports") / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ScituneError(f"cannot create the report folder {out}: {err.strerror}") from None
    plots = build_plots(data, result)
    pngs = [plot.png(out / f"{plot.key}.png") for plot in plots] if png else []
    path = out / "report.html"
    path.write_text(render_html(data, result, plots, with_png=png), encoding="utf-8")
    (out / "findings.json").write_text(
        json.dumps(
            {
                "experiment": name,
                "goal": data.experiment.goal,
                "findings": [f.to_dict() for f in result.findings],
                "passed": result.passed,
                "settings": result.settings.model_dump(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return Report(name, data.experiment.goal, result.findings, result.passed, path, pngs, result)


def _facts(data: ReportData) -> list[tuple[str, str]]:
    exp, trials = data.experiment, data.trials
    counts = trials["state"].value_counts() if len(trials) else pd.Series(dtype=int)
    states = ", ".join(f"{int(n)} {state}" for state, n in counts.items())
    space = "; ".join(
        f"{p.name} [{num(p.low)}, {num(p.high)}] {p.scale}" if hasattr(p, "low") else f"{p.name} {list(p.values)}"
        for p in exp.space.params
    )
    facts = [
        ("objective", f"{exp.objective.metric} ({exp.objective.mode}), read at each trial's best step"),
        (
            "scientific",
            "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exp.scientific.items()) or "none (plain tuning)",
        ),
        ("nuisance", space or "none"),
        ("fixed", ", ".join(f"{k}={v}" for k, v in exp.fixed.items()) or "none"),
        (
            "budget",
            f"{exp.budget.trials_per_study} trials per study, {exp.budget.max_train_steps} steps, "
            f"evaluation every {exp.budget.eval_every}",
        ),
        ("trials", f"{len(trials)} in {len(data.studies)} studies: {states or 'none yet'}"),
        ("store", data.store_url),
    ]
    if data.record.config_path:
        facts.append(("experiment file", str(data.record.config_path)))
    return facts


def render_html(data: ReportData, result: Review, plots: list[Plot], with_png: bool = True) -> str:
    """The report page as one string (see :mod:`scitune.plots.page`)."""
    exp = data.experiment
    answer = next(f for f in result.findings if f.check == "goal")
    summary = study_summary(data.trials, exp.objective.mode, [s.name for s in data.studies])
    summary = summary.rename(columns={"best_objective": f"best {exp.objective.metric}"})
    figures = [PageFigure(p.key, p.title, p.caption, p.figure(), f"{p.key}.png" if with_png else None) for p in plots]
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return render_page(
        name=exp.name,
        goal=exp.goal,
        facts=_facts(data),
        answer=answer,
        findings=[f for f in result.findings if f.check != "goal"],
        passed=[CHECKS[c] for c in result.passed],
        summary=summary,
        figures=figures,
        settings=result.settings.model_dump(),
        footer=f"scitune {__version__} · generated {now} · thresholds in the experiment file's report: section "
        "(docs/report.md)",
    )
