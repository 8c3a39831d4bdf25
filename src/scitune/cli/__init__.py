"""The command line: parse, call the library, render with rich. No logic the Python API lacks.

Each module here adds its commands to the one typer ``app``."""

from __future__ import annotations

import sys

from scitune.cli import core  # noqa: F401  (registers run, status, trials)
from scitune.cli import bayes  # noqa: F401  (registers refine, test)
from scitune.cli import decide  # noqa: F401  (registers retrain, compare, launch, launches, incumbent, log, note)
from scitune.cli import report  # noqa: F401
from scitune.cli import protocol  # noqa: F401  (registers steps, batch-size, warmup, stability, round2, adam-preset)
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
