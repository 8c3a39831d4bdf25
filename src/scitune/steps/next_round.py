"""Next: the next round's experiment file, written from a finished round's findings.

Playbook ("The incremental tuning strategy": each round's results choose the next round).
``scitune next EXPERIMENT`` is :func:`next_round` then :func:`write_next`. In order:

1. read the experiment and its results as the report does, and run the same checks
   (:func:`scitune.steps.report.load`, :func:`scitune.analysis.review.review`);
2. plan the next round from the findings (:func:`scitune.analysis.next_round.plan_next`): wider
   ranges, more trials, another step budget, a retrain plan; or, when the exploration is adequate,
   the Bayesian round that ``scitune refine`` writes (:func:`scitune.steps.refine.refine_experiment`);
3. render the file with every change's reason as a YAML comment on the line it changes, check that
   scitune's own loader reads it, and write it (never over a file, unless asked). Nothing runs.
"""

from __future__ import annotations

import datetime
import importlib.util
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from scitune.analysis.next_round import (
    DONE,
    EXPLOIT,
    EXPLORE,
    RETRAIN_SEEDS,
    SETTLE,
    Change,
    NextPlan,
    plan_next,
)
from scitune.analysis.review import review
from scitune.config import parse_experiment
from scitune.errors import RefineRefused, ScituneError
from scitune.run.program import _search_roots
from scitune.states import UNFINISHED, TrialState
from scitune.steps.refine import refine_experiment
from scitune.steps.report import load
from scitune.store import Store

HEADLINES = {
    EXPLORE: "explore again: the findings below ask for a changed search",
    EXPLOIT: "exploit: the search space is adequate, so the next round is Bayesian optimization on the refined space",
    SETTLE: "settle the answer first: nothing in the design needs changing, but the answer is within the noise; "
    "retrain, then run this replicate study",
    DONE: "no finding asks for a change: this file repeats the round as it was",
}


@dataclass(frozen=True)
class NextRound:
    """The next round's file (``text``), its name, where it goes by default, the plan behind it and
    the retrain commands to run first (if any)."""

    name: str
    text: str
    path: Path
    plan: NextPlan
    commands: list[str]


def next_name(name: str) -> str:
    """``exp`` -> ``exp-next``, ``exp-next`` -> ``exp-next2``, ``exp-next2`` -> ``exp-next3``."""
    match = re.fullmatch(r"(.*)-next(\d*)", name)
    if not match:
        return f"{name}-next"
    return f"{match.group(1)}-next{int(match.group(2) or 1) + 1}"


def next_round(store: Store, name: str, *, new_name: str | None = None, out: str | Path | None = None) -> NextRound:
    """Plan experiment ``name``'s next round and render its file (module docstring); nothing is
    written or run. ``out`` is where :func:`write_next` puts it (default ``./NEW.yaml``)."""
    data = load(store, name)
    record = data.record
    experiment = parse_experiment(record.config_text, record.config_path or name)  # keeps its check: section
    if not len(data.trials) or not (data.trials["state"] == TrialState.COMPLETED).any():
        raise ScituneError(f"experiment '{name}' has no completed trial: there are no findings to plan a next round from",
                           hint=f"run it (`scitune run`), and read failed trials' reasons with `scitune trials {name}`")
    result = review(data.experiment, data.trials, data.metrics, data.studies, data.retrain)
    plan = plan_next(experiment, result)
    new = new_name or next_name(name)
    if new_name is None:  # a name the store does not hold yet, so the file runs as a new experiment
        taken = {r.name for r in store.experiments()}
        while new in taken:
            new = next_name(new)
    definition = {**plan.definition, "experiment": new}
    notes = list(plan.notes)
    unfinished = int(data.trials["state"].isin(list(UNFINISHED)).sum()) if len(data.trials) else 0
    if unfinished:
        notes.insert(0, f"{unfinished} trial(s) of '{name}' are unfinished: this plan reads the finished ones; "
                        f"`scitune run` on its file finishes them first")
    if plan.kind == EXPLOIT:
        try:
            refined = refine_experiment(store, name, new_name=new)
            definition = yaml.safe_load(refined.text)
            best = "/".join(map(str, sorted(set(refined.refinement.best.values()))))
            changes = [Change(("search",), experiment.search.algorithm, "bayesian",
                              "exploit: no finding asks for a wider space, more trials or another step budget, so "
                              f"Bayesian optimization (`scitune refine`), warm-started from the trials of '{name}'")]
            changes += [Change(("hyperparameters", "nuisance", r.param), (r.old_low, r.old_high), (r.low, r.high),
                               f"exploit: {r.param} [{r.old_low:g}, {r.old_high:g}] -> [{r.low:g}, {r.high:g}] around "
                               f"the best {best} trials ({r.best_low:.3g} .. {r.best_high:.3g}; keeps {r.kept:.0%} "
                               f"of the {r.scale} range)") for r in refined.refinement.ranges]
            plan = replace(plan, changes=changes)
        except RefineRefused as err:
            plan = replace(plan, kind=DONE)
            notes += [f"not refined: {reason}" for reason in err.reasons]
    commands = [f"scitune retrain {shlex.quote(name)} --trial {shlex.quote(study)} --seeds {RETRAIN_SEEDS}"
                for study in plan.retrains]
    original = Path(record.config_path).parent if record.config_path else None
    path = Path(out) if out is not None else _default_path(experiment, original, f"{new}.yaml")
    moved = _moved_note(experiment, original, path)
    if moved:
        notes.insert(0, moved)
    elif out is None and path.parent != Path.cwd():
        notes.insert(0, f"written beside '{name}''s file, in {path.parent}: its training code is found from there, "
                        "not from the current folder")
    header = _header(name, plan.kind, plan, notes, commands, path)
    text = render(definition, _comments(plan), header)
    parse_experiment(text, str(path))  # what we write must be a valid experiment file
    return NextRound(new, text, path, replace(plan, definition=definition, notes=notes), commands)


def _findable(module: str, folder: Path) -> bool:
    """Whether ``scitune run`` of a file in ``folder`` would find ``module`` (as the runner searches:
    the current folder, the file's folder, the package root above it), or it is installed."""
    relative = Path(*module.split("."))
    for root in _search_roots(module, folder):
        if (root / relative).with_suffix(".py").exists() or (root / relative / "__init__.py").exists():
            return True
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _default_path(experiment: Any, original: Path | None, filename: str) -> Path:
    """``./NAME.yaml``, unless the training code is found only from the original file's folder:
    then beside that file, so that the new file runs as the old one did."""
    here = Path.cwd()
    if original is None or experiment.train is None or _findable(experiment.train.partition(":")[0], here):
        return here / filename
    return original / filename


def _moved_note(experiment: Any, original: Path | None, path: Path) -> str | None:
    """A note when the new file's folder would not run the training code as the original's did."""
    if original is None or original.resolve() == path.parent.resolve():
        return None
    if experiment.command is not None:
        return (f"its command runs in the experiment file's folder, now {path.parent} instead of {original}: "
                "check the command's relative paths")
    module = experiment.train.partition(":")[0]
    if _findable(module, path.parent):
        return None
    return (f"train: module '{module}' is found from {original}, not from {path.parent.resolve()}: run the new file from "
            f"{original}, or write it there (--out)")


def write_next(planned: NextRound, path: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write the next round's file (to ``planned.path`` unless ``path``); never over an existing
    file unless ``overwrite``."""
    target = Path(path) if path is not None else planned.path
    if target.exists() and not overwrite:
        raise ScituneError(f"{target} exists already", hint="choose another --out, or pass --force to replace it")
    try:
        target.write_text(planned.text, encoding="utf-8")
    except OSError as err:
        raise ScituneError(f"cannot write {target}: {err.strerror}") from None
    return target


def _header(name: str, kind: str, plan: NextPlan, notes: list[str], commands: list[str], path: Path) -> list[str]:
    lines = [
        f"# The round after '{name}': written by `scitune next {name}` on {datetime.date.today().isoformat()}.",
        f"# Plan: {HEADLINES[kind]}.",
        "# Nothing has run. Read it, edit it, then: scitune run " + shlex.quote(path.name),
    ]
    if plan.changes:
        lines.append("# Changes, each also commented on its line (finding N: the Nth of the findings `scitune report` "
                     "and findings.json list, the goal's answer first):")
        lines += [f"#   - {c.reason}" for c in plan.changes]
    if notes:
        lines.append("# Notes (for your judgement; not changed):")
        lines += [f"#   - {n}" for n in notes]
    if commands:
        lines.append("# Before running it, settle the answer: retrain each study's best trial")
        lines += [f"#   {c}" for c in commands]
    return lines


def _comments(plan: NextPlan) -> dict[tuple[str, ...], list[str]]:
    """Each change's reason, keyed by the line it belongs on (a nuisance parameter, a budget key)."""
    comments: dict[tuple[str, ...], list[str]] = {}
    for change in plan.changes:
        key = change.path[:3] if change.path[0] in ("budget", "hyperparameters") else change.path[:1]
        comments.setdefault(key, []).append(change.reason)
    return comments


def _flow(value: Any) -> str:
    """``value`` as one line of flow-style YAML."""
    text = yaml.safe_dump({"k": value}, default_flow_style=True, sort_keys=False, width=10**6).strip()
    return text[len("{k: "):-1]


def _line(indent: int, key: str, value: Any, comments: list[str] | None) -> str:
    line = f"{' ' * indent}{_flow({key: value})[1:-1]}"
    return line + ("  # " + "; ".join(comments) if comments else "")


def render(definition: dict[str, Any], comments: dict[tuple[str, ...], list[str]], header: list[str]) -> str:
    """The experiment file: the header, then one line per key, the budget and the hyperparameters
    as blocks (a nuisance parameter a line), each changed line with its reasons as a comment."""
    lines = list(header)
    for key, value in definition.items():
        if key == "budget":
            lines.append("budget:")
            lines += [_line(2, k, v, comments.get(("budget", k))) for k, v in value.items()]
        elif key == "hyperparameters":
            lines.append("hyperparameters:")
            for role, entries in value.items():
                if role == "nuisance" and entries:
                    lines.append("  nuisance:")
                    lines += [_line(4, k, v, comments.get(("hyperparameters", "nuisance", k)))
                              for k, v in entries.items()]
                else:
                    lines.append(_line(2, role, entries, None))
        else:
            lines.append(_line(0, key, value, comments.get((key,))))
    return "\n".join(lines) + "\n"
