"""optuna-dashboard on the same kind of trials, for the side-by-side in BENCHMARKS.md.

``python benchmarks/dashboard_optuna.py [--trials 10000] [--evaluations 20] [--keep DIR] [--json PATH]``

Plants ``--trials`` trials (the same planted curves as benchmarks/dashboard_scale.py: three
hyperparameters, 20 intermediate values each, 5% failed) into an Optuna SQLite storage through
Optuna's own ``Study.add_trials``, starts ``optuna-dashboard`` (pip install optuna-dashboard) on a
free loopback port in its own process, and times what its browser page asks for: the study
listing, ``/api/studies/1`` (every trial, as its trial table and graphs need) and the importance
endpoint, with the response sizes and the server's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_scale import free_port, get, hwm_mb


def plant(url: str, trials: int, evaluations: int) -> float:
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    steps = np.arange(1, evaluations + 1) * 10
    dists = {"learning_rate": FloatDistribution(1e-4, 1e-1, log=True), "dropout": FloatDistribution(0.0, 0.5),
             "weight_decay": FloatDistribution(1e-6, 1e-2, log=True)}
    study = optuna.create_study(storage=url, study_name="dash-scale", direction="minimize")
    batch = []
    for _ in range(trials):
        params = {"learning_rate": float(10 ** rng.uniform(-4, -1)), "dropout": float(rng.uniform(0, 0.5)),
                  "weight_decay": float(10 ** rng.uniform(-6, -2))}
        floor = 0.05 + 0.04 * (np.log10(params["learning_rate"]) + 2.5) ** 2 + 0.05 * params["dropout"]
        curve = floor + 0.8 * np.exp(-steps / 40.0) + rng.normal(0, 0.003, len(steps))
        bad = rng.random() < 0.05
        batch.append(create_trial(
            state=TrialState.FAIL if bad else TrialState.COMPLETE, value=None if bad else float(curve.min()),
            params=params, distributions=dists,
            intermediate_values={int(s): float(v) for s, v in zip(steps, curve)}))
        if len(batch) == 1000:
            study.add_trials(batch)
            batch = []
    study.add_trials(batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="optuna-dash-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "optuna.db"
    url = f"sqlite:///{path}"
    planted = None if path.exists() else plant(url, args.trials, args.evaluations)
    exe = shutil.which("optuna-dashboard")
    if exe is None:
        sys.exit("optuna-dashboard is not installed: pip install optuna-dashboard")
    port = free_port()
    server = subprocess.Popen([exe, url, "--port", str(port), "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"trials": args.trials, "evaluations": args.evaluations, "plant_s": planted and round(planted, 1)}
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
        out["studies_s"], _ = get(base + "/api/studies")
        out["study_s"], out["study_bytes"] = get(base + "/api/studies/1")
        out["study_again_s"], _ = get(base + "/api/studies/1")
        out["importance_s"], _ = get(base + "/api/studies/1/param_importances")
        out["server_peak_rss_mb"] = hwm_mb(server.pid)
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
