"""The dashboard at scale: 100,000 trials x 20 evaluations x 3 metrics (6 million points).

``python benchmarks/dashboard_scale.py [--trials 100000] [--evaluations 20] [--store URL] [--keep DIR] [--json PATH]``

Plants the trials with bulk SQL inserts into the store's own tables (a new SQLite file unless
``--store`` names an empty PostgreSQL database), starts ``scitune dashboard`` in its own process on a
free loopback port, and times what a browser asks for, over HTTP, as the browser would:

- ``first page``: the page shell, its script, and ``/api/experiments`` (which reads every trial and
  runs the report's checks on a cold server) — what stands between opening the URL and a table;
- ``experiment overview``: ``/api/e/NAME`` on the cold server (the per-study summary from SQL at
  once), then how long until the report's checks (answer, findings, importance; run in the
  dashboard's checks process) and ``/api/e/NAME/plots`` are on the page, then warm (cached until a
  trial changes);
- ``table page``: ``/api/e/NAME/trials`` pages (50 rows) deep in the table, sorted by id, by the
  objective, by a hyperparameter, and filtered by a range: the median of 5 requests each, while the
  checks run and after;
- ``version``: the poll a live page makes every second;
- ``server memory``: the dashboard process's peak resident set (VmHWM) at the end, and its checks
  process's.

Goals (issue 16): first page < 2 s, table page < 200 ms, overview < 3 s, server memory < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NAME = "dash-scale"
TEXT = f"""\
experiment: {NAME}
goal: Does a wider layer lower validation error (at dashboard scale)?
train: bench:train
objective: {{metric: val_error, mode: min}}
budget: {{trials_per_study: 50000, max_train_steps: 200, eval_every: 10}}
search: {{algorithm: quasi_random, seed: 0}}
hyperparameters:
  scientific: {{width: [64, 256]}}
  nuisance:
    learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
    dropout: {{low: 0.0, high: 0.5}}
    weight_decay: {{low: 1.0e-6, high: 1.0e-2, scale: log}}
  fixed: {{batch_size: 64}}
"""


def planted_trials(trials: int, evaluations: int):
    """The planted trials, study by study (2 studies of ``trials // 2``): (study index, number,
    nuisance hyperparameters, val_error curve, diverged). The same trials for scitune's store here and
    for Optuna's storage in dashboard_optuna.py (a diverged trial's values after its 4th are NaN)."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, evaluations + 1) * 10
    for s in range(2):
        n = trials // 2
        lr = 10 ** rng.uniform(-4, -1, n)
        dropout = rng.uniform(0, 0.5, n)
        wd = 10 ** rng.uniform(-6, -2, n)
        floor = 0.05 + 0.04 * (np.log10(lr) + 2.5) ** 2 + 0.05 * dropout + 0.02 * s
        diverged = rng.random(n) < 0.05
        for i in range(n):
            curve = floor[i] + 0.8 * np.exp(-steps / 40.0) + 0.002 * (steps / 200.0) + rng.normal(0, 0.003, len(steps))
            yield s, i, {"learning_rate": float(lr[i]), "dropout": float(dropout[i]), "weight_decay": float(wd[i])}, \
                curve, bool(diverged[i])


def plant(url: str, trials: int, evaluations: int) -> float:
    """Write the experiment through the Store, then its trials and points with bulk inserts."""
    sys.path.insert(0, str(REPO / "src"))
    from sqlalchemy import insert

    from scitune.config import parse_experiment
    from scitune.store import Store
    from scitune.store.schema import metrics as metrics_table
    from scitune.store.schema import trials as trials_table

    started = time.perf_counter()
    # The budget is capped at scitune's per-study limit; the bulk insert plants past it (the
    # dashboard reads what the store holds).
    from scitune.config.experiment import MAX_TRIALS_PER_STUDY

    exp = parse_experiment(TEXT.replace("50000", str(min(trials // 2, MAX_TRIALS_PER_STUDY))))
    store = Store(url)
    eid = store.ensure_experiment(exp.name, exp.goal, exp.canonical(), TEXT, "dash-scale.yaml")
    steps = np.arange(1, evaluations + 1) * 10
    now = time.time() - trials
    trial_id = 0
    sids = [store.ensure_study(eid, spec.name, spec.scientific, {"algorithm": "quasi_random"})
            for spec in exp.studies()]
    widths = [spec.scientific["width"] for spec in exp.studies()]
    batch = planted_trials(trials, evaluations)
    for s, sid in enumerate(sids):
        n = trials // 2
        for start in range(0, n, 5000):
            rows, points = [], []
            for _ in range(start, min(n, start + 5000)):
                _, i, hp, curve, bad = next(batch)
                trial_id += 1
                best = int(np.argmin(curve))
                t0 = now + trial_id
                rows.append({
                    "id": trial_id, "study_id": sid, "number": i, "seed": i, "attempts": 1, "host": "bench",
                    "params": {"batch_size": 64, "width": widths[s], **hp},
                    "state": "infeasible" if bad else "completed", "reason": "diverged: val_error is nan" if bad else None,
                    "created_at": t0, "started_at": t0, "finished_at": t0 + 0.5, "heartbeat_at": t0 + 0.5,
                    "best_step": None if bad else int(steps[best]), "best_value": None if bad else float(curve[best]),
                })
                for name, values in (("val_error", curve), ("val_loss", curve * 3), ("train_loss", curve * 0.8)):
                    points += [{"trial_id": trial_id, "name": name, "step": int(st),
                                "value": None if bad and j > 3 else float(v)} for j, (st, v) in enumerate(zip(steps, values))]
            with store.engine.begin() as conn:
                conn.execute(insert(trials_table), rows)
                conn.execute(insert(metrics_table), points)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:  # the ids were given: move the id sequence past them
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('trials', 'id'), (SELECT max(id) FROM trials))")
        # What autovacuum does within a minute or two of a bulk load (statistics, visibility map),
        # done at once so the first measured pages do not race it.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    store.close()
    return time.perf_counter() - started


def _planted_already(url: str) -> bool:
    sys.path.insert(0, str(REPO / "src"))
    from scitune.errors import ScituneError
    from scitune.store.readonly import ReadOnlyStore

    try:
        store = ReadOnlyStore(url)
        try:
            store.experiment(NAME)
            return True
        finally:
            store.close()
    except ScituneError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t0, len(body)


def hwm_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024


LIVE_TRAINER = """
import math, time

def train(hp, trial):
    for step in range(1, trial.max_train_steps + 1):
        time.sleep(hp["step_seconds"])
        if trial.should_eval(step):
            loss = (math.log10(hp["learning_rate"]) + 2.0) ** 2 + 1.0 / step
            trial.report(step, train_loss=loss, val_loss=loss + 0.1, val_error=loss / 10)
"""
LIVE = """\
experiment: live
goal: Does width change the toy trainer's validation error (trained while the dashboard serves 100,000 trials)?
train: livetrainer:train
objective: {metric: val_error, mode: min}
budget: {trials_per_study: TRIALS, max_train_steps: 20, eval_every: 2}
search: {algorithm: quasi_random, seed: 0}
hyperparameters:
  scientific: {width: [8, 16]}
  nuisance:
    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
  fixed: {step_seconds: 0.1}
"""


def live_updates(base: str, url: str, folder: Path, trials_per_study: int, pages: dict) -> dict:
    """``scitune run`` with 2 workers trains a small experiment into the big store while the dashboard
    serves it. Its ``/version`` is polled every 0.1 s (the page polls every 1 s): the delay from a
    trial's finish (its ``finished_at`` in the store) to the first poll that counts it; and the big
    experiment's table pages, timed meanwhile."""
    sys.path.insert(0, str(REPO / "src"))
    from scitune.store.readonly import ReadOnlyStore

    work = folder / "live"
    work.mkdir(exist_ok=True)
    (work / "livetrainer.py").write_text(LIVE_TRAINER)
    (work / "live.yaml").write_text(LIVE.replace("TRIALS", str(trials_per_study)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(work), str(REPO / "src")])}
    env.pop("SCITUNE_STORE", None)
    runner = subprocess.Popen([sys.executable, "-m", "scitune", "run", "live.yaml", "--store", url, "--workers", "2"],
                              cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: list[tuple[float, int]] = []  # (when, finished) at each poll
    version_ms: list[float] = []
    page_ms: dict[str, list[float]] = {label: [] for label in pages}
    labels = list(pages)
    started = time.time()
    try:
        k = 0
        while runner.poll() is None and time.time() - started < 600:
            try:
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"{base}/api/e/live/version", timeout=60) as r:
                    version = json.loads(r.read())
                version_ms.append(1000 * (time.perf_counter() - t0))
                seen.append((time.time(), version["finished"]))
            except urllib.error.HTTPError:  # the run has not written its experiment yet
                pass
            if k % 10 == 5:  # a table page of the big experiment about once a second
                label = labels[(k // 10) % len(labels)]
                page_ms[label].append(1000 * get(f"{base}/api/e/{NAME}/trials{pages[label]}")[0])
            k += 1
            time.sleep(0.1)
        if runner.returncode not in (0, None):
            raise RuntimeError("the live run failed: " + runner.stderr.read().decode()[-2000:])
    finally:
        if runner.poll() is None:
            os.kill(runner.pid, signal.SIGINT)
            runner.wait(timeout=60)
    store = ReadOnlyStore(url)
    frame = store.trials("live")
    store.close()
    finishes = sorted(float(f) for f in frame["finished_at"].dropna())
    delays = []
    for n, finished_at in enumerate(finishes, start=1):  # the n-th finish shows when a poll counts n
        shown = next((when for when, count in seen if count >= n), None)
        if shown is not None:
            delays.append(shown - finished_at)
    return {
        "live_trials": len(finishes), "live_run_s": round(time.time() - started, 1),
        "live_delay_s": {"median": round(statistics.median(delays), 3), "max": round(max(delays), 3),
                         "n": len(delays)} if delays else None,
        "live_version_ms_median": round(statistics.median(version_ms), 1) if version_ms else None,
        "table_page_ms_during_live": {label: round(statistics.median(v), 1) if v else None
                                      for label, v in page_ms.items()},
        "table_page_ms_during_live_max": round(max((x for v in page_ms.values() for x in v), default=0), 1),
    }


def measure(url: str, trials: int, folder: Path | None = None, live_trials: int = 0) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("SCITUNE_DASHBOARD_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "scitune", "dashboard", "--store", url, "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/static/style.css")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(server.stderr.read().decode()) from None
                time.sleep(0.2)
        shell, _ = get(base + "/")
        script, _ = get(base + "/static/app.js")
        plotly_js, _ = get(base + "/static/plotly.min.js")
        listing, listing_bytes = get(base + "/api/experiments")
        out["first_page_s"] = shell + script + listing
        out["first_page_bytes"] = listing_bytes
        out["plotly_js_s"] = plotly_js
        exp = f"{base}/api/e/{NAME}"
        asked = time.perf_counter()
        out["overview_first_s"], out["overview_first_bytes"] = get(exp)  # the summary at once; checks may follow
        pages = {
            "by id, offset 50,000": "?limit=50&offset=50000",
            "by objective, offset 50,000": "?limit=50&offset=50000&sort=best_value",
            "by objective, first page": "?limit=50&sort=best_value",
            "by learning_rate desc, offset 20,000": "?limit=50&offset=20000&sort=param:learning_rate&desc=1",
            "one study, lr in [1e-3, 1e-2], by objective": "?limit=50&study=width%3D64&range=learning_rate:0.001:0.01&sort=best_value",
            "infeasible only, by finish time": "?limit=50&state=infeasible&sort=finished_at&desc=1",
            "two ranges (lr, dropout), by objective": "?limit=50&range=learning_rate:0.001:0.01&range=dropout:0:0.2&sort=best_value",
            "completed + lr range, by lr, offset 5,000": "?limit=50&offset=5000&state=completed&range=learning_rate:0.001:0.01&sort=param:learning_rate",
        }

        def table_pages() -> dict:
            return {label: round(1000 * statistics.median(get(f"{exp}/trials{query}")[0] for _ in range(5)), 1)
                    for label, query in pages.items()}

        out["table_page_ms_while_checking"] = table_pages()
        while json.loads(urllib.request.urlopen(exp, timeout=600).read())["pending"]:
            time.sleep(0.5)
        out["checks_ready_s"] = time.perf_counter() - asked  # the answer, findings and importance on the page
        out["plots_s"], out["plots_bytes"] = get(exp + "/plots")
        out["overview_warm_s"], out["overview_bytes"] = get(exp)
        out["table_page_ms"] = table_pages()
        out["version_ms"] = round(1000 * statistics.median(get(exp + "/version")[0] for _ in range(5)), 1)
        out["trial_page_first_ms"] = round(1000 * get(f"{base}/api/t/{max(1, trials * 7 // 10)}")[0], 1)
        out["trial_page_ms"] = round(1000 * statistics.median(
            get(f"{base}/api/t/{max(1, trials * k // 10)}")[0] for k in (2, 5, 8)), 1)
        out["parallel_top1000_s"], _ = get(f"{exp}/parallel?study=width%3D64&top=1000&log=1")
        if live_trials and folder is not None:
            out.update(live_updates(base, url, folder, live_trials, pages))
            out["loadavg_after_live"] = Path("/proc/loadavg").read_text().split()[0]
        children = [c for task in Path(f"/proc/{server.pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
        out["checks_process_peak_rss_mb"] = max((hwm_mb(int(c)) for c in children), default=None)
        out["server_peak_rss_mb"] = hwm_mb(server.pid)
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--store", help="an empty PostgreSQL database URL (default: a new SQLite file)")
    parser.add_argument("--keep", type=Path, help="folder for the SQLite store (kept)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--live", type=int, default=8, metavar="N",
                        help="trials per study of the small experiment trained live by 2 workers (0: none)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dash-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.store or f"sqlite:///{folder / 'dash-scale.db'}"
    if not args.store and (folder / "dash-scale.db").exists():
        planted = None  # reuse a kept store
    elif args.store and _planted_already(args.store):
        planted = None  # a database this script planted before
    else:
        planted = plant(url, args.trials, args.evaluations)
    load = Path("/proc/loadavg").read_text().split()[0]
    result = {"trials": args.trials, "evaluations": args.evaluations, "metrics": 3,
              "store": url.split("@")[-1], "plant_s": planted and round(planted, 1), "loadavg_at_start": load,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              **measure(url, args.trials, folder, args.live)}
    goals = {"first page < 2 s": result["first_page_s"] < 2,
             "table page < 200 ms": max(result["table_page_ms"].values()) < 200,
             "overview < 3 s (summary; the checks fill in after checks_ready_s)": result["overview_first_s"] < 3,
             "server memory < 1 GB": result["server_peak_rss_mb"] < 1024}
    if result.get("live_delay_s"):
        goals["live update within 2 s of a finish (0.1 s polls; the page polls every 1 s)"] = result["live_delay_s"]["max"] < 2
    result["goals"] = goals
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not math.isfinite(result["first_page_s"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
