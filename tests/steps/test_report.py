"""The report end to end: from a real store to files, the Python API's findings, and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_cli
from planted import make_planted_store, planted_experiment
from scitune.cli import app
from scitune.config import parse_experiment
from scitune.errors import ConfigError, NotFoundError
from scitune.steps.report import findings, write_report
from scitune.store import Store


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_planted_store(tmp_path_factory.mktemp("store"))


@pytest.mark.slow
def test_report_files_and_findings(planted_store: Path, tmp_path: Path) -> None:
    report = write_report(Store(str(planted_store)), "planted", tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "axis.png",
        "best-steps.png",
        "curves.png",
        "findings.json",
        "isolation-width.png",
        "report.html",
        "trial-budget.png",
    ]
    assert [p.name for p in report.pngs] == [
        "isolation-width.png",
        "axis.png",
        "trial-budget.png",
        "curves.png",
        "best-steps.png",
    ]
    checks = [f.check for f in report.findings]
    assert checks[0] == "goal" and "boundary" in checks and "overfitting" in checks
    assert report.findings[0].data["ranking"][0]["retrain_mean"] == pytest.approx(0.1173, abs=1e-4)

    saved = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert saved["findings"] == [f.to_dict() for f in report.findings]
    assert saved["settings"]["edge_fraction"] == 0.1 and "noise" in saved["passed"]
    # The Python API gives the same findings as plain data.
    assert [f.to_dict() for f in findings(Store(str(planted_store)), "planted")] == saved["findings"]


@pytest.mark.slow
def test_html_is_self_contained_with_the_library_once(planted_store: Path, tmp_path: Path) -> None:
    report = write_report(Store(str(planted_store)), "planted", tmp_path, png=False)
    page = report.html.read_text()
    assert len(page) < 8e6 and report.pngs == []
    assert len(re.findall(r"\* plotly\.js v\d", page)) == 1  # the library's banner: embedded exactly once
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?http|@import", page)  # nothing to fetch
    assert page.count('class="scitune-plot"') == 5 and 'data-plots="5"' in page
    # The goal first, then the findings, then the plots.
    goal, findings_at, plots_at = (
        page.index("Does a wider layer"),
        page.index('id="findings"'),
        page.index('id="plots"'),
    )
    assert goal < page.index('id="answer"') < findings_at < plots_at
    assert "raise learning_rate&#x27;s high bound" in page


def test_thresholds_from_the_experiment_file(planted_store: Path, tmp_path: Path) -> None:
    experiment, _ = planted_experiment(trials=16, report="{edge_fraction: 0.01, overfit_rise: 50}")
    result = findings(Store(str(planted_store)), "planted", experiment.report_settings)
    assert not {"boundary", "overfitting"} & {f.check for f in result}


def test_report_settings_are_validated() -> None:
    text = planted_experiment()[1]
    with pytest.raises(ConfigError, match=r"report\.edge_frac: unknown key"):
        parse_experiment(text + "report: {edge_frac: 0.2}\n", "e.yaml")
    with pytest.raises(ConfigError, match=r"report\.edge_fraction: .*less than 0.5"):
        parse_experiment(text + "report: {edge_fraction: 0.7}\n", "e.yaml")
    # Without a report section the stored definition is unchanged (no report key at all).
    assert "report" not in parse_experiment(text).canonical()


@pytest.mark.slow
def test_the_command(planted_store: Path, tmp_path: Path) -> None:
    done = run_cli("report", "planted", "--store", str(planted_store), "--out", "rep", "--no-png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for words in (
        "planted: Does a wider layer",
        "answer",
        "width=256 leads on val_error",  # width=64 has no reruns: not settled until it has
        "WARNING",
        "learning_rate: best trials at the high edge",
        "→ raise learning_rate's high bound",
        "Checked, nothing to report",
        "report: rep/report.html",
    ):
        assert words in text, words
    assert (tmp_path / "rep" / "report.html").exists() and not (tmp_path / "rep" / "axis.png").exists()

    # The mistakes, in process (the subprocess above already showed how errors are printed).
    (tmp_path / "other.yaml").write_text(planted_experiment("other")[1])
    runner = CliRunner()
    wrong = runner.invoke(
        app, ["report", "planted", "--store", str(planted_store), "--file", str(tmp_path / "other.yaml")]
    )
    assert isinstance(wrong.exception, ConfigError) and "is experiment 'other', not 'planted'" in str(wrong.exception)
    missing = runner.invoke(app, ["report", "nope", "--store", str(planted_store)])
    assert isinstance(missing.exception, NotFoundError) and "no experiment named 'nope'" in str(missing.exception)
    helped = runner.invoke(app, ["report", "--help"])
    assert all(flag in helped.output for flag in ("--out", "--file", "--no-png", "--store"))
