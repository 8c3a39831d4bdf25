"""Start-up: a command imports only the module that defines it (no timing asserts: what is imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scitune.cli
from scitune.cli import COMMAND_MODULES

PROBE = r"""
import json, sys
sys.argv = ["scitune", *sys.argv[1:]]
from scitune.cli import main
try:
    main()
except SystemExit:
    pass
HEAVY = ("scipy", "plotly", "matplotlib", "optuna", "torch", "pandas", "numpy", "rich", "yaml")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY
                        or m.startswith(("scitune.cli.", "sqlalchemy.dialects.postgresql", "sqlalchemy.orm",
                                         "scitune.config.experiment", "scitune.run.")))))
"""


def _registered() -> dict[str, str]:
    app = scitune.cli.app  # every module imported
    out = {}
    for command in app.registered_commands:
        out[command.name or command.callback.__name__.replace("_", "-")] = command.callback.__module__
    for group in app.registered_groups:
        out[group.name] = group.typer_instance.registered_commands[0].callback.__module__
    return out


def test_the_command_table_names_the_module_of_every_command() -> None:
    registered = _registered()
    for name, module in COMMAND_MODULES.items():
        assert registered.get(name) == f"scitune.cli.{module}", name
    # A command missing from the table still works (every module is imported then); the table
    # only makes start-up faster. Every command of this checkout is in it.
    assert set(registered) <= set(COMMAND_MODULES), set(registered) - set(COMMAND_MODULES)


def _imported(tmp_path: Path, *args: str) -> list[str]:
    src = str(Path(scitune.cli.__file__).resolve().parents[2])  # this checkout's scitune, from any folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_status_imports_neither_pandas_nor_rich_nor_scipy_nor_plots_nor_other_commands(tmp_path: Path) -> None:
    """``scitune status`` reads counts and best candidates as plain rows and prints plain text: no
    pandas, numpy, rich, scipy, plots, experiment model (its YAML), runner or other command."""
    from scitune.store import Store

    store = Store(str(tmp_path / "s.db"))  # one experiment, one study, a trial completed: a table to print
    exp = store.ensure_experiment("e", "g", {"objective": {"metric": "loss", "mode": "min"}}, "t")
    store.ensure_trials(store.ensure_study(exp, "default", {}, {}), [(0, {"lr": 0.1}, 0)])
    claimed = store.claim(exp, "h:t:1:2", "h")
    store.finish(claimed.id, "h:t:1:2", "completed", [(1, "loss", 0.5)], (1, 0.5))
    store.close()
    imported = _imported(tmp_path, "status", "--store", str(tmp_path / "s.db"))
    shared = {"scitune.cli._app", "scitune.cli._table"}  # the faces' shared parts, not other commands
    assert [m for m in imported if m.startswith("scitune.cli.") and m not in shared] == ["scitune.cli.results"]
    assert not [m for m in imported if not m.startswith("scitune.cli.")], imported


@pytest.mark.slow
def test_help_still_lists_every_command(tmp_path: Path) -> None:
    imported = _imported(tmp_path, "--help")
    assert {f"scitune.cli.{m}" for m in COMMAND_MODULES.values()} <= set(imported)


@pytest.mark.slow
def test_a_one_trial_run_imports_neither_pandas_nor_scipy_stats(tmp_path: Path) -> None:
    """``scitune run`` of one no-op trial: scipy's Halton points come from numpy alone, and nothing
    reads a frame, so neither pandas nor scipy.stats is imported (each most of a second)."""
    (tmp_path / "probe_train.py").write_text("def train(hp, trial):\n    trial.report(1, val_error=0.5)\n")
    (tmp_path / "exp.yaml").write_text(
        "experiment: probe\ngoal: Does the probe start quickly?\ntrain: probe_train:train\n"
        "objective: {metric: val_error, mode: min}\n"
        "budget: {trials_per_study: 1, max_train_steps: 1, eval_every: 1}\n"
        "search: {algorithm: quasi_random, seed: 0}\n"
        "hyperparameters:\n  nuisance:\n    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}\n")
    imported = _imported(tmp_path, "run", "exp.yaml", "--store", str(tmp_path / "r.db"))
    assert not [m for m in imported if m.split(".")[0] in ("pandas", "plotly", "matplotlib", "optuna", "torch")
                or m.startswith("scipy.stats")], imported
    from scitune.store import Store

    assert Store(str(tmp_path / "r.db"), create=False).state_count_rows(1) == [("default", "completed", 1)]
