"""A small, seeded run of the verdict calibration harness (benchmarks/calibration_verdicts.py):
the same code as `compare` and the report's answer on simulated experiments whose truth is known.
Only the cheap cases assert rates; the full record (200 simulations a scenario) is BENCHMARKS.md's."""

from __future__ import annotations

import sys
import warnings

from helpers import REPO

sys.path.insert(0, str(REPO))
from benchmarks.calibration_verdicts import SCENARIOS, calibrate, table  # noqa: E402

SIMS = 25


def _run(names: list[str]) -> dict[str, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy on identical reruns: the floor handles them
        return {r["scenario"]: r for r in calibrate(SIMS, seed=3, only=names)}


def test_a_side_without_reruns_is_never_adopted_and_the_fresh_report_is_never_decisive() -> None:
    results = _run(["null-winners-curse", "null-no-reruns", "null-quantised"])
    for name in ("null-winners-curse", "null-no-reruns"):
        r = results[name]
        assert r["adopt"]["count"] == 0 and r["decisive"]["count"] == 0, name
        # the rules before issue 13 did: the winner's curse adopted, the fresh report called itself decisive
    assert results["null-winners-curse"]["old_adopt"]["rate"] > 0.1
    assert results["null-no-reruns"]["old_decisive"]["rate"] > 0.0
    assert results["null-quantised"]["adopt"]["count"] <= 1  # zero spread on a coarse metric is not certainty


def test_a_clean_null_adopts_rarely_and_a_real_effect_is_found() -> None:
    results = _run(["null-clean", "better-clean", "better-quantised"])
    assert results["null-clean"]["adopt"]["count"] <= 4  # 5% of 25 is 1.25; generous for a small sample
    assert results["better-clean"]["adopt"]["rate"] >= 0.8
    assert results["better-quantised"]["adopt"]["rate"] >= 0.8
    assert "| null-clean | null |" in table(list(results.values()))


def test_every_scenario_is_named_and_stated() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names)) and all(s.what for s in SCENARIOS)
    assert {"null", "worse", "better"} == {s.truth for s in SCENARIOS}
