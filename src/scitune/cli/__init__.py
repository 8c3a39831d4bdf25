"""The command line: parse, call a playbook step (:mod:`scitune.steps`), render with rich. No logic
the Python API lacks. Each module here is the face of one step module and adds its commands to
the one typer ``app``."""

from __future__ import annotations

import sys

# Each module registers its commands; imported in the order `scitune --help` lists them.
from scitune.cli import run, results, report, retrain, decide, log, refine, test  # noqa: F401, I001
from scitune.cli import step_budget, batch_size, warmup, stability, round2, adam  # noqa: F401, I001
from scitune.cli import dashboard  # noqa: F401, I001
from scitune.cli._app import app, err
from scitune.errors import ScituneError


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit code 2."""
    try:
        app()
    except ScituneError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        err.print(f"error: {error.message}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)


__all__ = ["app", "main"]
