"""The round2 command: a runnable Round-2 file from a finished Round 1."""

from __future__ import annotations

from pathlib import Path

from helpers import cli
from planted import experiment_yaml
from scitune import Store, load_experiment, run_experiment


def test_round2_command_writes_a_runnable_file(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("tiny", trials=4, steps=8, eval_every=2))
    experiment, text = load_experiment(workdir / "exp.yaml")
    run_experiment(experiment, Store("s.db"), config_text=text, config_path=workdir / "exp.yaml")
    result = cli("round2", "tiny", "--top", "2", "--factor", "2", "--store", "s.db")
    assert result.exit_code == 0, result.output
    written = workdir / "tiny-round2.yaml"  # beside Round 1's file
    assert f"wrote {written}" in result.output.replace("\n", "")
    r2, _ = load_experiment(written)
    assert (r2.budget.max_train_steps, r2.budget.eval_every, r2.budget.trials_per_study) == (16, 4, 4)
