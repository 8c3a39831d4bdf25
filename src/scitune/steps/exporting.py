"""Export an experiment's trials and curves to TensorBoard event files or to MLflow.

``scitune export EXPERIMENT --to tensorboard|mlflow DIR`` is :func:`export_experiment`. Each search
trial becomes one TensorBoard run (``DIR/EXPERIMENT/STUDY/trial-N``) or one MLflow run, holding
every metric point at its step, the trial's hyperparameters (TensorBoard's HParams plugin, or MLflow
params), and its best step and the objective there - retrospective selection as scitune reads it
(playbook: "Saving checkpoints and retrospectively selecting the best checkpoint"). The store is
only read; exporting again writes into a fresh location (an existing one is refused).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from scitune.errors import UsageError
from scitune.store import Store

Target = Literal["tensorboard", "mlflow"]
TARGETS: tuple[Target, ...] = ("tensorboard", "mlflow")
# A run's summary scalars, beside its curves: the best step and the objective read there.
BEST_STEP, BEST_PREFIX = "scitune/best_step", "scitune/best_"
MLFLOW_STATUS = {"completed": "FINISHED", "failed": "FAILED", "infeasible": "FAILED", "interrupted": "KILLED",
                 "pending": "SCHEDULED", "running": "RUNNING"}


@dataclass(frozen=True)
class ExportResult:
    experiment: str
    target: Target
    location: str  # the folder (tensorboard) or tracking URI (mlflow) written
    runs: int
    points: int


def _safe(name: str) -> str:
    return name.replace(os.sep, "_").replace("/", "_") or "_"


def _hparam_value(value: Any) -> Any:
    """A value TensorBoard's HParams and MLflow params both take: bool, number or text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _read(store: Store, experiment: str) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    record = store.experiment(experiment)
    trials = store.trials(experiment)
    points = store.metrics(trials["id"].tolist()) if len(trials) else pd.DataFrame(
        columns=["trial_id", "name", "step", "value"])
    return record, trials, points


def _objective(record: Any) -> tuple[str, str]:
    objective = record.definition.get("objective", {})
    return str(objective.get("metric")), str(objective.get("mode", "min"))


def export_tensorboard(store: Store, experiment: str, directory: str | Path) -> ExportResult:
    """Event files under ``DIRECTORY/EXPERIMENT``: the HParams experiment config at its root, one
    run per trial below it (``STUDY/trial-N``), each with its hyperparameters, curves and best step."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import summary_v2 as hp
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise UsageError("exporting to TensorBoard needs tensorboard", hint="pip install 'scitune[tensorboard]'") from None
    record, trials, points = _read(store, experiment)
    metric, _ = _objective(record)
    root = Path(directory) / _safe(record.name)
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} already holds files: an export writes into a fresh folder",
                         hint="give another DIR, or remove that folder first")
    now = time.time()

    def write(folder: Path, summaries: list[tuple[int, Any]]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        writer = EventFileWriter(str(folder))
        for step, summary in summaries:
            writer.add_event(event_pb2.Event(wall_time=now, step=int(step), summary=summary))
        writer.close()

    def scalar(tag: str, value: float) -> Any:
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))])

    all_params = sorted({p for params in trials["params"] for p in params})
    hparams = []
    for name in all_params:
        values = [_hparam_value(p[name]) for p in trials["params"] if name in p]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            hparams.append(hp.HParam(name, hp.RealInterval(float(min(values)), float(max(values)))))
        else:
            hparams.append(hp.HParam(name, hp.Discrete(sorted({str(v) for v in values}))))
    metric_names = sorted(set(points["name"])) or [metric]
    metrics = [hp.Metric(m) for m in metric_names] + [hp.Metric(BEST_STEP), hp.Metric(BEST_PREFIX + metric)]
    write(root, [(0, hp.hparams_config_pb(hparams=hparams, metrics=metrics, time_created_secs=now))])
    by_trial = dict(tuple(points.groupby("trial_id"))) if len(points) else {}
    written = 0
    for trial in trials.itertuples():
        mine = by_trial.get(trial.id, points.head(0))
        run = f"{_safe(trial.study)}/trial-{trial.trial}"
        params = {k: (str(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else v)
                  for k, v in trial.params.items()}
        summaries: list[tuple[int, Any]] = [(0, hp.hparams_pb(params, trial_id=run, start_time_secs=now))]
        summaries += [(int(r.step), scalar(r.name, r.value)) for r in mine.itertuples() if math.isfinite(r.value)]
        written += len(summaries) - 1
        if trial.best_step is not None and not pd.isna(trial.best_step):
            summaries += [(int(trial.best_step), scalar(BEST_STEP, trial.best_step)),
                          (int(trial.best_step), scalar(BEST_PREFIX + metric, trial.best_value))]
        write(root / run, summaries)
    return ExportResult(record.name, "tensorboard", str(root), len(trials), written)


def _mlflow_uri(target: str | Path) -> str:
    text = str(target)
    if "://" in text or text.startswith(("sqlite:", "databricks")):
        return text
    return Path(text).resolve().as_uri()


def export_mlflow(store: Store, experiment: str, target: str | Path) -> ExportResult:
    """An MLflow experiment named like the scitune one, one run per trial (``STUDY/trial-N``):
    params, every metric point at its step, tags for study, state and reason, and the metrics
    ``scitune/best_step`` and ``scitune/best_OBJECTIVE``. ``target`` is a folder (MLflow's local
    file store) or a tracking URI."""
    uri = _mlflow_uri(target)
    if uri.startswith("file:"):
        # MLflow 3 keeps its file store in maintenance mode behind this switch; it is the store asked for.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UsageError("exporting to MLflow needs mlflow", hint="pip install 'scitune[mlflow]'") from None
    record, trials, points = _read(store, experiment)
    metric, mode = _objective(record)
    client = MlflowClient(tracking_uri=uri)
    if client.get_experiment_by_name(record.name) is not None:
        raise UsageError(f"{uri} already holds an MLflow experiment named '{record.name}'",
                         hint="export to another DIR, or delete that experiment first")
    experiment_id = client.create_experiment(record.name, tags={"scitune.goal": record.goal,
                                                                "scitune.objective": f"{metric} ({mode})"})
    by_trial = dict(tuple(points.groupby("trial_id"))) if len(points) else {}
    written = 0
    for trial in trials.itertuples():
        run_name = f"{trial.study}/trial-{trial.trial}"
        tags = {"scitune.study": trial.study, "scitune.trial": str(trial.trial), "scitune.state": trial.state,
                "scitune.seed": str(trial.seed)}
        if isinstance(trial.reason, str) and trial.reason:
            tags["scitune.reason"] = trial.reason[:5000]
        started = int((trial.started_at or time.time()) * 1000)
        run = client.create_run(experiment_id, start_time=started, tags=tags, run_name=run_name)
        mine = by_trial.get(trial.id, points.head(0))
        metrics = [Metric(r.name, float(r.value), started, int(r.step)) for r in mine.itertuples()
                   if math.isfinite(r.value)]
        if trial.best_step is not None and not pd.isna(trial.best_step):
            step = int(trial.best_step)
            metrics += [Metric(BEST_STEP, float(step), started, step),
                        Metric(BEST_PREFIX + metric, float(trial.best_value), started, step)]
            tags["scitune.best_step"] = str(step)
        params = [Param(k, str(_hparam_value(v))[:6000]) for k, v in trial.params.items()]
        client.log_batch(run.info.run_id, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
        for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
            client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
        written += len(metrics)
        ended = int(trial.finished_at * 1000) if trial.finished_at and not pd.isna(trial.finished_at) else None
        client.set_terminated(run.info.run_id, MLFLOW_STATUS.get(trial.state, "FINISHED"), end_time=ended)
    return ExportResult(record.name, "mlflow", uri, len(trials), written)


def export_experiment(store: Store | str | None, experiment: str, target: Target, location: str | Path) -> ExportResult:
    """Export ``experiment``'s search trials to ``target`` (tensorboard or mlflow) at ``location``."""
    if target not in TARGETS:
        raise UsageError(f"--to must be one of {', '.join(TARGETS)}, not {target!r}")
    db = store if isinstance(store, Store) else Store(store)
    return (export_tensorboard if target == "tensorboard" else export_mlflow)(db, experiment, location)
