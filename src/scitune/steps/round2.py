"""From Round 1 to Round 2: a longer-training experiment file written from a finished short one.

Playbook ("Deciding how long to train when training is compute-bound", Round 1 and Round 2).
``scitune round2 EXPERIMENT`` is :func:`round2`. In order:

1. read Round 1's experiment file as stored, and its trials;
2. plan Round 2 (:func:`scitune.analysis.rounds.round2_experiment`): its best few configurations,
   ``factor`` times longer training, nuisance ranges narrowed around them, and the schedule
   rescaled so the extra steps run at a high learning rate;
3. write the file (by default ``NAME.yaml`` in the current folder) for the user to read and run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scitune.analysis.rounds import Round2Plan, round2_experiment
from scitune.config import parse_experiment
from scitune.run.program import code_note
from scitune.store import Store


@dataclass(frozen=True)
class Round2:
    plan: Round2Plan
    path: Path  # where the Round-2 file was written
    note: str | None = None  # its training code is not found from there (run.program.code_note)


def round2(
    store: Store,
    experiment: str,
    *,
    top: int = 3,
    factor: float = 10.0,
    max_train_steps: int | None = None,
    trials_per_study: int | None = None,
    name: str | None = None,
    out: str | Path | None = None,
) -> Round2:
    """Write Round 2 of the finished Round-1 ``experiment`` (module docstring) to ``out``."""
    record = store.experiment(experiment)
    round1 = parse_experiment(record.config_text, record.config_path or experiment)
    plan = round2_experiment(round1, store.trials(experiment), top=top, factor=factor,
                             max_train_steps=max_train_steps, trials_per_study=trials_per_study, name=name)
    target = Path(out) if out is not None else Path.cwd() / f"{name or experiment + '-round2'}.yaml"
    target.write_text(plan.text, encoding="utf-8")
    note = code_note(parse_experiment(plan.text, str(target)), record.folder, target.resolve().parent)
    return Round2(plan, target, note)
