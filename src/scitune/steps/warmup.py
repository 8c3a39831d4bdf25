"""The playbook's warmup protocol, both steps, as one call.

Playbook (FAQs: "How can optimization failures be debugged and mitigated?", on when and how to
warm up). ``scitune warmup FILE`` is :func:`warmup_protocol`. In order:

1. unless the unstable rate is known: sweep a constant learning rate without warmup (a grid
   reaching 10x above the file's range) and find ``unstable_base_learning_rate``, the smallest rate
   above the best stable one at which training is unstable
   (:func:`scitune.analysis.warmup.find_unstable_learning_rate`). If none is unstable, nothing here
   calls for warmup and the protocol stops;
2. at ``factor`` (10) times that rate, try each warmup length the playbook lists that is at most
   10% of ``max_train_steps``, and choose the shortest that trains stably
   (:func:`scitune.analysis.warmup.choose_warmup`), noting whether the higher rate paid off.

Both sweeps are ordinary experiments, stored and resumable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scitune.analysis import designs
from scitune.analysis.warmup import (
    PLAYBOOK_WARMUPS,
    TARGET_FACTOR,
    WARMUP_CAP,
    UnstableRate,
    WarmupChoice,
    choose_warmup,
    find_unstable_learning_rate,
    warmup_candidates,
)
from scitune.config import load_experiment
from scitune.errors import UsageError
from scitune.run.local import ProgressFn
from scitune.steps.run import PlanFn, read_results, run_text
from scitune.steps.step_budget import LearningRates
from scitune.store import Store

STABILITY_STRETCH = 10.0  # step 1 looks this far above the file's learning-rate range


@dataclass(frozen=True)
class WarmupProtocol:
    """What the two steps found. ``stability`` is None when the unstable rate was given;
    ``choice`` is None when step 1 found no unstable rate (no warmup is called for)."""

    unstable_learning_rate: float | None
    stability: UnstableRate | None
    choice: WarmupChoice | None
    notes: list[str] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        """Whether the protocol went on to step 2 (some rate was unstable)."""
        return self.choice is not None


def warmup_protocol(
    store: Store,
    file: str | Path,
    *,
    trial_steps: int | None = None,
    eval_every: int | None = None,
    rates: LearningRates = LearningRates(),
    unstable_learning_rate: float | None = None,
    factor: float = TARGET_FACTOR,
    warmups: Sequence[int] = PLAYBOOK_WARMUPS,
    loss: str = "train_loss",
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    command: str | None = None,
    on_plan: PlanFn | None = None,
    on_progress: ProgressFn | None = None,
) -> WarmupProtocol:
    """Run the warmup protocol from the experiment file ``file`` (module docstring)."""
    base, _ = load_experiment(file)
    lr = rates.name or designs.learning_rate_name(base)
    steps = trial_steps or base.budget.max_train_steps
    every = eval_every or base.budget.eval_every
    run = dict(base_path=Path(file), workers=workers, command=command, on_plan=on_plan, on_progress=on_progress)
    stability, baseline, notes = None, None, []
    if unstable_learning_rate is None:
        _, grid = rates.resolve(base, stretch=STABILITY_STRETCH)
        text, notes = designs.stability_sweep(base, grid=grid, trial_steps=steps, eval_every=every, loss=loss,
                                              overrides=overrides, source=str(file), lr_name=lr,
                                              name=f"{name}-lr-stability" if name else None)
        experiment, _ = run_text(store, text, notes=notes, **run)  # type: ignore[arg-type]
        stability = find_unstable_learning_rate(*read_results(store, experiment.name), loss=loss, learning_rate=lr)
        if stability.unstable_learning_rate is None:
            return WarmupProtocol(None, stability, None, notes)
        unstable_learning_rate = stability.unstable_learning_rate
        best_row = stability.table[stability.table[lr] == stability.best_learning_rate].iloc[0]
        baseline = best_row[f"final_{loss}"]
    lengths = warmup_candidates(steps, [int(v) for v in warmups])
    if not lengths:
        raise UsageError(f"no warmup length is at most {WARMUP_CAP:.0%} of {steps} steps",
                         hint="raise --steps or pass --warmups")
    peak = unstable_learning_rate * factor
    text, _ = designs.warmup_sweep(base, learning_rate=peak, warmups=lengths, trial_steps=steps, eval_every=every,
                                   loss=loss, overrides=overrides, source=str(file), lr_name=lr,
                                   name=f"{name}-warmup" if name else None)
    experiment, _ = run_text(store, text, **run)  # type: ignore[arg-type]
    choice = choose_warmup(*read_results(store, experiment.name), learning_rate=float(f"{peak:.3g}"),
                           max_train_steps=steps, loss=loss, baseline_loss=baseline)
    return WarmupProtocol(unstable_learning_rate, stability, choice, notes)
