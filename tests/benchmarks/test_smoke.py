"""The benchmark harness runs end to end in its quick mode and records every benchmark.

A smoke test only: timings depend on the machine, so nothing here asserts a speed or a goal.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

pytest.importorskip("optuna")
pytest.importorskip("plotly")
pytest.importorskip("torch")


sys.path.insert(0, str(REPO))
from benchmarks import BENCHMARKS

pytestmark = pytest.mark.slow


def test_quick_mode_records_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out), "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=280, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["mode"] == "quick"
    assert record["machine"]["cpus_usable"] >= 1
    assert set(record["benchmarks"]) == set(BENCHMARKS)
    for name, result in record["benchmarks"].items():
        assert "error" not in result, f"{name}: {result.get('error')}"
        assert result["figures"], name
        for figure, value in result["figures"].items():
            assert value is None or isinstance(value, (int, float)), (name, figure, value)
            assert figure in result["units"], (name, figure)
        measured = [v for v in result["figures"].values() if v is not None and math.isfinite(v)]
        assert measured, f"{name} measured nothing"
        for goal in result["goals"]:
            assert goal["met"] in (True, False, None)
            assert goal["measured"] is None or isinstance(goal["measured"], (int, float))
    # Every step of the analysis benchmark ran (a failed step is recorded as a note and NaN figures).
    steps = record["benchmarks"]["analysis_scale"]["details"]["steps"]
    assert not [name for name, step in steps.items() if "error" in step], steps


def test_unknown_benchmark_is_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nope"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "unknown benchmark nope" in proc.stderr
