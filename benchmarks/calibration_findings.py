"""The findings' calibration: how often each report finding fires when it should not, and when it should.

``python -m benchmarks.calibration_findings [--sims N] [--seed S] [--json PATH] [--only A,B] [--set KEY=VALUE]``
(``--markdown PATH`` prints a recorded run as the table docs/report.md quotes)

Every simulated study goes through :func:`scitune.analysis.review.review`, the code the report
runs. A scenario plants a known truth: an objective of the hyperparameters (null: it ignores them
all), training curves of a known shape, and noise (per-evaluation, per-seed, a quantised metric).
Each simulation draws a fresh scrambled Halton sequence (``search.seed``), fresh seeds and fresh
noise. Per scenario and finding we count the simulations where the finding fired: on a check whose
truth is "nothing to find" that share is the **false-alarm rate**, on a planted one the
**detection rate**, each with a Clopper-Pearson 95% interval (scipy's ``binomtest``).

Targets (issue 13): false alarm at most 5% per finding, detection at least 90% at the stated sizes.

The scenarios (2 studies x 16 trials x 20 evaluations, 3 nuisance ranges: learning_rate log
[1e-4, 1e-1], weight_decay log [1e-6, 1e-2], dropout [0, 0.5], unless stated):

- ``null``: the objective ignores every hyperparameter and the scientific value; curves converge
  cleanly to 0.3 with per-evaluation noise sd 0.003 and a seed offset sd 0.002. Nothing should fire.
- ``inside``: a real optimum inside the learning-rate range (0.04 per squared decade), no effect of
  weight_decay or dropout, a real scientific effect of 0.03. No boundary, no few_points.
- ``outside``: the learning-rate optimum one decade above the range (0.04 per squared decade):
  the boundary check must warn on learning_rate (and only there).
- ``needle``: the good region is a narrow needle around the learning-rate optimum (0.3 per
  sqrt-decade): few_points must fire.
- ``quantised``: the null, with a validation error counted on 360 examples (steps of 1/360).
- ``noisy``: the null with per-evaluation noise sd 0.03 (ten times the seed noise): the noise check
  must fire; nothing else.
- ``overfit`` / ``improving`` / ``saturated``: the null's objective with curves that turn up after
  40% of training by 0.05 / still fall linearly at the end / reach their best at the first
  evaluation: overfitting / still_improving / saturated must fire; nothing else.
- ``divergent_flat``: trials with learning_rate above 10^-2 diverge, the objective is flat below:
  the best trial does not border the region in any meaningful way, so "instability is limiting it"
  must not be claimed; ``divergent_limit``: the optimum lies above the border (the objective
  improves right up to it), the claim must be made.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

STEPS, EVAL_EVERY = 1000, 50
GRID = np.arange(EVAL_EVERY, STEPS + 1, EVAL_EVERY)
CHECKS = ("goal", "boundary", "infeasible", "few_points", "more_trials", "overfitting", "noise",
          "still_improving", "saturated")


def experiment_text(seed: int, trials: int = 16, metric: str = "val_error") -> str:
    return textwrap.dedent(f"""\
        experiment: calib
        goal: Does width change the simulated validation error?
        train: calib:train
        objective: {{metric: {metric}, mode: min}}
        budget: {{trials_per_study: {trials}, max_train_steps: {STEPS}, eval_every: {EVAL_EVERY}}}
        search: {{algorithm: quasi_random, seed: {seed}}}
        hyperparameters:
          scientific: {{width: [64, 256]}}
          nuisance:
            learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
            weight_decay: {{low: 1.0e-6, high: 1.0e-2, scale: log}}
            dropout: {{low: 0.0, high: 0.5}}
          fixed: {{batch_size: 64}}
        """)


@dataclass(frozen=True)
class Scenario:
    """A planted truth: ``level(params, study)`` is a trial's converged objective; ``curve`` the
    shape added on top; ``should`` the checks that must fire (detection), ``must_not`` those that
    must not (false alarms), each a predicate on one finding (None: any finding of that check)."""

    name: str
    level: Callable[[dict[str, Any], str], float]
    curve: str = "clean"
    eval_sd: float = 0.003
    seed_sd: float = 0.002
    quantum: float | None = None
    diverge_above: float | None = None
    should: dict[str, Callable[[Any], bool] | None] = field(default_factory=dict)
    must_not: dict[str, Callable[[Any], bool] | None] = field(default_factory=dict)
    description: str = ""


def _lr(params: dict[str, Any]) -> float:
    return math.log10(params["learning_rate"])


def _warning(f: Any) -> bool:
    return f.severity == "warning"


def _boundary_on(param: str, severity: str | None = "warning") -> Callable[[Any], bool]:
    return lambda f: f.data.get("param") == param and (severity is None or f.severity == severity)


def _boundary_not_lr(f: Any) -> bool:
    return f.data.get("param") != "learning_rate"


def _instability_claim(f: Any) -> bool:
    return "instability is limiting it" in f.suggestion


QUIET = {c: None for c in CHECKS if c not in ("goal",)}  # a null: no finding of any kind


def _quiet_except(*checks: str) -> dict[str, Any]:
    return {c: p for c, p in QUIET.items() if c not in checks}


def scenarios() -> dict[str, Scenario]:
    flat = lambda p, s: 0.3
    bowl = lambda p, s: 0.3 + 0.04 * (_lr(p) + 2.5) ** 2 + (0.03 if s == "width=64" else 0.0)
    out = [
        Scenario("null", flat, must_not=QUIET, description="objective ignores everything"),
        Scenario("inside", bowl, must_not={"boundary": None, "few_points": None},
                 description="learning-rate optimum inside the range, scientific effect 0.03"),
        Scenario("no_effect_params", bowl, must_not={"boundary": _boundary_not_lr},
                 description="weight_decay and dropout have no effect (boundary findings on them)"),
        Scenario("outside", lambda p, s: 0.3 + 0.04 * (_lr(p) - 0.0) ** 2,
                 should={"boundary": _boundary_on("learning_rate")},
                 must_not={"boundary": _boundary_not_lr},
                 description="learning-rate optimum one decade above the range"),
        Scenario("needle", lambda p, s: 0.3 + 0.3 * math.sqrt(abs(_lr(p) + 2.5)),
                 should={"few_points": None}, description="a needle optimum in learning_rate"),
        Scenario("quantised", flat, quantum=1 / 360, eval_sd=0.004, seed_sd=0.003, must_not=QUIET,
                 description="null, error counted on 360 examples"),
        Scenario("noisy", flat, eval_sd=0.03, should={"noise": None}, must_not=_quiet_except("noise"),
                 description="null, per-evaluation noise sd 0.03"),
        Scenario("overfit", flat, curve="overfit", should={"overfitting": None},
                 must_not=_quiet_except("overfitting"), description="null, curves turn up after 40%"),
        Scenario("improving", flat, curve="improving", should={"still_improving": None},
                 must_not=_quiet_except("still_improving"), description="null, still falling at the end"),
        Scenario("saturated", flat, curve="saturated", eval_sd=0.0001, seed_sd=0.0001, should={"saturated": None},
                 must_not=_quiet_except("saturated"), description="null, best at the first evaluation"),
        Scenario("divergent_flat", flat, diverge_above=-2.0, must_not={"infeasible": _instability_claim},
                 description="lr above 10^-2 diverges, objective flat below"),
        Scenario("divergent_limit", lambda p, s: 0.3 + 0.1 * (_lr(p) + 1.0) ** 2, diverge_above=-2.0,
                 should={"infeasible": _instability_claim},
                 description="lr above 10^-2 diverges, objective improves right up to the border"),
    ]
    return {s.name: s for s in out}


def _shape(kind: str, level: float, rng: np.random.Generator, eval_sd: float) -> np.ndarray:
    t = GRID / STEPS
    drop = 0.6
    if kind == "clean":
        base = level + drop * np.exp(-t / 0.12)
    elif kind == "overfit":
        base = level + drop * np.exp(-t / 0.1) + 0.1 * np.clip(t - 0.4, 0, None) / 0.6 * 0.5
    elif kind == "improving":
        base = level + 0.15 * (1 - t)
    elif kind == "saturated":
        base = level + drop * np.exp(-t / 0.004) + 0.004 * t
    else:
        raise ValueError(kind)
    return base + rng.normal(0.0, eval_sd, len(t))


def simulate(scenario: Scenario, sim: int, seed: int = 0) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """One simulated experiment: (experiment, trials, metrics) as the store would give them."""
    from scitune.config import parse_experiment
    from scitune.search import QuasiRandomSearch

    experiment = parse_experiment(experiment_text(seed * 100_003 + sim))
    rng = np.random.default_rng([seed, sim, zlib.crc32(scenario.name.encode())])
    n = experiment.budget.trials_per_study
    trials, points, next_id = [], [], 1
    for spec in experiment.studies():
        context = {**experiment.fixed, **spec.scientific}
        chosen = QuasiRandomSearch(experiment.space, experiment.search.seed).points(0, n, context)
        for number, p in enumerate(chosen):
            params = {**context, **p}
            row = {"study": spec.name, "trial": number, "id": next_id, "state": "completed", "reason": None, "params": params,
                       "seed": number, "best_step": None, "best_value": None, "kind": "search"}
            if scenario.diverge_above is not None and _lr(params) > scenario.diverge_above:
                row["state"], row["reason"] = "infeasible", "val_error was NaN at step 100"
                curve = np.array([0.9, np.nan])
            else:
                level = scenario.level(params, spec.name) + rng.normal(0.0, scenario.seed_sd)
                curve = _shape(scenario.curve, level, rng, scenario.eval_sd)
                if scenario.quantum:
                    curve = np.round(curve / scenario.quantum) * scenario.quantum
                i = int(np.argmin(curve))
                row["best_step"], row["best_value"] = int(GRID[i]), float(curve[i])
            trials.append(row)
            points += [(next_id, "val_error", int(s), float(v)) for s, v in zip(GRID[: len(curve)], curve)]
            next_id += 1
    return experiment, pd.DataFrame(trials), pd.DataFrame(points, columns=["trial_id", "name", "step", "value"])


def interval(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (math.nan, math.nan)
    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


def run_scenario(scenario: Scenario, sims: int, seed: int = 0, overrides: dict[str, float] | None = None) -> dict[str, Any]:
    """Fire counts per check (any severity and warnings), and the judged rates. ``overrides``:
    report settings to try instead of the defaults (``--set``)."""
    from scitune.analysis.review import review

    any_count = dict.fromkeys(CHECKS, 0)
    warn_count = dict.fromkeys(CHECKS, 0)
    judged = {f"false:{c}": 0 for c in scenario.must_not} | {f"detect:{c}": 0 for c in scenario.should}
    decisive = 0
    for sim in range(sims):
        experiment, trials, metrics = simulate(scenario, sim, seed)
        settings = experiment.report_settings.model_copy(update=overrides or {})
        findings = review(experiment, trials, metrics, settings=settings).findings
        for check in CHECKS:
            mine = [f for f in findings if f.check == check]
            any_count[check] += bool(mine)
            warn_count[check] += any(f.severity == "warning" for f in mine)
        goal = next(f for f in findings if f.check == "goal")
        decisive += bool(goal.data.get("decisive"))
        for check, pred in scenario.must_not.items():
            judged[f"false:{check}"] += any(f.check == check and (pred is None or pred(f)) for f in findings)
        for check, pred in scenario.should.items():
            judged[f"detect:{check}"] += any(f.check == check and (pred is None or pred(f)) for f in findings)
    rates = {}
    for key, k in judged.items():
        low, high = interval(k, sims)
        rates[key] = {"rate": k / sims, "ci": [low, high], "count": k}
    return {
        "description": scenario.description,
        "sims": sims,
        "any": {c: any_count[c] / sims for c in CHECKS},
        "warning": {c: warn_count[c] / sims for c in CHECKS},
        "decisive": decisive / sims,
        "judged": rates,
    }


FALSE_TARGET, DETECT_TARGET = 0.05, 0.90


def markdown(record: dict[str, Any]) -> str:
    """The judged rates as a markdown table (docs/report.md and BENCHMARKS.md quote it)."""
    lines = ["| scenario | finding | kind | rate | 95% CI | target |", "|---|---|---|---:|---|---|"]
    for name, result in record["scenarios"].items():
        for key, r in result["judged"].items():
            kind, check = key.split(":")
            ok = r["rate"] <= FALSE_TARGET if kind == "false" else r["rate"] >= DETECT_TARGET
            target = f"≤ {FALSE_TARGET:.0%}" if kind == "false" else f"≥ {DETECT_TARGET:.0%}"
            lines.append(f"| {name} | {check} | {'false alarm' if kind == 'false' else 'detection'} | "
                         f"{r['rate']:.1%} | {r['ci'][0]:.1%}–{r['ci'][1]:.1%} | {target} {'met' if ok else '**not met**'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibration_findings", description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200, help="simulated experiments per scenario (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--json", default="", help="write the record here")
    parser.add_argument("--markdown", default="", metavar="JSON", help="print a recorded run as a markdown table and exit")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a report setting to try instead of its default (repeatable)")
    args = parser.parse_args(argv)
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
        return 0
    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (item.split("=", 1) for item in args.set)}
    chosen = scenarios()
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    record: dict[str, Any] = {"sims": args.sims, "seed": args.seed, "settings": overrides, "scenarios": {}}
    missed = 0
    for name, scenario in chosen.items():
        started = time.perf_counter()
        result = run_scenario(scenario, args.sims, args.seed, overrides)
        result["seconds"] = round(time.perf_counter() - started, 1)
        record["scenarios"][name] = result
        print(f"\n{name}: {scenario.description} ({args.sims} sims, {result['seconds']} s)")
        fired = ", ".join(f"{c} {result['any'][c]:.1%} (warning {result['warning'][c]:.1%})"
                          for c in CHECKS if result["any"][c] and c != "goal")
        print(f"  fired: {fired or 'nothing'}; goal decisive {result['decisive']:.1%}")
        for key, r in result["judged"].items():
            kind, check = key.split(":")
            ok = r["rate"] <= FALSE_TARGET if kind == "false" else r["rate"] >= DETECT_TARGET
            missed += not ok
            label = "false alarm" if kind == "false" else "detection"
            print(f"  {label:11} {check:16} {r['rate']:6.1%}  95% CI [{r['ci'][0]:.1%}, {r['ci'][1]:.1%}]"
                  f"  {'met' if ok else 'NOT MET'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    print(f"\n{missed} target(s) not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
