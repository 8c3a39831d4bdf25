"""The adam-preset command."""

from __future__ import annotations

from helpers import cli


def test_adam_preset_command() -> None:
    result = cli("adam-preset", "--trials", "12")
    assert result.exit_code == 0, result.output
    assert "tune learning_rate, one_minus_beta1" in result.output
    assert "epsilon: 1.0e-08" in result.output  # closed at PyTorch's default
