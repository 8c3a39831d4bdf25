"""``scitune steps sweep`` and ``steps check``: the face of :mod:`scitune.steps.step_budget`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, TrainingDisplay, app, invocation, out, render, say
from scitune.cli._sweeps import (
    FileArg,
    GridOption,
    LrMax,
    LrMin,
    LrName,
    PointsOption,
    SaveOption,
    SetOption,
    WorkersOption,
    overrides,
    rates,
)
from scitune.steps import step_budget
from scitune.store import Store

steps_app = typer.Typer(help="How long to train: max_train_steps from a learning-rate sweep; check a study's best steps.",
                        no_args_is_help=True)
app.add_typer(steps_app, name="steps")


@steps_app.command("sweep")
def steps_sweep(
    file: FileArg,
    target: Annotated[float, typer.Option("--target", help="The training metric's value that counts as fitting, e.g. 0.")],
    metric: Annotated[str, typer.Option("--metric", help="A training metric the trainer reports.")] = "train_error",
    mode: Annotated[str, typer.Option("--mode", help="min: reach <= target; max: reach >= target.")] = "min",
    trial_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Steps per trial (default: the file's max_train_steps).", show_default=False)] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", min=1, help="Evaluation interval: the resolution of the answer.", show_default=False)] = None,
    grid: GridOption = None, lr_min: LrMin = None, lr_max: LrMax = None, points: PointsOption = None,
    lr_name: LrName = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Trials (seeds) per learning rate.")] = 1,
    set_: SetOption = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Experiment name (default FILE's name + -steps).", show_default=False)] = None,
    save: SaveOption = None, workers: WorkersOption = 1, store: StoreOption = None,
) -> None:
    """Recommend an initial max_train_steps: run a constant learning rate over a log grid and count
    the steps the fastest rate needs to reach --target on a training metric (playbook: how long to train)."""
    db = Store(store)
    with TrainingDisplay() as display:
        result = step_budget.steps_sweep(
            db, file, target=target, metric=metric, mode=mode, trial_steps=trial_steps, eval_every=eval_every,
            rates=rates(grid, lr_min, lr_max, points, lr_name), seeds=seeds, overrides=overrides(set_), name=name,
            save=save, workers=workers, command=invocation(), on_plan=display.on_plan, on_progress=display.on_progress)
    budget = result.budget
    render(budget.table, title=f"{result.experiment.name}: steps to {metric} {'<=' if mode == 'min' else '>='} {target:g}")
    if budget.max_train_steps is not None:
        out.print(f"[bold]recommended max_train_steps: {budget.max_train_steps}[/bold] "
                  f"(learning rate {budget.best_learning_rate:.3g}; to within eval_every)")
    say(budget.warnings)


@steps_app.command("check")
def steps_check(
    experiment: Annotated[str, typer.Argument(help="A finished experiment's name.", show_default=False)],
    store: StoreOption = None,
) -> None:
    """Where each study's best steps fall in training: all early means too many steps; consistently
    late means train longer and retune the decay schedule."""
    check = step_budget.check_steps(Store(store), experiment)
    render(check.table(), title=f"{experiment}: best steps of each study's top {check.top_k} trials, relative to "
           f"max_train_steps ({check.max_train_steps})")
    render(check.histogram, title="best steps of every completed trial, per slice of training")
    for v in check.verdicts:
        say([f"{v.study}: {v.advice}"], "green" if v.verdict == "ok" else "yellow")
