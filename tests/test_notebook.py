"""The notebook face: each call's record shows inline (``_repr_html_``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planted import make_planted_store
from scitune import define_experiment, notebook
from scitune.store import Store


def train(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        if trial.should_eval(step):
            trial.report(step, val_error=abs(hp["learning_rate"] - 0.01) + 1.0 / step)


def test_check_and_run_show_inline(tmp_path: Path) -> None:
    loaded = define_experiment("nb", "Does it train?", train, objective="val_error",
                               budget={"trials_per_study": 3, "max_train_steps": 4, "eval_every": 2},
                               nuisance={"learning_rate": {"low": 1e-4, "high": 1e-1}})  # linear: a warning
    shown = notebook.check(loaded)._repr_html_()
    assert "learning_rate_linear" in shown and "Designing the next round of experiments" in shown

    result = notebook.run(loaded, str(tmp_path / "s.db"))
    html = result._repr_html_()
    assert "3 completed" in html and "<table" in html and "best_objective" in html
    assert result.review.warnings[0].rule == "learning_rate_linear"


@pytest.mark.slow
def test_the_report_shows_the_answer_and_findings_numbered_as_next_cites_them(tmp_path: Path) -> None:
    store = Store(str(make_planted_store(tmp_path)))
    report = notebook.report(store, "planted", plots=False)
    page = report._repr_html_()
    assert report.answer.check == "goal" and report.answer.title in page.replace("&#x27;", "'")
    assert '<ol start="2">' in page and "learning_rate: best trials at the high edge" in page
    assert "Before trusting this answer" in page


def test_the_progress_bar_counts_finished_trials() -> None:
    bar = notebook.NotebookProgress()
    text = bar.html(3, {"infeasible": 1, "failed": 0}, 0.25)
    assert '<progress value="3"' in text and "infeasible 1" in text and "best 0.25" in text


@pytest.mark.slow
def test_the_report_embeds_its_plots(tmp_path: Path) -> None:
    report = notebook.report(Store(str(make_planted_store(tmp_path))), "planted")
    page = report._repr_html_()
    assert page.count('<img src="data:image/png;base64,') == len(report.plots) >= 4
    assert len(report.figures()) == len(report.plots)
