"""scitune in a notebook: the same steps as the command line, shown inline.

A face, like the command line: each call runs one step of the Python API and returns a record
whose ``_repr_html_`` Jupyter shows as the cell's output::

    import scitune
    from scitune import notebook

    def train(hp, trial):                      # defined in the notebook
        ...
        trial.report(step, val_error=...)

    exp = scitune.define_experiment("nb", "Does width matter?", train, objective="val_error",
                                    budget={"trials_per_study": 8, "max_train_steps": 100, "eval_every": 10},
                                    nuisance={"learning_rate": {"low": 1e-4, "high": 1e-1, "scale": "log"}})
    notebook.check(exp)                        # the design review (scitune check)
    notebook.run(exp, "nb.db")                 # a progress bar while it runs, then each study's status
    notebook.report("nb.db", "nb")             # the answer, the findings and the plots, inline
    notebook.next_round("nb.db", "nb")         # the next round's file (scitune next), shown

The progress bar is an HTML ``<progress>`` element updated in place (IPython's display handles: no
widget library needed); outside IPython it prints a line per update instead. Plots are the
report's PNGs (matplotlib), embedded in the output, so a saved notebook shows them offline.
docs/notebook.md has the walk-through; examples/notebook/quickstart.ipynb runs it.
"""

from __future__ import annotations

import base64
import html
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scitune.analysis.design_review import DesignReview
from scitune.analysis.findings import Finding, trust_line
from scitune.run.local import RunSummary
from scitune.states import FINISHED
from scitune.steps.check import check_experiment
from scitune.steps.results import status
from scitune.steps.run import Loaded, RunPlan, run_experiment
from scitune.store import Store

_COLORS = {"refuse": "#b00020", "warning": "#b26a00", "note": "#1565c0", "info": "#2e7d32"}


def _e(text: Any) -> str:
    return html.escape(str(text))


def _badge(severity: str) -> str:
    color = _COLORS.get(severity, "#555")
    return (f'<span style="color:white;background:{color};border-radius:3px;padding:0 5px;'
            f'font-size:85%">{_e(severity)}</span>')


def _store(store: Store | str | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


# -- the design review -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """``scitune check`` in a notebook: the design review, shown as a list."""

    review: DesignReview

    def _repr_html_(self) -> str:
        return review_html(self.review)

    def __repr__(self) -> str:
        lines = [f"{i.severity} {i.rule}: {i.title}" for i in self.review.issues]
        return "\n".join(lines) or f"{self.review.experiment}: the design review found nothing to fix"


def review_html(review: DesignReview) -> str:
    if not review.issues:
        return f"<p><b>{_e(review.experiment)}</b>: the design review found nothing to fix.</p>"
    items = "".join(
        f"<li>{_badge(i.severity)} <b>{_e(i.rule)}</b>: {_e(i.title)}<br><small>{_e(i.evidence)} "
        f"<b>Do:</b> {_e(i.suggestion)} <i>Playbook: \u201c{_e(i.section)}\u201d; silence with "
        f"<code>{_e(i.silence)}</code>.</i></small></li>"
        for i in review.issues
    )
    return f"<div><b>Design review of {_e(review.experiment)}</b><ul>{items}</ul></div>"


def check(experiment: Loaded | str | Path) -> Check:
    """The design review of an experiment (a file's path, or one from ``define_experiment``)."""
    return Check(check_experiment(experiment.experiment if isinstance(experiment, Loaded) else experiment))


# -- running ---------------------------------------------------------------------------------------


class NotebookProgress:
    """A progress bar in the cell's output: trials finished of the total, infeasible and failed
    counts, the best objective so far and the time elapsed, updated in place at most every
    ``every`` seconds (and once at the end)."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self._handle: Any = None
        self._plan: RunPlan | None = None
        self._last = 0.0
        self._start = time.monotonic()

    def html(self, done: int, states: dict[str, int] | None = None, best: Any = None) -> str:
        plan = self._plan
        total = plan.total if plan else 0
        states = states or {}
        best_text = "-" if best is None else f"{best:.4g}" if isinstance(best, float) else _e(best)
        return (f"<div><b>{_e(plan.headline if plan else '')}</b><br>"
                f'<progress value="{done}" max="{max(total, 1)}" style="width:60%"></progress> '
                f"<span>{done}/{total} trials &middot; infeasible {states.get('infeasible', 0)} &middot; failed "
                f"{states.get('failed', 0)} &middot; best {best_text} &middot; "
                f"{time.monotonic() - self._start:.0f} s</span></div>")

    def _show(self, text: str) -> None:
        try:
            from IPython.display import HTML, display
        except ImportError:  # not in IPython: a line per update
            print(text)
            return
        if self._handle is None:
            self._handle = display(HTML(text), display_id=True)
        else:
            self._handle.update(HTML(text))

    def on_plan(self, plan: RunPlan) -> None:
        self._plan, self._start, self._handle = plan, time.monotonic(), None
        self._show(self.html(plan.finished))

    def on_progress(self, progress: dict[str, Any], final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < self.every:
            return
        self._last = now
        states = progress["states"]
        self._show(self.html(sum(states[s] for s in FINISHED), states, progress.get("best")))


@dataclass(frozen=True)
class Run:
    """What ``notebook.run`` returns: the run's summary, each study's status after it, and the
    design review it started with."""

    summary: RunSummary
    studies: pd.DataFrame  # analysis.summary.study_summary's columns
    review: DesignReview

    def _repr_html_(self) -> str:
        s = self.summary
        states = ", ".join(f"{n} {state}" for state, n in s.states.items() if n)
        head = (f"<p><b>{_e(s.experiment)}</b>: {_e(states or 'no trials')} in {s.elapsed:.1f} s"
                + (" &mdash; <b>stopped</b>: run it again to resume" if s.interrupted else "") + "</p>")
        return head + self.studies.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}")


def run(experiment: Loaded | str | Path, store: Store | str | None = None, *, workers: int | None = None,
        progress: bool = True, **kwargs: Any) -> Run:
    """``scitune run`` in a notebook: the design review (a refusal raises, as on the command line),
    a progress bar while the trials train, then each study's status. ``kwargs`` go to
    :func:`scitune.steps.run.run_experiment` (``executor``, ``train``, ...)."""
    db = _store(store)
    bar = NotebookProgress()
    seen: list[DesignReview] = []

    def on_check(review: DesignReview) -> None:
        seen.append(review)
        if review.issues:
            bar._show(review_html(review))
            bar._handle = None  # the progress bar gets its own output below the review

    summary = run_experiment(experiment, db, workers=workers, on_check=on_check,  # a refusal raises DesignRefused
                             on_plan=bar.on_plan if progress else None,
                             on_progress=bar.on_progress if progress else None, **kwargs)
    if progress:
        bar.on_progress({"states": summary.states, "best": summary.best}, final=True)
    (studies,) = [s.studies for s in status(db, summary.experiment)]
    return Run(summary, studies, seen[0])


# -- the report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """What ``notebook.report`` returns: the goal's answer, the other findings, the checks that
    passed, and each plot (its title, caption and PNG bytes; ``figures()`` gives the plotly ones)."""

    experiment: str
    goal: str
    answer: Finding
    findings: list[Finding]
    passed: list[str]
    plots: list[tuple[str, str, bytes]] = field(default_factory=list)
    _figures: list[Any] = field(default_factory=list, repr=False)

    def figures(self) -> list[Any]:
        """The report's plots as plotly figures (``fig.show()`` draws one interactively)."""
        return list(self._figures)

    def _repr_html_(self) -> str:
        answer = self.answer
        parts = [
            f"<h3>{_e(self.experiment)}</h3><p><i>{_e(self.goal)}</i></p>",
            (f"<p>{_badge(answer.severity)} <b>{_e(answer.title)}</b><br><small>{_e(answer.evidence)} "
             f"{_e(answer.suggestion)}</small></p>"),
            f"<p><b>{_e(trust_line([answer, *self.findings]))}</b></p>",
        ]
        if self.findings:
            parts.append('<ol start="2">' + "".join(  # numbered as `scitune next` cites them: the answer is 1
                f"<li>{_badge(f.severity)} <b>{_e(f.title)}</b><br><small>{_e(f.evidence)} <b>Do:</b> "
                f"{_e(f.suggestion)}</small></li>" for f in self.findings) + "</ol>")
        if self.passed:
            parts.append("<p><small>Passed: " + "; ".join(_e(p) for p in self.passed) + ".</small></p>")
        for title, caption, png in self.plots:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<h4>{_e(title)}</h4><p><small>{_e(caption)}</small></p>"
                         f'<img src="data:image/png;base64,{data}" style="max-width:100%">')
        return "<div>" + "".join(parts) + "</div>"

    def __repr__(self) -> str:
        return f"{self.experiment}: {self.answer.title} ({len(self.findings)} more findings)"


def report(store: Store | str | None, experiment: str, *, plots: bool = True) -> Report:
    """``scitune report`` in a notebook: the same checks and plots, shown inline; nothing is
    written (``scitune.write_report`` writes the HTML file)."""
    from scitune.analysis.findings import CHECKS
    from scitune.analysis.review import review
    from scitune.steps.report import build_plots, load

    data = load(_store(store), experiment)
    result = review(data.experiment, data.trials, data.metrics, data.studies, data.retrain)
    answer = next(f for f in result.findings if f.check == "goal")
    rest = [f for f in result.findings if f.check != "goal"]
    shown: list[tuple[str, str, bytes]] = []
    figures: list[Any] = []
    if plots:
        with tempfile.TemporaryDirectory() as folder:
            for plot in build_plots(data, result):
                path = plot.png(Path(folder) / f"{plot.key}.png")
                shown.append((plot.title, plot.caption, Path(path).read_bytes()))
                figures.append(plot.figure())
    return Report(data.experiment.name, data.experiment.goal, answer, rest, [CHECKS[c] for c in result.passed],
                  shown, figures)


# -- the next round --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Next:
    """What ``notebook.next_round`` returns: the planned next round (``planned.text`` is its file);
    ``write()`` writes it where ``scitune next`` would."""

    planned: Any  # scitune.steps.next_round.NextRound

    def write(self, path: str | Path | None = None, *, overwrite: bool = False) -> Path:
        from scitune.steps.next_round import write_next

        return write_next(self.planned, path, overwrite=overwrite)

    def _repr_html_(self) -> str:
        from scitune.steps.next_round import HEADLINES

        plan = self.planned.plan
        changes = "".join(f"<li>{_e(c.reason)}</li>" for c in plan.changes)
        notes = "".join(f"<li><small>{_e(n)}</small></li>" for n in plan.notes)
        return (f"<div><b>{_e(self.planned.name)}</b>: {_e(HEADLINES[plan.kind])}"
                + (f"<ul>{changes}</ul>" if changes else "") + (f"<ul>{notes}</ul>" if notes else "")
                + f"<pre>{_e(self.planned.text)}</pre><small>Nothing has run; <code>.write()</code> saves it to "
                f"{_e(self.planned.path)}.</small></div>")

    def __repr__(self) -> str:
        return self.planned.text


def next_round(store: Store | str | None, experiment: str, *, name: str | None = None,
               out: str | Path | None = None) -> Next:
    """``scitune next`` in a notebook: the next round's file, planned from the findings and shown
    with its changes; nothing is written until ``.write()``."""
    from scitune.steps.next_round import next_round as plan

    return Next(plan(_store(store), experiment, new_name=name, out=out))
