"""The batch-size commands on the real digits model."""

from __future__ import annotations

import pytest

from helpers import REPO, cli


@pytest.mark.slow
def test_throughput_command_on_the_real_digits_model() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    root = REPO
    threads = torch.get_num_threads()
    try:  # the digits trainer runs in this process and sets torch to one thread
        result = cli("batch-size", "throughput", str(root / "examples/digits/experiment.yaml"), "--start", "16",
                     "--limit", "32", "--steps", "3", "--warmup", "1")
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    assert "training throughput by batch size" in result.output
    table = result.output.split("training throughput by batch size", 1)[1]
    assert "16" in table and "32" in table
