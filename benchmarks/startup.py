"""Start-up: ``scitune status`` on a small store and ``scitune run`` of one no-op trial, as whole
commands (interpreter start included), this checkout beside another (issue 18, goal 6).

``python -m benchmarks.startup [--before /path/to/other/src] [--repeat 7]``

In a scratch folder: an experiment of one study and one trial whose ``train`` reports once. Each
round runs, for each checkout in turn: ``scitune run exp.yaml`` into a new store, then
``scitune status`` on it. Beside them, the floors no scitune command goes below: ``python -c pass``
and ``python -c "import typer, sqlalchemy, pydantic"`` (the command line's parser, which imports
pydantic itself, and the store's SQL layer). Figures: the median over rounds of wall time and CPU
time (user + system of the command and its children), and the 1-minute load average. Prints one
JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO

EXPERIMENT = """\
experiment: probe
goal: How fast does a one-trial run start?
train: probe_train:train
objective: {metric: val_error, mode: min}
budget: {trials_per_study: 1, max_train_steps: 1, eval_every: 1}
search: {algorithm: quasi_random, seed: 0}
hyperparameters:
  nuisance:
    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
    weight_decay: {low: 1.0e-6, high: 1.0e-2, scale: log}
"""
TRAIN = "def train(hp, trial):\n    trial.report(1, val_error=0.5)\n"


def timed(argv: list[str], cwd: Path, src: str | None) -> dict[str, float]:
    """Wall and CPU seconds of one command (CPU: its own and its children's, from rusage)."""
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    if src is not None:
        env["PYTHONPATH"] = src
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"s": wall, "cpu_s": cpu}


def measure(checkouts: dict[str, str], repeat: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="scitune-bench-startup-") as tmp:
        folder = Path(tmp)
        (folder / "exp.yaml").write_text(EXPERIMENT)
        (folder / "probe_train.py").write_text(TRAIN)
        python = sys.executable
        floors = {"python -c pass": [python, "-c", "pass"],
                  "import typer, sqlalchemy, pydantic": [python, "-c", "import typer, sqlalchemy, pydantic"]}
        for i in range(repeat):
            loads.append(os.getloadavg()[0])
            for label, src in checkouts.items():
                store = folder / f"{label}-{i}.db"
                cmd = [python, "-m", "scitune"]
                runs.setdefault(f"{label}: run", []).append(timed([*cmd, "run", "exp.yaml", "--store", str(store)],
                                                                   folder, src))
                runs.setdefault(f"{label}: status", []).append(timed([*cmd, "status", "--store", str(store)],
                                                                      folder, src))
            for label, argv in floors.items():
                runs.setdefault(f"floor: {label}", []).append(timed(argv, folder, None))
    figures = {name: {"s": statistics.median(r["s"] for r in got), "cpu_s": statistics.median(r["cpu_s"] for r in got)}
               for name, got in runs.items()}
    return {"repeat": repeat, "figures": figures, "load_average_1min": {"min": min(loads), "max": max(loads)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="another checkout's src folder, measured beside this one")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    checkouts = {"after": str(REPO / "src")}
    if args.before:
        checkouts = {"before": args.before, **checkouts}
    result = measure(checkouts, args.repeat)
    for name, f in result["figures"].items():
        print(f"{name:45s} {f['s']:6.2f} s wall  {f['cpu_s']:6.2f} s CPU", file=sys.stderr)
    print(f"load average (1 min): {result['load_average_1min']}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
