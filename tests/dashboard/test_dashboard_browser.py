"""The dashboard in a real browser, live: a ``scitune run`` trains in the background while
``scitune dashboard`` (a subprocess on a free loopback port, stopped by its pid) serves the store,
and Debian's headless Chromium watches. The experiment page must update as trials finish, the
trial table must page and sort, text holding HTML must stay text, and no JavaScript error may occur.
A screenshot goes to pytest's tmp folder, and to ``$SCITUNE_SCREENSHOT_DIR`` when set (that is how
docs/dashboard.png is made). Without Chromium the test skips locally and fails in CI."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import headless_chromium
from planted import HOSTILE, TRAINER, experiment_yaml, make_hostile_store
from scitune.store.readonly import ReadOnlyStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]



ROW_IDS = "return Array.from(document.querySelectorAll('table.trials tbody tr')).map(r => +r.dataset.id)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def severe(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_page(driver, url: str) -> None:  # type: ignore[no-untyped-def]
    driver.get(url)
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready"), 60, f"{url} to load")
    assert driver.execute_script("return document.body.dataset.ready") == "1", driver.find_element("id", "main").text


def range_text(driver) -> str:  # type: ignore[no-untyped-def]
    """The pager's "first–last of total" (read by script: the table and pager are redrawn often)."""
    return driver.execute_script("const r = document.getElementById('range'); return r ? r.textContent.trim() : ''")


def screenshot(driver, path: Path) -> Path:  # type: ignore[no-untyped-def]
    height = min(driver.execute_script("return document.documentElement.scrollHeight"), 2400)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.fixture
def live(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A store holding the hostile experiment, a run (two workers) training another one into it, and the dashboard."""
    db = make_hostile_store(tmp_path)
    (tmp_path / "toytrainer.py").write_text(TRAINER)
    (tmp_path / "live.yaml").write_text(experiment_yaml(
        "live", trials=6, steps=20, eval_every=2, fixed="{behaviour: ok, step_seconds: 0.3}"))
    env = {k: v for k, v in os.environ.items() if k not in ("SCITUNE_STORE", "SCITUNE_DASHBOARD_TOKEN")}
    inherited = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]  # cwd changes
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), *inherited])
    runner = subprocess.Popen([sys.executable, "-m", "scitune", "run", "live.yaml", "--store", str(db), "--workers", "2"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = free_port()
    server = None
    try:
        wait_for(lambda: "live" in [e.name for e in ReadOnlyStore(str(db)).experiments()], 60, "the run to start")
        server = subprocess.Popen([sys.executable, "-m", "scitune", "dashboard", "--store", str(db), "--port", str(port)],
                                  cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def up() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/experiments", timeout=30).status == 200
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                return False

        wait_for(up, 60, "the dashboard to answer")
        yield f"http://127.0.0.1:{port}", runner, db
    finally:
        stop(runner)
        if server is not None:
            stop(server)


def test_the_dashboard_updates_live_pages_sorts_and_shows_html_as_text(browser, live, tmp_path: Path, capsys) -> None:
    base, runner, _ = live
    open_page(browser, f"{base}/e/live")
    first = int(wait_for(lambda: browser.execute_script("return document.body.dataset.updated"), 60,
                         "the checks' first result"))
    assert first < 12, "the run finished before the page first drew: nothing live was seen (slow machine?)"
    # As trials finish, the page redraws itself (it polls a version key every second).
    later = wait_for(lambda: int(browser.execute_script("return document.body.dataset.updated")) > first and
                     int(browser.execute_script("return document.body.dataset.updated")), 90, "the page to update")
    assert later > first
    assert runner.wait(timeout=180) == 0, runner.stderr.read().decode()
    wait_for(lambda: browser.execute_script("return document.body.dataset.updated") == "12", 30,
             "the page to show every trial")
    figures = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.scitune-plot')).map(f => "
        "f.querySelector('.main-svg') !== null)")
    assert len(figures) == 5 and all(figures)
    shot = screenshot(browser, tmp_path / "dashboard.png")
    if os.environ.get("SCITUNE_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["SCITUNE_SCREENSHOT_DIR"]) / "dashboard.png")
    assert severe(browser) == []

    # The trial table: 5 a page, next page, then sorted by the objective.
    open_page(browser, f"{base}/e/live/trials?limit=5")
    wait_for(lambda: range_text(browser) == "1–5 of 12", 20, "the first page")
    first_ids = browser.execute_script(ROW_IDS)
    browser.execute_script("document.getElementById('next').click()")
    wait_for(lambda: range_text(browser) == "6–10 of 12", 20, "the second page")
    ids = browser.execute_script(ROW_IDS)
    assert ids == [first_ids[0] + 5 + i for i in range(5)] and first_ids == [first_ids[0] + i for i in range(5)]
    browser.execute_script("document.querySelector(\"th[data-col='best_value']\").click()")
    wait_for(lambda: range_text(browser) == "1–5 of 12", 20, "the sorted first page")
    column = browser.execute_script(
        "const i = Array.from(document.querySelectorAll('table.trials th')).findIndex(t => t.dataset.col === 'best_value');"
        "return Array.from(document.querySelectorAll('table.trials tbody tr')).map(r => +r.children[i].textContent)")
    assert column == sorted(column) and len(column) == 5
    assert severe(browser) == []

    # Text holding HTML and script stays text, on every page that shows it.
    for path in ("/", "/e/hostile", "/e/hostile/trials?state=infeasible"):
        open_page(browser, base + path)
        assert browser.execute_script("return window.__pwned") is None, path
        assert browser.execute_script("return document.querySelectorAll('#main img, #main script').length") == 0, path
        assert HOSTILE in browser.find_element("id", "main").text, path
    assert severe(browser) == []

    # A trial page and the parallel coordinates draw.
    open_page(browser, f"{base}/t/1")
    assert browser.execute_script("return document.querySelector('.main-svg') !== null")
    open_page(browser, f"{base}/e/live/parallel?top=4&log=1")
    assert browser.execute_script("return document.querySelector('#parallel .parcoords') !== null || "
                                  "document.querySelector('#parallel .main-svg') !== null")
    assert severe(browser) == []
    with capsys.disabled():
        print(f"\nscreenshot of the dashboard: {shot}")
