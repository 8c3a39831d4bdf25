"""Managing experiments: delete one (its rows and its files), or rename one.

Playbook ("Setting up experiment tracking"): every experiment stays findable under a name that
says what it asked. A typo'd or abandoned experiment should not stay in the store forever, and a
name should be changeable without losing trials. ``scitune delete`` is :func:`delete_experiment`
(after :func:`deletion_plan` says what it would remove); ``scitune rename`` is
:func:`rename_experiment`. ``scitune run FILE --as NAME`` (:func:`scitune.steps.run.run_experiment`)
runs an edited file as a new experiment beside the old one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from scitune.steps.run import check_name, rename_text
from scitune.store import Store


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting an experiment removes: its studies (search and retrain), trials, kept
    checkpoints and launches, and the trial folders that exist on this machine."""

    experiment: str
    studies: int
    trials: int
    checkpoints: int
    launches: int
    folders: list[str]

    def describe(self) -> str:
        return (f"experiment '{self.experiment}': {self.studies} studies, {self.trials} trials, "
                f"{self.checkpoints} checkpoints, {self.launches} launch(es), {len(self.folders)} trial folder(s)")


def deletion_plan(store: Store, experiment: str) -> DeletionPlan:
    """What :func:`delete_experiment` would remove, for a user to confirm."""
    record = store.experiment(experiment)
    trials = store.trials(experiment, kind=None)
    kept = store.checkpoints(trials["id"].tolist())
    folders = [d for d in trials["directory"].dropna().unique().tolist() if Path(d).is_dir()]
    launches = [launch for launch in store.launches() if launch.experiment_id == record.id]
    return DeletionPlan(experiment, len(store.studies(record.id, kind=None)), len(trials), len(kept), len(launches),
                        folders)


@dataclass(frozen=True)
class Deleted:
    experiment: str
    removed: list[str]  # files and folders removed from disk


def delete_experiment(store: Store, experiment: str) -> Deleted:
    """Delete ``experiment`` from the store and its trials' folders and checkpoint files from disk;
    the experiment's own folder under the artifacts root goes too when nothing else is left in it."""
    paths = store.delete_experiment(experiment)
    removed: list[str] = []
    parents: set[Path] = set()
    for raw in dict.fromkeys(paths):
        path = Path(raw)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            parents.update(path.parents[:2])  # the study's folder, then the experiment's
        elif path.is_file():
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(str(path))
    for folder in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if folder.name and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return Deleted(experiment, removed)


def rename_experiment(store: Store, old: str, new: str) -> None:
    """Rename experiment ``old`` to ``new``: its trials, results and decisions stay. Run the file
    afterwards with ``experiment: NEW`` (or ``--as NEW``); the old name is free again. Trial
    folders keep their paths."""
    check_name(new, "new name")
    record = store.experiment(old)
    store.rename_experiment(old, new, rename_text(record.config_text, new))


__all__ = ["Deleted", "DeletionPlan", "delete_experiment", "deletion_plan", "rename_experiment"]
