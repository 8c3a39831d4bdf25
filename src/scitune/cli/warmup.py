"""``scitune warmup``: the face of :mod:`scitune.steps.warmup`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from scitune.analysis import warmup
from scitune.cli._app import StoreOption, TrainingDisplay, app, invocation, out, render, say
from scitune.cli._sweeps import (
    FileArg,
    GridOption,
    LrMax,
    LrMin,
    LrName,
    PointsOption,
    SetOption,
    WorkersOption,
    numbers,
    overrides,
    rates,
)
from scitune.steps.warmup import warmup_protocol
from scitune.store import Store


@app.command("warmup")
def warmup_cmd(
    file: FileArg,
    trial_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="max_train_steps: trial length and warmup cap (default: the file's).", show_default=False)] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", min=1, help="Evaluation interval (dense evaluations show early spikes).", show_default=False)] = None,
    grid: GridOption = None, lr_min: LrMin = None, lr_max: LrMax = None, points: PointsOption = None,
    lr_name: LrName = None,
    unstable: Annotated[Optional[float], typer.Option("--unstable-lr", help="Skip step 1: the rate where training becomes unstable.", show_default=False)] = None,
    factor: Annotated[float, typer.Option("--factor", help="Warm up to this multiple of the unstable rate.")] = warmup.TARGET_FACTOR,
    warmups: Annotated[Optional[str], typer.Option("--warmups", help="Warmup lengths to try (default: 10, 1000, 10000, 100000 up to 10% of --steps).", show_default=False)] = None,
    loss: Annotated[str, typer.Option("--loss", help="The training loss the trainer reports.")] = "train_loss",
    name: Annotated[Optional[str], typer.Option("--name", help="Prefix of the two experiments' names (default: FILE's name).", show_default=False)] = None,
    set_: SetOption = None, workers: WorkersOption = 1, store: StoreOption = None,
) -> None:
    """The playbook's warmup protocol: find the learning rate where training becomes unstable, then
    at --factor times it try warmup lengths and choose the shortest that trains stably."""
    lengths = [int(v) for v in numbers(warmups, "--warmups") or warmup.PLAYBOOK_WARMUPS]
    with TrainingDisplay() as display:
        result = warmup_protocol(
            Store(store), file, trial_steps=trial_steps, eval_every=eval_every,
            rates=rates(grid, lr_min, lr_max, points, lr_name), unstable_learning_rate=unstable, factor=factor,
            warmups=lengths, loss=loss, name=name, overrides=overrides(set_), workers=workers, command=invocation(),
            on_plan=display.on_plan, on_progress=display.on_progress)
    found = result.stability
    if found is not None:
        render(found.table, title="step 1: stability by constant learning rate, no warmup")
        say(found.warnings)
        if found.unstable_learning_rate is None:
            raise typer.Exit(0 if found.best_learning_rate is not None else 1)
        out.print(f"unstable_base_learning_rate = {found.unstable_learning_rate:.3g} "
                  f"(best stable rate {found.best_learning_rate:.3g})")
    choice = result.choice
    assert choice is not None
    render(choice.table, title=f"step 2: stability by warmup length at learning rate {choice.learning_rate:.3g}")
    if choice.warmup_steps is not None:
        out.print(f"[bold]warmup_steps: {choice.warmup_steps}[/bold] at peak learning rate {choice.learning_rate:.3g}")
    say(choice.notes)
