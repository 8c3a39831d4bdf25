"""The report at scale: 1,000 trials x 200 evaluations x 3 metrics.

``python benchmarks/report_scale.py [--trials 1000] [--evaluations 200] [--studies 2] [--keep DIR]``

Plants the data into a temporary SQLite store through the same calls the runner makes
(``Store.ensure_*``, ``claim``, ``finish``: one transaction per trial, its 600 points in it), then
builds the report in a fresh Python process so that its time and memory are its own, and prints:

- ``report build``: ``write_report`` (reading the store, the checks, every figure, the HTML page
  and the PNGs), after imports;
- ``imports``: loading scitune.report (pandas, scipy, plotly, matplotlib);
- ``command line``: ``scitune report`` end to end (interpreter start and imports included);
- ``HTML size`` of report.html (plotly.js is about 4.8 MB of it) and the PNGs' total;
- ``peak memory``: the report process's peak resident set (VmHWM), interpreter and imports
  included (the imports alone take about 190 MB).

Curves are synthetic (a decay whose floor depends on the learning rate, some overfitting, noise) and
5% of trials diverge, so every check and plot has work to do.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from scitune.steps.report import write_report
from scitune.store import Store
imported = time.perf_counter() - t0
t1 = time.perf_counter()
report = write_report(Store(sys.argv[1]), sys.argv[2], sys.argv[3])
built = time.perf_counter() - t1
status = open("/proc/self/status").read()
hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
print(json.dumps({"imports_s": imported, "build_s": built, "rss_mb": hwm / 1024,
                  "findings": [f"{f.severity}: {f.title}" for f in report.findings]}))
"""


def experiment_text(trials_per_study: int, evaluations: int, studies: int) -> str:
    widths = ", ".join(str(64 * 2**i) for i in range(studies))
    return textwrap.dedent(f"""\
        experiment: report-scale
        goal: Does a wider hidden layer lower validation error (at report scale)?
        train: bench:train
        objective: {{metric: val_error, mode: min}}
        budget: {{trials_per_study: {trials_per_study}, max_train_steps: {evaluations * 10}, eval_every: 10}}
        hyperparameters:
          scientific: {{width: [{widths}]}}
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
            one_minus_beta1: {{low: 1.0e-2, high: 0.3, scale: log}}
            weight_decay: {{low: 1.0e-6, high: 1.0e-2, scale: log}}
          fixed: {{batch_size: 64}}
        """)


def plant(store_path: Path, trials: int, evaluations: int, studies: int) -> float:
    """Write the experiment and every trial's curves into the store; returns seconds taken."""
    import numpy as np

    from scitune.config import parse_experiment
    from scitune.search import QuasiRandomSearch
    from scitune.store import Store

    start = time.perf_counter()
    text = experiment_text(trials // studies, evaluations, studies)
    experiment = parse_experiment(text)
    store = Store(str(store_path))
    eid = store.ensure_experiment(experiment.name, experiment.goal, experiment.canonical(), text)
    search = QuasiRandomSearch(experiment.space, 0)
    for spec in experiment.studies():
        scientific = spec.scientific
        sid = store.ensure_study(eid, spec.name, scientific, search.describe())
        points = search.points(0, trials // studies, {**experiment.fixed, **scientific})
        store.ensure_trials(sid, [(n, {**experiment.fixed, **scientific, **p}, n) for n, p in enumerate(points)])
    steps = np.arange(1, evaluations + 1) * 10
    t = steps / steps[-1]
    rng = np.random.default_rng(0)
    while (claimed := store.claim(eid, "bench", "host")) is not None:
        p = claimed.params
        lr = math.log10(p["learning_rate"])
        if lr > -1.2 and rng.random() < 0.5:  # some of the highest learning rates diverge
            store.finish(
                claimed.id,
                "bench",
                "infeasible",
                [(10, "train_loss", float("nan"))],
                None,
                "train_loss was NaN at step 10",
            )
            continue
        floor = 0.03 + 0.02 * (lr + 2.5) ** 2 + 0.01 * math.log2(p["width"] / 64) * -0.2
        val = floor + 0.9 * np.exp(-t / 0.15) + 0.02 * np.clip(t - 0.6, 0, None) + rng.normal(0, 0.002, len(t))
        train = 0.5 * floor + 2.0 * np.exp(-t / 0.12) + rng.normal(0, 0.004, len(t))
        rows = [
            (int(s), name, float(v))
            for name, curve in (("val_error", val), ("val_loss", 3 * val), ("train_loss", train))
            for s, v in zip(steps, curve)
        ]
        best = int(np.argmin(val))
        store.finish(claimed.id, "bench", "completed", rows, (int(steps[best]), float(val[best])))
    store.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials in all (split evenly over the studies)")
    parser.add_argument("--evaluations", type=int, default=200, help="evaluations per trial (3 metrics each)")
    parser.add_argument("--studies", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep the store and the report")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="scitune-report-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    store, out = folder / "store.db", folder / "report"
    if store.exists():
        store.unlink()
    planted = plant(store, args.trials, args.evaluations, args.studies)
    points = args.trials * args.evaluations * 3
    print(
        f"planted {args.trials} trials x {args.evaluations} evaluations x 3 metrics ({points:,} points) "
        f"in {planted:.1f} s; store {store.stat().st_size / 1e6:.0f} MB"
    )

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), "report-scale", str(out)], capture_output=True, text=True, check=True
    )
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    html = (out / "report.html").stat().st_size
    pngs = sum(p.stat().st_size for p in out.glob("*.png"))

    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scitune",
            "report",
            "report-scale",
            "--store",
            str(store),
            "--out",
            str(folder / "cli-report"),
        ],
        capture_output=True,
        check=True,
    )
    command = time.perf_counter() - start
    command_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(f"report build      {measured['build_s']:6.2f} s   (write_report: store, checks, figures, HTML, PNGs)")
    print(f"imports           {measured['imports_s']:6.2f} s")
    print(f"command line      {command:6.2f} s   (scitune report, end to end)")
    print(f"HTML size         {html / 1e6:6.2f} MB  (plotly.js embedded once: ~4.8 MB); PNGs {pngs / 1e6:.2f} MB")
    print(
        f"peak memory       {measured['rss_mb']:6.0f} MB  (report process, VmHWM, imports included); "
        f"command line {command_rss:.0f} MB"
    )
    print("findings:\n  " + "\n  ".join(measured["findings"]))
    print(f"files in {folder}" if args.keep else f"(temporary files in {folder})")


if __name__ == "__main__":
    main()
