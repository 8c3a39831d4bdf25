"""Tables that fit a terminal: ``scitune trials`` and ``status`` at 100 columns, never a cell cut
into pieces; and the trial table's --state, --sort, --top and --columns."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planted import Outcome, make_planted_store, plant_store, planted_experiment, shaped_outcome
from scitune.cli import app
from scitune.cli._table import fit
from scitune.errors import UsageError
from scitune.steps.results import trial_rows
from scitune.store import Store


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_planted_store(tmp_path_factory.mktemp("tables"))
    store = Store(str(path))
    # A second experiment whose trials failed with long reasons.
    experiment, text = planted_experiment("broken", trials=4)
    reason = ("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity; "
              "13.2 GiB already allocated)")
    clean = shaped_outcome("clean")

    def outcome(study, number, params):
        return Outcome("failed", {}, reason) if number in (1, 3) else clean(study, number, params)

    plant_store(store, experiment, text, outcome)
    store.close()
    return path


def _cli(*args: str, columns: int = 100) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("columns", [100, 80])
def test_trials_fit_the_terminal_and_no_cell_is_broken(planted: Path, columns: int) -> None:
    shown = _cli("trials", "planted", "--store", str(planted), columns=columns)
    lines = shown.splitlines()
    assert max(map(len, lines)) <= columns
    table = trial_rows(Store(str(planted)), "planted")
    rows = [line for line in lines if line.startswith("width=")]
    assert len(rows) == len(table)  # one line per trial: no row folded over two
    for line, (_, row) in zip(rows, table.iterrows()):
        cells = line.split()
        assert cells[:3] == [row["study"], str(row["trial"]), row["state"]]
        assert f"{row['best_objective']:.4g}" in cells  # whole, not in pieces
    assert "same in every row: batch_size=64" in shown  # a fixed hyperparameter is said once


def test_status_fits_100_columns(planted: Path) -> None:
    shown = _cli("status", "--store", str(planted))
    assert max(map(len, shown.splitlines())) <= 100
    assert "best val_error (min)" in shown and "retrain variance" in shown


def test_failed_trials_list_their_reasons(planted: Path) -> None:
    shown = _cli("trials", "broken", "--state", "failed", "--store", str(planted))
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 100
    rows = [line for line in lines if line.startswith("width=")]
    assert len(rows) == 4 and all(" failed " in r for r in rows)  # trials 1 and 3 of both studies
    assert all("RuntimeError: CUDA out of memory." in r for r in rows)


def test_sort_top_state_and_columns(planted: Path) -> None:
    store = Store(str(planted))
    best = trial_rows(store, "planted", top=3)
    everything = trial_rows(store, "planted")
    assert best["best_objective"].tolist() == sorted(everything["best_objective"])[:3]  # min: lowest first
    worst = trial_rows(store, "planted", sort="-best_objective", top=2)
    assert worst["best_objective"].tolist() == sorted(everything["best_objective"])[-2:][::-1]
    picked = trial_rows(store, "planted", columns=["trial", "learning_rate"], states=["completed"])
    assert list(picked.columns) == ["trial", "learning_rate"] and len(picked) == 32
    assert trial_rows(store, "broken", states=["failed"])["state"].unique().tolist() == ["failed"]
    for bad in (dict(sort="nope"), dict(columns=["nope"]), dict(states=["broke"])):
        with pytest.raises(UsageError):
            trial_rows(store, "planted", **bad)
    csv = _cli("trials", "planted", "--top", "2", "--columns", "study,trial,best_objective", "--format", "csv",
               "--store", str(planted))
    frame = pd.read_csv(io.StringIO(csv))
    assert list(frame.columns) == ["study", "trial", "best_objective"] and len(frame) == 2


def test_fit_leaves_out_low_priority_columns_and_says_so() -> None:
    frame = pd.DataFrame({"name": ["a", "bb"], "value": [1.5, 2.25], "extra_column": ["x" * 30, "y"],
                          "reason": ["z" * 80, None]})
    fitted = fit(frame, 40, drop_order=["extra_column"], free="reason")
    assert max(map(len, fitted.lines)) <= 40 and fitted.hidden == ["extra_column"]
    assert fitted.lines[2].endswith("…")  # the free-text column is shortened, visibly
    kept = fit(frame, 200, drop_order=["extra_column"], free="reason")
    assert kept.hidden == [] and "z" * 80 in kept.lines[2]
