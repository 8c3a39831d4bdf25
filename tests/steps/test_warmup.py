"""The warmup protocol and the stability command, end to end on the synthetic trainer."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli
from scitune import Store


@pytest.mark.slow
def test_warmup_command_runs_the_protocol(proto: Path) -> None:  # noqa: F811 - the fixture
    # The trainer is stable up to 0.05 without warmup, so the grid's first unstable rate is 0.1 and the
    # target is 1.0; at 1.0 it needs 0.05 * (1 + warmup) >= 1, so of 5, 10, 20 only 20 is stable.
    result = cli("warmup", "base.yaml", "--grid", "0.01,0.0316,0.1,1", "--warmups", "5,10,20,50", "--eval-every", "5",
                 "--set", "weight_decay=0", "--store", "s.db")
    assert result.exit_code == 0, result.output
    assert "unstable_base_learning_rate = 0.1 " in result.output
    assert "warmup_steps: 20" in result.output and "at peak learning rate 1" in result.output
    db = Store(str(proto / "s.db"))
    assert len(db.trials("proto-warmup")) == 3  # 50 is over 10% of the 200 steps: dropped
    stability = cli("stability", "proto-lr-stability", "--early", "50", "--store", "s.db")
    assert stability.exit_code == 0, stability.output
    assert "diverged (infeasible)" in stability.output and "spiked at step 10" in stability.output
