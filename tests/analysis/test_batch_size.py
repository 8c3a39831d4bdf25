"""Batch size: the throughput scan on a synthetic cost model whose scaling limit is known, timing
a training function's steps, and steps-to-result vs batch size on planted studies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scitune.analysis import batch_size as bs
from scitune.plots.batch_size import steps_png
from scitune.run import throughput

# Time per step is flat (1 ms) until the device is busy, then grows with the batch: throughput
# doubles with the batch up to 64 examples, then stays at 64,000 examples per second.
FLAT, PEAK = 1e-3, 64_000.0


def cost(size: int) -> float:
    return max(FLAT, size / PEAK)


def test_scan_finds_the_known_scaling_limit_and_stops_at_out_of_memory() -> None:
    tried: list[int] = []

    def time_per_step(size: int) -> float:
        tried.append(size)
        if size >= 1024:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return cost(size)

    points = throughput.scan_throughput(time_per_step, bs.doubling_batch_sizes(16, 4096))
    assert tried == [16, 32, 64, 128, 256, 512, 1024]  # nothing after the first out-of-memory
    assert points[-1].stopped == "out of memory"
    result = bs.throughput_scaling(points)
    assert (result.largest_useful, result.scales_until) == (64, 64)
    assert result.table["regime"].tolist() == ["-", "scales", "scales", "saturated", "saturated", "saturated",
                                               "out of memory"]
    assert "stops rising beyond it" in result.findings[0]
    assert result.table["examples_per_second"].tolist()[:3] == pytest.approx([16_000, 32_000, 64_000])


def test_sublinear_scaling_is_called_a_possible_bottleneck() -> None:
    points = [bs.ThroughputPoint(b, 1e-3 + b / 50_000) for b in (16, 32, 64, 128, 256, 512, 1024, 2048)]
    result = bs.throughput_scaling(points)
    assert result.scales_until is not None and result.largest_useful is not None
    assert result.scales_until < result.largest_useful
    assert any("bottleneck" in f for f in result.findings)
    assert throughput.is_out_of_memory(MemoryError()) and not throughput.is_out_of_memory(ValueError("out of memory"))


def test_time_train_steps_times_the_steps_between_should_eval_calls() -> None:
    clock = {"now": 0.0}

    def train(hp, trial):
        for step in range(1, trial.max_train_steps + 1):
            clock["now"] += 0.5 if step <= 3 else cost(hp["batch_size"])  # slow first steps: not timed
            trial.report(step, grad_norm=1.0)
            if trial.should_eval(step):
                raise AssertionError("a throughput probe never asks for an evaluation")

    seconds = throughput.time_train_steps(train, {"batch_size": 256}, steps=10, warmup=3, clock=lambda: clock["now"])
    assert seconds == pytest.approx(256 / PEAK)
    with pytest.raises(RuntimeError, match="should_eval"):
        throughput.time_train_steps(lambda hp, trial: None, {"batch_size": 8})


def planted(needed: dict[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two trials per batch size; the better reaches loss 0.1 at ``needed[size]`` steps."""
    trials, rows = [], []
    for size, steps in needed.items():
        for k, reach in enumerate((steps, 3 * steps)):
            tid = len(trials)
            trials.append({"id": tid, "study": f"batch_size={size}", "trial": k, "state": "completed",
                           "params": {"batch_size": size}})
            rows += [(tid, "train_loss", s, 0.05 if s >= reach else 1.0) for s in range(5, 4001, 5)]
    return pd.DataFrame(trials), pd.DataFrame(rows, columns=["trial_id", "name", "step", "value"])


@pytest.mark.slow
def test_steps_vs_batch_size_shows_perfect_scaling_then_diminishing_returns(tmp_path: Path) -> None:
    # Perfect scaling to 128, then each doubling saves less, then nothing.
    needed = {16: 1600, 32: 800, 64: 400, 128: 200, 256: 150, 512: 140, 1024: 140}
    table = bs.steps_by_batch_size(*planted(needed), metric="train_loss", target=0.1)
    assert table["steps"].tolist() == list(needed.values())
    result = bs.batch_scaling(table)
    assert (result.critical_batch_size, result.largest_useful) == (128, 256)
    assert result.table["regime"].tolist() == ["-", "perfect scaling", "perfect scaling", "perfect scaling",
                                               "diminishing returns", "no gain", "no gain"]
    assert result.findings[:2] == ["perfect scaling (double the batch, half the steps) up to batch size 128",
                                   "diminishing returns from there; larger batches still cut steps up to 256"]
    plot = tmp_path / "steps.png"
    steps_png(result, plot)
    assert plot.read_bytes()[:4] == b"\x89PNG"


