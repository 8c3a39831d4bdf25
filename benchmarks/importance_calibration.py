"""How often "X barely matters here" is said, on simulated studies whose truth is known.

``python benchmarks/importance_calibration.py [--studies 200] [--trials 50] [--json PATH]``

Each simulated study is a quasi-random search (scitune's own sequence, a new seed per study) over
three nuisance hyperparameters: ``a`` (log scale, a strong effect), ``b`` (linear, a strong effect)
and ``c`` (linear, effect ``w`` × (c - 0.5)²), objective = (log10 a + 2.5)² + 3 (b - 0.3)² + w (c - 0.5)²
+ Gaussian noise (sd 0.05). The finding's rule (:func:`scitune.analysis.importance.barely_matters`
at the report's threshold) is applied to each study. Printed per setting of ``w``:

- ``w = 0`` (c does nothing): the detection rate, how often c is said to barely matter;
- ``w = 0.3`` (c moves the objective by at most 0.075 over its range, next to 1.5 for b): how often
  a tiny effect is called negligible (the rule's intent);
- ``w = 3`` (c moves it by up to 0.75, half of b's range: it matters): the false-alarm rate;
- on a and b (strong) in every setting: the false-alarm rate on parameters that clearly matter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scitune.analysis.findings.importance_checks import BARELY_SHARE
from scitune.analysis.importance import barely_matters, study_importance
from scitune.config import parse_experiment
from scitune.search import QuasiRandomSearch

TEXT = """\
experiment: calibration
goal: calibrate the importance finding
train: none:train
objective: {metric: val_error, mode: min}
budget: {trials_per_study: 50, max_train_steps: 100, eval_every: 10}
search: {algorithm: quasi_random, seed: 0}
hyperparameters:
  nuisance:
    a: {low: 1.0e-4, high: 1.0e-1, scale: log}
    b: {low: 0.0, high: 1.0}
    c: {low: 0.0, high: 1.0}
"""


def simulate(space, n: int, seed: int, w: float) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    rows = []
    for i, p in enumerate(QuasiRandomSearch(space, seed).points(0, n, {})):
        value = (np.log10(p["a"]) + 2.5) ** 2 + 3 * (p["b"] - 0.3) ** 2 + w * (p["c"] - 0.5) ** 2 + rng.normal(0, 0.05)
        rows.append({"study": "s", "trial": i, "state": "completed", "params": p, "best_value": float(value)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--weights", default="0,0.3,3")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    space = parse_experiment(TEXT).space
    results = {}
    for w in [float(x) for x in args.weights.split(",")]:
        started = time.perf_counter()
        flagged = {"a": 0, "b": 0, "c": 0}
        for seed in range(args.studies):
            found = study_importance(simulate(space, args.trials, 1000 + seed, w), space, "min", "s", seed=seed)
            for name in barely_matters([found] if found else [], BARELY_SHARE):
                flagged[name] += 1
        rates = {k: v / args.studies for k, v in flagged.items()}
        results[str(w)] = {"studies": args.studies, "trials": args.trials, "rates": rates,
                           "seconds": round(time.perf_counter() - started, 1)}
        print(f"w={w}: said to barely matter: c {rates['c']:.1%}, a {rates['a']:.1%}, b {rates['b']:.1%} "
              f"({args.studies} studies of {args.trials} trials, {results[str(w)]['seconds']} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
