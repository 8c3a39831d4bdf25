"""The shipped experiment files run as written, on a shortened budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import REPO
from scitune import Store, parse_experiment, run_experiment

pytestmark = pytest.mark.slow

pytest.importorskip("torch", reason="the examples need the 'examples' extra (torch)")
ROOT = REPO


def _shortened(path: Path) -> str:
    text = path.read_text()
    return re.sub(r"trials_per_study: \d+, max_train_steps: \d+, eval_every: \d+",
                  "trials_per_study: 1, max_train_steps: 60, eval_every: 20", text)


@pytest.mark.parametrize("example", ["digits", "digits_cli"])
def test_example_runs(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may depend on running from the repository root
    path = ROOT / "examples" / example / "experiment.yaml"
    text = _shortened(path)
    experiment = parse_experiment(text, str(path))
    store = Store(str(tmp_path / "s.db"))
    summary = run_experiment(experiment, store, config_text=text, config_path=path, workers=2)
    assert summary.states["completed"] == 2, store.trials(experiment.name)[["state", "reason"]]
    trials = store.trials(experiment.name)
    assert set(trials["study"]) == {"width=64", "width=256"}
    assert (trials["best_value"] < 0.5).all()  # 60 steps already beat chance (0.9) by far
    points = store.metrics(trials["id"].tolist())
    assert set(points["name"]) == {"train_loss", "val_loss", "val_error"}
    assert sorted(set(points["step"])) == [20, 40, 60]
