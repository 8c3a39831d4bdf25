"""``scitune retrain``: the face of :mod:`scitune.steps.retrain`."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.analysis.variance import variance_table
from scitune.cli._app import StoreOption, TrainingDisplay, app, err, out, render
from scitune.steps import retrain as retrain_step
from scitune.store import Store

TRIAL_HELP = ("The trial: STUDY/NUMBER (e.g. width=64/3), a study name for its best trial, best, or the trial's id "
              "(the id column of scitune trials).")


@app.command()
def retrain(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    trial: Annotated[str, typer.Option("--trial", "-t", help=TRIAL_HELP, show_default=False)],
    seeds: Annotated[int, typer.Option("--seeds", "-n", min=1, help="Reruns in total (more are added, none repeated).")] = 5,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Reruns to train at once.")] = 1,
    store: StoreOption = None,
) -> None:
    """Rerun one trial's configuration with other seeds to measure its retrain variance. The reruns
    are kept apart from the search results; run again to resume or to add seeds."""
    db = Store(store)
    plan = retrain_step.plan_retrain(db, experiment, trial, seeds)
    ref = plan.trial
    result = f"{ref.best_value:.4g} at step {ref.best_step}" if ref.best_value is not None else ref.state
    out.print(f"[bold]{ref.label}[/bold] (id {ref.id}, seed {ref.seed}, objective {result}): "
              f"{seeds} reruns with other seeds, {plan.finished} already finished")
    with TrainingDisplay("reruns") as display:
        display.on_plan(plan)
        done = retrain_step.run_plan(db, plan, workers=workers, on_progress=display.on_progress)
    render(variance_table({ref.id: done.variance}), title=f"{ref.label}: retrain variance (95% interval of the mean)")
    if done.run.interrupted:
        err.print("stopped: run the same command again to resume")
        raise typer.Exit(130)
    if done.variance.n < 2:
        err.print("fewer than two reruns completed: no variance yet")
    out.print(f"compare it with another trial: scitune compare OTHER {ref.label}")
