"""The command line: parse, call a playbook step (:mod:`scitune.steps`), render with rich. No logic
the Python API lacks. Each module here is the face of one step module and adds its commands to
the one typer ``app``."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from scitune.errors import ScituneError

# Start-up: a command imports only the module that defines it (``scitune status`` needs neither
# scipy nor plotly nor the training code). Each name here is a command (or command group) and the
# module under scitune.cli that registers it; a command missing here still works, after every
# module is imported. tests/cli/test_startup.py checks this table against the registered commands.
COMMAND_MODULES = {
    "run": "run", "status": "results", "trials": "results", "best": "results", "report": "report",
    "retrain": "retrain", "compare": "decide", "launch": "decide", "launches": "decide", "incumbent": "decide",
    "log": "log", "note": "log", "refine": "refine", "test": "test", "steps": "step_budget",
    "batch-size": "batch_size", "warmup": "warmup", "stability": "stability", "round2": "round2",
    "adam-preset": "adam", "show": "results", "delete": "manage", "rename": "manage",
    "check": "check", "next": "next_round",
    "import": "importing", "export": "exporting", "dashboard": "dashboard",
}


def register_all() -> None:
    """Import every command module (each registers its commands), in the order `scitune --help` lists them."""
    from scitune.cli import run, results, report, retrain, decide, log, refine, test  # noqa: F401, I001
    from scitune.cli import step_budget, batch_size, warmup, stability, round2, adam  # noqa: F401, I001
    from scitune.cli import manage, check, next_round  # noqa: F401, I001
    from scitune.cli import importing, exporting, dashboard  # noqa: F401


def _app_for(argv: list[str]) -> Any:
    """The typer app with the commands ``argv`` may call registered: only its command's module
    when its first word names a known command, else all of them (help, a typo, a new command)."""
    from scitune.cli import _app  # its callback (--version) keeps the app a group even with one command

    word = next((a for a in argv if not a.startswith("-")), None)
    if word in COMMAND_MODULES and not {"--help", "-h"} & set(argv[: argv.index(word)]):
        importlib.import_module(f"scitune.cli.{COMMAND_MODULES[word]}")
    else:
        register_all()
    return _app.app


def __getattr__(name: str) -> Any:
    # ``from scitune.cli import app``: the app with every command.
    if name == "app":
        from scitune.cli._app import app

        register_all()
        return app
    raise AttributeError(name)


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit code 2."""
    from scitune.cli._app import err

    try:
        _app_for(sys.argv[1:])()
    except ScituneError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        lines = error.message.splitlines() or [""]  # several problems (an experiment file): a line each
        for line in lines[:-1]:
            err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        err.print(f"error: {lines[-1]}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)


__all__ = ["app", "main"]
