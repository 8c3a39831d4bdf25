"""``python -m benchmarks.calibration_verdicts [--sims N] [--seed S] [--only NAME,...] [--json PATH]``

How often the verdicts are wrong, measured: many simulated experiments per scenario, each put
through the same code as ``scitune compare`` / ``launch`` and the report's answer
(:func:`scitune.analysis.readings.read_curve` on every curve, :func:`scitune.analysis.goal.study_bests`
and :func:`scitune.analysis.goal.goal_answer`, whose comparison is
:func:`scitune.analysis.compare.compare_readings`, the core ``compare_trials`` calls).

One simulated experiment: two scientific values A (baseline) and B (candidate), a study of
``trials`` trials each whose objective **ignores every nuisance hyperparameter** (so a study's best
trial is picked by luck alone), each trial a validation curve of ``evals`` evaluations: its level
(the scenario's level for its side, plus run-to-run seed noise) plus a decaying transient plus
step-to-step noise, optionally quantised (an error rate over a small validation set). Each
study's best trial is retrained ``reruns`` times (new seeds: new levels, new curve noise).

Per scenario it records, with Wilson 95% intervals (scipy's ``binomtest``):

- ``adopt``: how often the comparison adopts B (on a null or worse B: a false adopt; on a better B:
  the detection rate);
- ``decisive``: how often the report's answer is decisive (on a null: a false alarm);
- ``old adopt`` / ``old decisive``: the same simulations under the rules before issue 13 (each
  trial read at its raw best, zero spread taken as certainty, a side without reruns borrowing the
  other's variance, and the answer decisive without reruns when the gap beat the top-3 spread).

Targets: false adopt at most 5% on every null or worse-B scenario (the Wilson interval's centre
and the observed rate), detection at least 90% at the stated effect sizes, the answer's decisive
rate on the null experiment at most 5%. A goal not met is a result (exit 0); a crash is exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TARGET_FALSE = 0.05
TARGET_DETECT = 0.90


@dataclass(frozen=True)
class Scenario:
    name: str
    truth: str  # "null" (B = A), "worse" (B truly worse) or "better" (B truly better by ``effect``)
    what: str
    level: tuple[float, float] = (0.2, 0.2)  # the trend's level for A and B (lower is better)
    curve_noise: tuple[float, float] = (0.002, 0.002)  # step-to-step sd of each side's curves
    seed_sd: float = 0.01  # run-to-run sd of a trial's level
    quantum: float = 0.0  # values rounded to multiples of it (0: continuous)
    reruns: tuple[int, int] = (5, 5)  # of each study's best trial
    trials: int = 16
    evals: int = 50
    borrow: bool = False  # --borrow-variance
    rise: float = 0.0  # the curves turn up by this much from 40% of training to the end (overfitting)

    @property
    def effect(self) -> float:
        return self.level[0] - self.level[1]


SCENARIOS = (
    Scenario("null-clean", "null", "no effect; clean curves (noise 0.002), seed sd 0.01, 5 reruns a side"),
    Scenario("null-noisy", "null", "no effect; noisy curves (step-to-step sd 0.23 around a trend of 0.35)",
             level=(0.35, 0.35), curve_noise=(0.23, 0.23)),
    Scenario("null-noisy-overfit", "null", "no effect; noisy curves (sd 0.23) that overfit: up by 0.3 from 40% of "
             "training to the end", level=(0.35, 0.35), curve_noise=(0.23, 0.23), rise=0.3),
    Scenario("null-quantised", "null", "no effect; an error rate over 360 examples at 7/360, seed sd 0.3/360 (most "
             "reruns score the same)", level=(7 / 360, 7 / 360), curve_noise=(0.0, 0.0), seed_sd=0.3 / 360,
             quantum=1 / 360),
    Scenario("null-winners-curse", "null", "no effect; B not retrained: its only value is the best of its 16 trials",
             reruns=(5, 0)),
    Scenario("null-winners-curse-borrowed", "null", "as null-winners-curse, with --borrow-variance (recorded, "
             "not a target: the user lent B a variance it never showed)", reruns=(5, 0), borrow=True),
    Scenario("null-no-reruns", "null", "no effect; no reruns at all (the report right after `scitune run`)",
             reruns=(0, 0)),
    Scenario("worse-noisy", "worse", "issue 13's case: B's trend 0.385 with noise 0.23, A's 0.217 with 0.01",
             level=(0.217, 0.385), curve_noise=(0.01, 0.23)),
    Scenario("better-clean", "better", "B better by 2.5 seed sds (0.025); clean curves; 5 reruns a side",
             level=(0.2, 0.175)),
    Scenario("better-noisy", "better", "B (trend 0.217, noise 0.01) better than A (0.385, noise 0.23) by 0.168",
             level=(0.385, 0.217), curve_noise=(0.23, 0.01)),
    Scenario("better-quantised", "better", "B better by 3/360 on an error rate over 360 examples, seed sd 1/360",
             level=(10 / 360, 7 / 360), curve_noise=(0.0, 0.0), seed_sd=1 / 360, quantum=1 / 360),
)


def _curves(rng: np.random.Generator, s: Scenario, side: int, count: int) -> np.ndarray:
    t = np.arange(1, s.evals + 1)
    levels = s.level[side] + rng.normal(0.0, s.seed_sd, (count, 1))
    values = levels + 0.5 * np.exp(-t / 5) + rng.normal(0.0, 1.0, (count, s.evals)) * s.curve_noise[side]
    values = values + s.rise * np.clip(t / s.evals - 0.4, 0.0, None) / 0.6
    if s.quantum:
        values = np.round(values / s.quantum) * s.quantum
    return values


def simulate(s: Scenario, rng: np.random.Generator) -> dict[str, Any]:
    """One experiment through the report's answer and compare's core; and the old rules."""
    from scitune.analysis.compare import ADOPT, compare_readings, compare_samples
    from scitune.analysis.goal import goal_answer, study_bests
    from scitune.analysis.readings import read_curve
    from scitune.analysis.variance import trial_variance
    from scitune.config import StudySpec

    steps = np.arange(1, s.evals + 1)
    rows, readings, variances, sides, raw, selected = [], {}, {}, [], [], []
    next_id = 1
    for side, name in enumerate(("A", "B")):
        curves = _curves(rng, s, side, s.trials)
        bests = curves.min(axis=1)
        best = int(np.argmin(bests))
        for number in range(s.trials):
            rows.append({"study": name, "trial": number, "id": next_id + number, "state": "completed",
                         "best_value": float(bests[number]), "best_step": int(np.argmin(curves[number])) + 1})
        best_id = next_id + best
        readings[best_id] = read_curve(steps, curves[best], "min")
        next_id += s.trials
        if s.reruns[side]:
            reruns = _curves(rng, s, side, s.reruns[side])
            ids = list(range(next_id, next_id + len(reruns)))
            next_id += len(reruns)
            for i, c in zip(ids, reruns):
                readings[i] = read_curve(steps, c, "min")
            values = reruns.min(axis=1).tolist()
            variances[best_id] = trial_variance(values, trial_id=best_id, ids=ids, study=name)
            sides.append([readings[i] for i in ids])
            raw.append(values)
            selected.append(None)
        else:
            sides.append([readings[best_id]])
            raw.append([float(bests[best])])
            selected.append(s.trials)
    trials = pd.DataFrame(rows)
    # compare B (candidate) with A (baseline), as `scitune compare A B` does
    compared = compare_readings(sides[0], sides[1], "min", labels=("A", "B"), borrow_variance=s.borrow,
                                selected=(selected[0], selected[1]))
    # the report's answer, through the goal's own code
    bests = study_bests(trials, [StudySpec("A", {"v": 0}), StudySpec("B", {"v": 1})], "min", 3, variances, readings)
    answer = goal_answer(bests, "min")
    # the rules before issue 13: raw bests, zero spread = certainty, single values borrow silently
    old = compare_samples(raw[0], raw[1], "min", borrow_variance=True)
    old_adopt = old.verdict == ADOPT
    if len(raw[0]) > 1 and len(raw[1]) > 1 and np.std(raw[0]) == 0 and np.std(raw[1]) == 0:
        old_adopt = np.mean(raw[1]) < np.mean(raw[0])
    top3 = [float(np.ptp(np.sort(trials.loc[trials["study"] == n, "best_value"])[:3])) for n in ("A", "B")]
    if all(variances.get(b.best_trial_id) for b in bests):
        old_decisive = bool(old.verdict != "not enough evidence")
    else:
        order = sorted(b.best_value for b in bests)
        old_decisive = bool(order[1] - order[0] > max(top3))
    return {
        "adopt": compared.verdict == ADOPT,
        "decisive": bool(answer.decisive),
        "decisive_for_b": bool(answer.decisive) and answer.ranking[0].study == "B",
        "smoothed": compared.reading == "smoothed",
        "old_adopt": bool(old_adopt),
        "old_decisive": old_decisive,
    }


def wilson(k: int, n: int) -> tuple[float, float]:
    from scipy import stats

    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def run_scenario(s: Scenario, sims: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, sum(map(ord, s.name))])
    outcomes = [simulate(s, rng) for _ in range(sims)]
    out: dict[str, Any] = {"scenario": s.name, "truth": s.truth, "what": s.what, "sims": sims,
                           "settings": asdict(s)}
    for key in ("adopt", "decisive", "decisive_for_b", "smoothed", "old_adopt", "old_decisive"):
        k = sum(o[key] for o in outcomes)
        low, high = wilson(k, sims)
        out[key] = {"rate": k / sims, "count": k, "low": low, "high": high}
    if s.truth in ("null", "worse") and not s.borrow:
        out["target"] = f"false adopt <= {TARGET_FALSE:.0%}"
        out["met"] = out["adopt"]["rate"] <= TARGET_FALSE and out["decisive_for_b"]["rate"] <= TARGET_FALSE and (
            s.truth != "null" or out["decisive"]["rate"] <= TARGET_FALSE)
    elif s.truth == "better":
        out["target"] = f"detection >= {TARGET_DETECT:.0%}"
        out["met"] = out["adopt"]["rate"] >= TARGET_DETECT and out["decisive_for_b"]["rate"] >= TARGET_DETECT
    else:
        out["target"], out["met"] = "recorded", None
    return out


def calibrate(sims: int = 200, seed: int = 0, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Every scenario (or those named in ``only``), ``sims`` simulated experiments each."""
    chosen = [s for s in SCENARIOS if only is None or s.name in only]
    return [run_scenario(s, sims, seed) for s in chosen]


def _pct(r: dict[str, float]) -> str:
    return f"{100 * r['rate']:5.1f}% [{100 * r['low']:.1f}, {100 * r['high']:.1f}]"


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (what BENCHMARKS.md records)."""
    lines = [("| scenario | truth | adopt B (95% Wilson) | answer decisive | answer decisive for B | before issue 13: "
              "adopt / decisive | target | met |"),
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        lines.append(f"| {r['scenario']} | {r['truth']} | {_pct(r['adopt'])} | {_pct(r['decisive'])} | "
                     f"{_pct(r['decisive_for_b'])} | "
                     f"{100 * r['old_adopt']['rate']:.1f}% / {100 * r['old_decisive']['rate']:.1f}% | {r['target']} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibration_verdicts", description=__doc__.split("\n")[2])
    parser.add_argument("--sims", type=int, default=200, help="simulated experiments per scenario (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="comma-separated scenario names")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        results = calibrate(args.sims, args.seed, args.only.split(",") if args.only else None)
    except Exception:  # noqa: BLE001 - a crash is exit 1; a goal not met is a result
        import traceback

        traceback.print_exc()
        return 1
    print(table(results))
    print(f"\n{args.sims} simulations per scenario, seed {args.seed}, {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
