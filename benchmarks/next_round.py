"""How often does ``scitune next`` choose the right next step? Rates over many simulated studies.

Each simulated round is the planted two-study experiment of tests/planted.py (width 64 and 256;
learning rate on a log range [1e-4, 1e-1] and dropout on [0, 0.5] as nuisance; 16 trials per
study, 1000 steps), with its own quasi-random seed and its own noise on every trial's result
(Gaussian, sd ``NOISE``). Its findings (:func:`scitune.analysis.review.review`) go to the planner
(:func:`scitune.analysis.next_round.plan_next`), and we count what it did in each scenario where the
right answer is known by construction:

=============  ========================================================  =============================
scenario       planted truth                                             right next step
=============  ========================================================  =============================
``edge``       the best learning rate (1.0) lies a decade above the range  widen learning_rate's high bound
``inside``     the best learning rate (10^-2.5) is mid-range, curves clean  no widening, no step change
``improving``  curves still falling steeply at the last step             double max_train_steps
``tie``        both widths equally good                                  a retrain plan (not settled)
``apart``      width 256 better by 0.05 (ten noise sds)                  no retrain plan
=============  ========================================================  =============================

``python -m benchmarks.next_round [--sims N] [--json PATH]``; ``run(quick)`` for a harness.
BENCHMARKS.md ("The next round") records a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NOISE = 0.005  # sd of each trial's objective around its planted value
SCENARIOS = ("edge", "inside", "improving", "tie", "apart")


def _planted() -> Any:
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))  # the planted builders the tests use
    import planted

    return planted


def simulate(scenario: str, seed: int) -> dict[str, Any]:
    """One simulated round of ``scenario``: what the planner changed."""
    from scitune.analysis.next_round import plan_next
    from scitune.analysis.review import review
    from scitune.config import parse_experiment

    p = _planted()
    _, text = p.planted_experiment(f"sim-{scenario}", trials=16)
    text = text.replace("hyperparameters:", f"search: {{algorithm: quasi_random, seed: {seed}}}\nhyperparameters:")
    experiment = parse_experiment(text)
    optimum = 1.0 if scenario == "edge" else 10**-2.5
    kind = "improving" if scenario == "improving" else "clean"
    offset = {"apart": {"width=64": 0.05}}.get(scenario, {})
    base = p.shaped_outcome(kind, optimum=optimum, study_offset=lambda s: offset.get(s, 0.0))
    rng = np.random.default_rng(10_000 + seed)

    def outcome(study: str, number: int, params: dict[str, Any]) -> Any:
        result = base(study, number, params)
        shift = float(rng.normal(0, NOISE))
        return result._replace(curves={k: v + shift for k, v in result.curves.items()})

    trials, metrics = p.planted_frames(experiment, outcome)
    plan = plan_next(experiment, review(experiment, trials, metrics))
    widened = {c.path[2] + ":" + c.path[3] for c in plan.changes if c.path[0] == "hyperparameters"}
    steps = next((c.new for c in plan.changes if c.path == ("budget", "max_train_steps")), None)
    budget = next((c.new for c in plan.changes if c.path == ("budget", "trials_per_study")), None)
    return {"scenario": scenario, "seed": seed, "kind": plan.kind, "widened": sorted(widened),
            "max_train_steps": steps, "trials_per_study": budget, "retrains": bool(plan.retrains)}


def rates(sims: int) -> dict[str, Any]:
    """Each scenario's rate of the right next step (and of the wrong ones), over ``sims`` seeds."""
    runs = {s: [simulate(s, seed) for seed in range(sims)] for s in SCENARIOS}
    share = lambda xs: sum(xs) / len(xs)
    return {
        "sims": sims,
        "edge_widens_learning_rate_high": share(["learning_rate:high" in r["widened"] for r in runs["edge"]]),
        "inside_widens_anything": share([bool(r["widened"]) for r in runs["inside"]]),
        "inside_changes_step_budget": share([r["max_train_steps"] is not None for r in runs["inside"]]),
        "inside_doubles_trials": share([r["trials_per_study"] == 32 for r in runs["inside"]]),
        "improving_doubles_step_budget": share([r["max_train_steps"] == 2000 for r in runs["improving"]]),
        "tie_plans_retrains": share([r["retrains"] for r in runs["tie"]]),
        "apart_plans_retrains": share([r["retrains"] for r in runs["apart"]]),
        "inside_kinds": {k: share([r["kind"] == k for r in runs["inside"]])
                         for k in ("explore", "exploit", "settle", "done")},
    }


def run(quick: bool, workdir: Path | None = None, sims: int | None = None) -> dict[str, Any]:
    start = time.monotonic()
    figures = rates(sims or (10 if quick else 200))
    return {"title": "scitune next: the right next step on simulated rounds", "figures": figures,
            "seconds": time.monotonic() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(False, sims=args.sims)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
