"""optuna-dashboard on the same trials, for the side-by-side in BENCHMARKS.md.

``python benchmarks/dashboard_optuna.py [--trials 100000] [--evaluations 20] [--keep DIR] [--limit S]
[--scitune-store URL] [--json PATH]``

Plants the trials of benchmarks/dashboard_scale.py (the same hyperparameters and val_error curves,
the width as a categorical parameter, 5% failed, 20 intermediate values each) into an Optuna SQLite
storage fast: the schema and the study through ``optuna.storages.RDBStorage``, then the trials, their
parameters, values and intermediate values by ``executemany`` into Optuna's own tables; then checks
that ``optuna.load_study`` reads them back (count, states, a trial's params and intermediate values).
Starts ``optuna-dashboard`` (pip install optuna-dashboard) on a free loopback port in its own process
and times what its browser page asks for (the study listing, ``/api/studies/1``: every trial, as its
trial table and graphs need; the importance endpoint), each under a time limit (``--limit``; a
request that runs past it is recorded as not answered within it), with the sizes and the server's
peak memory. With ``--scitune-store`` (the store dashboard_scale.py planted with the same trials,
e.g. ``sqlite:////tmp/dash-scale/dash-scale.db``) it then times scitune's dashboard on it the same way,
in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_scale import free_port, get, hwm_mb, measure, planted_trials


def plant(path: Path, trials: int, evaluations: int) -> float:
    """The trials into an Optuna SQLite storage by bulk SQL into Optuna's own schema."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, distribution_to_json

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    started = time.perf_counter()
    url = f"sqlite:///{path}"
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(storage=storage, study_name="dash-scale", direction="minimize")
    study_id = storage.get_study_id_from_name("dash-scale")
    storage.engine.dispose()
    dists = {"width": CategoricalDistribution([64, 256]),
             "learning_rate": FloatDistribution(1e-4, 1e-1, log=True), "dropout": FloatDistribution(0.0, 0.5),
             "weight_decay": FloatDistribution(1e-6, 1e-2, log=True)}
    dist_json = {name: distribution_to_json(d) for name, d in dists.items()}
    steps = np.arange(1, evaluations + 1) * 10
    start = dt.datetime(2026, 1, 1)
    conn = sqlite3.connect(path)
    trial_rows, param_rows, value_rows, inter_rows = [], [], [], []
    for number, (s, _, hp, curve, bad) in enumerate(planted_trials(trials, evaluations)):
        trial_id = number + 1
        t0 = start + dt.timedelta(seconds=number)
        trial_rows.append((trial_id, number, study_id, "FAIL" if bad else "COMPLETE",
                           t0.isoformat(" "), (t0 + dt.timedelta(seconds=0.5)).isoformat(" ")))
        for name, value in {"width": (64, 256)[s], **hp}.items():
            param_rows.append((trial_id, name, float(dists[name].to_internal_repr(value)), dist_json[name]))
        if not bad:
            value_rows.append((trial_id, 0, float(curve.min()), "FINITE"))
        for j, (step, v) in enumerate(zip(steps, curve)):
            nan = bad and j > 3
            inter_rows.append((trial_id, int(step), None if nan else float(v), "NAN" if nan else "FINITE"))
        if len(trial_rows) == 10_000 or number == trials - 1:
            with conn:
                conn.executemany("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, "
                                 "datetime_complete) VALUES (?, ?, ?, ?, ?, ?)", trial_rows)
                conn.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                                 "VALUES (?, ?, ?, ?)", param_rows)
                conn.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                                 "VALUES (?, ?, ?, ?)", value_rows)
                conn.executemany("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                                 "intermediate_value_type) VALUES (?, ?, ?, ?)", inter_rows)
            trial_rows, param_rows, value_rows, inter_rows = [], [], [], []
    conn.close()
    return time.perf_counter() - started


def verify(path: Path, trials: int, evaluations: int) -> dict:
    """What Optuna reads back through ``optuna.load_study`` and its storage: the best value, and the
    first and last trials' state, params, value and intermediate values; the number of trials and
    failed ones by SQL. (Not ``study.trials``: reading every trial through Optuna's storage took over
    ten minutes and 4 GB here at 100,000 trials.)"""
    import optuna
    from optuna.trial import TrialState

    started = time.perf_counter()
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    study = optuna.load_study(study_name="dash-scale", storage=storage)
    study_id = storage.get_study_id_from_name("dash-scale")
    # Counted in SQL: Optuna's get_n_trials reads every trial through its ORM (minutes at 100,000).
    with sqlite3.connect(path) as conn:
        n, failed = conn.execute("SELECT count(*), sum(state = 'FAIL') FROM trials WHERE study_id = ?",
                                 (study_id,)).fetchone()
    assert n == trials, (n, trials)
    planted = planted_trials(trials, evaluations)
    first = next(planted)
    *_, last = planted
    for number, (s, _, hp, curve, bad) in ((0, first), (trials - 1, last)):
        got = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study_id, number))
        assert got.params["width"] == (64, 256)[s], got.params
        assert all(abs(got.params[k] - v) < 1e-9 * abs(v) + 1e-15 for k, v in hp.items()), (got.params, hp)
        assert len(got.intermediate_values) == evaluations
        assert (got.state == TrialState.FAIL) == bad
        if not bad:
            assert abs(got.value - float(curve.min())) < 1e-12
    return {"optuna_reads_trials": n, "optuna_reads_failed": failed, "optuna_best_value": study.best_value,
            "optuna_verify_s": round(time.perf_counter() - started, 1)}


def timed(url: str, limit: float) -> tuple[float | str, int | None]:
    """(seconds, bytes) of one GET, or "did not answer within N s"."""
    try:
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=limit) as r:
            body = r.read()
        return round(time.perf_counter() - t0, 3), len(body)
    except (TimeoutError, urllib.error.URLError) as err:
        if isinstance(err, urllib.error.HTTPError):
            return f"HTTP {err.code}", None
        return f"did not answer within {limit:.0f} s", None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--limit", type=float, default=300, help="seconds each optuna-dashboard request may take")
    parser.add_argument("--scitune-store", help="the store dashboard_scale.py planted with the same trials")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="optuna-dash-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "optuna.db"
    url = f"sqlite:///{path}"
    planted = None if path.exists() else plant(path, args.trials, args.evaluations)
    out: dict = {"trials": args.trials, "evaluations": args.evaluations, "plant_s": planted and round(planted, 1),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "loadavg_at_start": Path("/proc/loadavg").read_text().split()[0],
                 **verify(path, args.trials, args.evaluations)}
    exe = shutil.which("optuna-dashboard")
    if exe is None:
        sys.exit("optuna-dashboard is not installed: pip install optuna-dashboard")
    port = free_port()
    server = subprocess.Popen([exe, url, "--port", str(port), "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/api/meta")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(server.stderr.read().decode()) from None
                time.sleep(0.3)
        out["studies_s"], _ = timed(base + "/api/studies", args.limit)
        out["study_s"], out["study_bytes"] = timed(base + "/api/studies/1", args.limit)
        out["rss_after_study_mb"] = hwm_mb(server.pid)
        out["study_again_s"], _ = timed(base + "/api/studies/1", args.limit)
        out["importance_s"], _ = timed(base + "/api/studies/1/param_importances", args.limit)
        out["server_peak_rss_mb"] = hwm_mb(server.pid)
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
    out["loadavg_after_optuna"] = Path("/proc/loadavg").read_text().split()[0]
    if args.scitune_store:
        out["scitune"] = measure(args.scitune_store, args.trials)
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
