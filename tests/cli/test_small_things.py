"""Small things a user notices: --version, flags shown as --force/--no-force, Ray's token notice."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

import scitune
from scitune.cli import app


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"scitune {scitune.__version__}"


@pytest.mark.parametrize("command, flag", [("refine", "--no-force"), ("launch", "--no-force"), ("delete", "--yes")])
def test_flags_show_their_switches_not_a_bool_type(command: str, flag: str) -> None:
    shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "120"}).output
    assert flag in shown and "<bool>" not in shown


@pytest.mark.slow
def test_ray_token_notice_is_kept_out() -> None:
    pytest.importorskip("ray")
    from scitune.run.ray_executor import RAY_TOKEN_NOTICE_LOGGER, import_ray

    import_ray()
    assert not logging.getLogger(RAY_TOKEN_NOTICE_LOGGER).isEnabledFor(logging.WARNING)
