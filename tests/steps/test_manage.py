"""Managing experiments: delete (rows and files), rename, run a file as a new experiment, and the
changes to a file that do not make it another experiment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_cli
from planted import experiment_yaml, make_planted_store
from scitune.cli import app
from scitune.errors import NotFoundError, StoreError, UsageError
from scitune.steps.manage import delete_experiment, deletion_plan, rename_experiment
from scitune.store import Store


def _with_folders(tmp_path: Path) -> tuple[Store, list[Path]]:
    """The planted store, its first two trials given folders (one with a checkpoint file)."""
    store = Store(str(make_planted_store(tmp_path)))
    trials = store.trials("planted")
    folders = []
    for trial_id in trials["id"].head(2):
        folder = tmp_path / "scitune-artifacts" / "planted" / "study" / f"trial-{trial_id}"
        folder.mkdir(parents=True)
        (folder / "ckpt-100.pt").write_bytes(b"weights")
        store.set_directory(int(trial_id), str(folder))
        store.record_checkpoint(int(trial_id), 100, str(folder / "ckpt-100.pt"))
        folders.append(folder)
    (tmp_path / "scitune-artifacts" / "other").mkdir()  # another experiment's: must stay
    return store, folders


def test_delete_removes_rows_and_files_and_nothing_else(tmp_path: Path) -> None:
    store, folders = _with_folders(tmp_path)
    plan = deletion_plan(store, "planted")
    assert (plan.trials, plan.checkpoints, len(plan.folders)) == (32 + 3, 2, 2)  # 3 reruns of the retrain study
    assert "35 trials, 2 checkpoints" in plan.describe()
    done = delete_experiment(store, "planted")
    assert sorted(done.removed) == sorted(map(str, folders))
    assert not any(f.exists() for f in folders) and not (tmp_path / "scitune-artifacts" / "planted").exists()
    assert (tmp_path / "scitune-artifacts" / "other").is_dir()
    with pytest.raises(NotFoundError):
        store.experiment("planted")
    assert store.metrics(list(range(1, 100))).empty and store.checkpoints(list(range(1, 100))).empty


def test_rename_keeps_the_trials_and_frees_the_name(tmp_path: Path) -> None:
    store = Store(str(make_planted_store(tmp_path)))
    before = store.trials("planted")
    rename_experiment(store, "planted", "planted-v1")
    after = store.trials("planted-v1")
    assert after["id"].tolist() == before["id"].tolist()
    assert store.experiment("planted-v1").experiment.name == "planted-v1"
    with pytest.raises(NotFoundError):
        store.experiment("planted")
    with pytest.raises(UsageError):
        rename_experiment(store, "planted-v1", "bad name")
    store.ensure_experiment("taken", "g", {"experiment": "taken"}, "experiment: taken\n")
    with pytest.raises(StoreError, match="already in"):
        rename_experiment(store, "planted-v1", "taken")


def test_cli_delete_asks_first(tmp_path: Path) -> None:
    store, _ = _with_folders(tmp_path)
    refused = CliRunner().invoke(app, ["delete", "planted", "--store", store.url], input="n\n")
    assert refused.exit_code == 1 and "nothing deleted" in refused.output and "35 trials" in refused.output
    assert store.experiment("planted")
    agreed = CliRunner().invoke(app, ["delete", "planted", "--store", store.url], input="y\n")
    assert agreed.exit_code == 0 and "deleted experiment 'planted'" in agreed.output
    assert CliRunner().invoke(app, ["rename", "gone", "x", "--store", store.url]).exit_code != 0


@pytest.mark.slow
def test_run_as_new_report_changes_and_a_lowered_budget(workdir: Path) -> None:
    (workdir / "exp.yaml").write_text(experiment_yaml("keep", trials=3))
    assert run_cli("run", "exp.yaml", cwd=workdir).returncode == 0
    # Only the report section changed: the same experiment, and its stored definition says so.
    (workdir / "exp.yaml").write_text(experiment_yaml("keep", trials=3) + "report: {top_k: 2}\n")
    again = run_cli("run", "exp.yaml", cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert Store(str(workdir / "scitune.db")).experiment("keep").experiment.report_settings.top_k == 2
    # A real change is refused, and --as runs it as a new experiment that keeps the old one.
    (workdir / "exp.yaml").write_text(experiment_yaml("keep", trials=3, steps=10))
    refused = run_cli("run", "exp.yaml", cwd=workdir)
    assert refused.returncode == 2 and "changed: budget.max_train_steps" in refused.stderr
    new = run_cli("run", "exp.yaml", "--as", "keep-long", cwd=workdir)
    assert new.returncode == 0, new.stderr
    db = Store(str(workdir / "scitune.db"))
    assert len(db.trials("keep")) == 6 and len(db.trials("keep-long")) == 6
    assert db.experiment("keep-long").config_text.startswith("experiment: keep-long\n")
    # Fewer trials per study than already finished: no "3 of 1".
    (workdir / "exp.yaml").write_text(experiment_yaml("keep", trials=1))
    lowered = run_cli("run", "exp.yaml", cwd=workdir)
    assert lowered.returncode == 0, lowered.stderr
    assert "6 of 6 trials already finished" in lowered.stdout and "of 2" not in lowered.stdout
    assert "trials_per_study is 1, but the store already holds 6 trials" in lowered.stdout


def test_delete_and_rename_on_either_store(store_url: str) -> None:
    from planted import plant_store, planted_experiment, shaped_outcome

    store = Store(store_url)
    for name in ("one", "two"):
        experiment, text = planted_experiment(name, trials=3)
        plant_store(store, experiment, text, shaped_outcome("clean"))
    rename_experiment(store, "one", "uno")
    delete_experiment(store, "uno")
    assert [r.name for r in store.experiments()] == ["two"]
    assert len(store.trials("two")) == 6 and not store.metrics(store.trials("two")["id"].tolist()).empty
    store.close()
