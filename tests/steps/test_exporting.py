"""Exporting an experiment to TensorBoard and MLflow, read back with the real libraries."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli
from planted import Outcome, plant_store, planted_experiment, shaped_outcome
from scitune import Store
from scitune.errors import UsageError
from scitune.steps.exporting import BEST_PREFIX, BEST_STEP, export_experiment


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Store, str]:
    experiment, text = planted_experiment("exp", trials=3, steps=200, eval_every=50)
    clean = shaped_outcome(steps=200, eval_every=50)

    def outcome(study: str, number: int, params: dict) -> Outcome:
        if study == "width=256" and number == 2:
            return Outcome("failed", {}, "RuntimeError: boom")
        return clean(study, number, params)

    store = Store(str(tmp_path / "s.db"))
    plant_store(store, experiment, text, outcome)
    return store, "exp"


def test_tensorboard_event_files_with_hparams_and_best_step(tmp_path: Path, planted: tuple[Store, str]) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    store, name = planted
    result = export_experiment(store, name, "tensorboard", tmp_path / "tb")
    assert result.runs == 6
    trials = store.trials(name)
    points = store.metrics(trials["id"].tolist())
    # The root holds the HParams experiment: every hyperparameter and metric.
    root = EventAccumulator(str(tmp_path / "tb" / name))
    root.Reload()
    content = root.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.EXPERIMENT_TAG]
    config = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    assert {h.name for h in config.hparam_infos} == {"width", "learning_rate", "dropout", "batch_size"}
    assert {m.name.tag for m in config.metric_infos} >= {"val_error", "train_loss", BEST_STEP, BEST_PREFIX + "val_error"}
    for trial in trials.itertuples():
        run = EventAccumulator(str(tmp_path / "tb" / name / trial.study / f"trial-{trial.trial}"))
        run.Reload()
        session = plugin_data_pb2.HParamsPluginData.FromString(
            run.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]).session_start_info
        assert session.hparams["learning_rate"].number_value == pytest.approx(trial.params["learning_rate"])
        assert session.hparams["width"].number_value == trial.params["width"]
        mine = points[points["trial_id"] == trial.id]
        if trial.state == "failed":
            assert BEST_STEP not in run.Tags()["scalars"] and mine.empty
            continue
        curve = run.Scalars("val_error")
        expected = mine[mine["name"] == "val_error"].sort_values("step")
        assert [e.step for e in curve] == expected["step"].tolist()
        assert [e.value for e in curve] == pytest.approx(expected["value"].tolist(), rel=1e-6)
        (best,) = run.Scalars(BEST_STEP)
        assert best.value == trial.best_step and best.step == trial.best_step
        (value,) = run.Scalars(BEST_PREFIX + "val_error")
        assert value.value == pytest.approx(trial.best_value, rel=1e-6)
    with pytest.raises(UsageError, match="already holds files"):
        export_experiment(store, name, "tensorboard", tmp_path / "tb")


@pytest.mark.slow
def test_mlflow_file_store(tmp_path: Path, planted: tuple[Store, str]) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store, name = planted
    result = export_experiment(store, name, "mlflow", tmp_path / "mlruns")
    assert result.location.startswith("file://") and result.runs == 6
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name(name)
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id], max_results=100)}
    trials = store.trials(name)
    points = store.metrics(trials["id"].tolist())
    assert set(runs) == {f"{t.study}/trial-{t.trial}" for t in trials.itertuples()}
    for trial in trials.itertuples():
        run = runs[f"{trial.study}/trial-{trial.trial}"]
        assert run.data.tags["scitune.study"] == trial.study and run.data.tags["scitune.state"] == trial.state
        assert float(run.data.params["learning_rate"]) == pytest.approx(trial.params["learning_rate"])
        if trial.state == "failed":
            assert run.info.status == "FAILED" and run.data.tags["scitune.reason"] == "RuntimeError: boom"
            continue
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "val_error")
        expected = points[(points["trial_id"] == trial.id) & (points["name"] == "val_error")].sort_values("step")
        assert sorted(m.step for m in history) == expected["step"].tolist()
        assert run.data.metrics[BEST_STEP] == trial.best_step
        assert run.data.metrics[BEST_PREFIX + "val_error"] == pytest.approx(trial.best_value)
        assert run.data.tags["scitune.best_step"] == str(int(trial.best_step))
    with pytest.raises(UsageError, match="already holds an MLflow experiment"):
        export_experiment(store, name, "mlflow", tmp_path / "mlruns")


def test_export_command_line(tmp_path: Path, planted: tuple[Store, str]) -> None:
    pytest.importorskip("tensorboard")
    store, name = planted
    result = cli("export", name, "--to", "tensorboard", str(tmp_path / "out"), "--store", store.url)
    assert result.exit_code == 0, result.output
    assert "6 run(s)" in result.output and (tmp_path / "out" / name / "width=64" / "trial-0").is_dir()
