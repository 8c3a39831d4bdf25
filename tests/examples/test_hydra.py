"""The Hydra example: a Hydra app tuned in command mode through overrides (a real run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import REPO
from scitune import Store, run_experiment

pytest.importorskip("hydra")


@pytest.mark.slow
def test_hydra_app_gets_its_overrides(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO / "src"))  # the app imports this checkout's scitune
    shutil.copytree(REPO / "examples" / "hydra", workdir / "hydra")
    text = (workdir / "hydra" / "experiment.yaml").read_text()
    text = text.replace("trials_per_study: 8, max_train_steps: 300", "trials_per_study: 2, max_train_steps: 60")
    (workdir / "hydra" / "experiment.yaml").write_text(text)
    summary = run_experiment(workdir / "hydra" / "experiment.yaml", str(workdir / "s.db"), workers=2)
    db = Store(str(workdir / "s.db"))
    trials = db.trials("hydra-lr")
    assert summary.states["completed"] == 2, trials[["state", "reason"]].to_dict("records")
    points = db.metrics(trials["id"].tolist())
    for trial in trials.itertuples():
        mine = points[points["trial_id"] == trial.id]
        assert sorted(mine[mine["name"] == "val_error"]["step"]) == [50, 60]
        # The app trained with the learning rate scitune chose: the override reached Hydra's config.
        assert mine[mine["name"] == "lr_seen"]["value"].tolist() == pytest.approx([trial.params["learning_rate"]] * 2)
        assert (Path(trial.directory) / "hydra" / ".hydra" / "overrides.yaml").is_file()  # Hydra's run dir
