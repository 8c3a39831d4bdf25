"""The report in a real browser: Debian's headless Chromium opens report.html offline, runs the
plotting library, and every plot must render with no JavaScript error. A full-page screenshot is
written to pytest's tmp folder (its path is printed).

Chromium and chromedriver come from Debian (``.ci/run`` installs them); nothing is downloaded at
test time. Without them the test skips locally and fails in CI (CI=true), so a missing browser is
never mistaken for a pass."""

from __future__ import annotations

import base64
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import headless_chromium
from planted import make_planted_store
from scitune.steps.report import write_report
from scitune.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# No name resolves: a page that tried to fetch anything (a CDN) would log an error here.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND"]

# For each figure of the page: did plotly draw its SVG, and how many data traces are in it?
COUNT_RENDERED = """
return Array.from(document.querySelectorAll('figure.scitune-plot')).map(f => ({
  key: f.dataset.plot,
  svg: f.querySelector('.js-plotly-plot .main-svg') !== null,
  traces: f.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length,
}));
"""


@dataclass
class PageCheck:
    expected: int  # plots the page says it has
    figures: list[dict]
    errors: list[str]  # SEVERE console entries: uncaught exceptions, failed loads

    @property
    def rendered(self) -> list[str]:
        return [f["key"] for f in self.figures if f["svg"] and f["traces"] > 0]


@pytest.fixture(scope="module")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_planted_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile"), OFFLINE) as driver:
        yield driver


def open_page(driver, page: Path, timeout: float = 30.0) -> PageCheck:
    driver.get(page.as_uri())
    expected = int(driver.execute_script("return document.body.dataset.plots || 0"))
    deadline = time.monotonic() + timeout
    while True:  # plotly draws right after load; wait until every figure has its SVG (or give up)
        figures = driver.execute_script(COUNT_RENDERED)
        if all(f["svg"] for f in figures) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return PageCheck(expected, figures, errors)


def screenshot(driver, path: Path) -> Path:
    """The whole page, not just the window."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_every_plot_renders_without_errors(browser, report_store: Path, tmp_path: Path, capsys) -> None:
    report = write_report(Store(str(report_store)), "planted", tmp_path / "report", png=False)
    check = open_page(browser, report.html)
    assert check.errors == []
    assert check.expected == 5 and len(check.figures) == 5
    assert check.rendered == ["isolation-width", "axis", "trial-budget", "curves", "best-steps"], check.figures
    assert (
        browser.execute_script("return document.querySelectorAll('article.finding').length") == len(report.findings) - 1
    )
    shot = screenshot(browser, tmp_path / "report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\nscreenshot of the report: {shot}")


def test_the_check_catches_a_throwing_script_and_a_missing_library(
    browser,
    report_store: Path,
    tmp_path: Path,
) -> None:
    report = write_report(Store(str(report_store)), "planted", tmp_path / "report", png=False)
    page = report.html.read_text()

    throwing = tmp_path / "throwing.html"
    throwing.write_text(page.replace("</body>", "<script>throw new Error('planted failure')</script></body>"))
    check = open_page(browser, throwing)
    assert any("planted failure" in e for e in check.errors) and len(check.rendered) == 5

    start = page.index('<script type="text/javascript">')
    end = page.index("</script>", start) + len("</script>")
    bare = tmp_path / "no-library.html"
    bare.write_text(page[:start] + page[end:])  # the report without its embedded plotly.js
    check = open_page(browser, bare, timeout=3)
    assert check.rendered == [] and check.expected == 5
    assert any("Plotly is not defined" in e for e in check.errors), check.errors
    shutil.rmtree(tmp_path / "report")
