"""The experiment log and notes: the playbook's tracking spreadsheet.

Playbook ("Setting up experiment tracking"): per study, keep its name, a link to its config, notes,
the number of trials, the best checkpoint's validation performance and how to reproduce it.
``scitune log`` is :func:`experiment_log`, one row per search study of every experiment;
``scitune note`` is :func:`add_note`. Everything comes from the store, so the log travels with it.
"""

from __future__ import annotations

import pandas as pd

from scitune.analysis.summary import best_per_study, study_summary
from scitune.analysis.variance import TrialVariance, trial_variances
from scitune.errors import UsageError
from scitune.states import STATES, StudyKind
from scitune.steps.decide import reproduce_command, when
from scitune.store import Store


def add_note(store: Store, experiment: str, text: str, study: str | None = None) -> int:
    """Attach a note to an experiment (or one of its studies); returns its id."""
    if not text.strip():
        raise UsageError("a note needs some text")
    record = store.experiment(experiment)
    study_id = store.study(record, study).id if study is not None else None
    return store.add_note(record.id, text.strip(), study_id)


LOG_COLUMNS = ["experiment", "study", "goal", "objective", "config_path", "config_text", "trials", *STATES,
               "best_objective", "best_trial", "best_trial_id", "best_step", "checkpoint", "retrained", "launched",
               "reproduce", "notes", "created_at"]


def experiment_log(store: Store, experiment: str | None = None) -> pd.DataFrame:
    """The tracking spreadsheet: one row per search study of every experiment (or of one).

    Per study: its experiment and goal, where its config is (the stored text and the path it was
    read from), trials by state, the best objective with its trial, step and checkpoint, retrained
    trials' mean ± sd, launches made from it, the command that reproduces it and the notes."""
    records = [store.experiment(experiment)] if experiment else store.experiments()
    launched = store.launches()
    rows = []
    for record in records:
        name, objective = record.name, record.objective
        metric, mode = objective.metric, objective.mode
        table = store.trials(name)
        study_rows = store.studies(record.id)
        names = [s.name for s in study_rows]
        summary = study_summary(table, mode, names).set_index("study")
        best = best_per_study(table, store.checkpoints(table["id"].tolist()), mode).set_index("study")
        variances = trial_variances(table, store.trials(name, kind=StudyKind.RETRAIN))
        written = store.notes(record.id)
        for study in study_rows:
            s = summary.loc[study.name]
            b = best.loc[study.name] if study.name in best.index else None
            mine = [n for n in written if n.study_id in (None, study.id)]
            retrained = [v for v in variances.values() if v.study == study.name]
            rows.append({
                "experiment": name, "study": study.name, "goal": record.goal, "objective": f"{metric} ({mode})",
                "config_path": record.config_path, "config_text": record.config_text,
                "trials": int(s["trials"]), **{state: int(s[state]) for state in STATES},
                "best_objective": None if b is None else float(b["best_objective"]),
                "best_trial": None if b is None else int(b["trial"]),
                "best_trial_id": None if b is None else _best_id(table, study.name, int(b["trial"])),
                "best_step": None if b is None else int(b["best_step"]),
                "checkpoint": None if b is None else b["checkpoint"],
                "retrained": "; ".join(_variance_words(v) for v in retrained) or None,
                "launched": "; ".join(f"launch {r.id}: trial {r.trial} ({when(r.created_at)})"
                                      for r in launched if r.experiment_id == record.id
                                      and r.study == study.name) or None,
                "reproduce": reproduce_command(record),
                "notes": " | ".join(f"{when(n.created_at)[:10]} {n.text}" for n in mine) or None,
                "created_at": when(study.created_at),
            })
    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    for column in ("best_trial", "best_trial_id", "best_step"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


def _best_id(table: pd.DataFrame, study: str, number: int) -> int:
    return int(table[(table["study"] == study) & (table["trial"] == number)]["id"].iloc[0])


def _variance_words(v: TrialVariance) -> str:
    spread = f" ± {v.std:.4g}" if v.std is not None else ""
    mean = f"{v.mean:.4g}{spread} (n={v.n})" if v.mean is not None else "no completed rerun"
    return f"trial {v.trial}: {mean}" + (f", {v.unstable} unstable" if v.unstable else "")
