"""``scitune retrain``: the face of :mod:`scitune.steps.retrain`."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.analysis.variance import variance_table
from scitune.cli._app import StoreOption, TrainingDisplay, app, err, out, render
from scitune.errors import UsageError
from scitune.steps import retrain as retrain_step
from scitune.store import Store

TRIAL_HELP = ("The trial: STUDY/NUMBER (e.g. width=64/3), a study name for its best trial, best, or the trial's id "
              "(the id column of scitune trials).")


@app.command()
def retrain(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    trial: Annotated[str | None, typer.Option("--trial", "-t", help=TRIAL_HELP, show_default=False)] = None,
    seeds: Annotated[int, typer.Option("--seeds", "-n", min=1, help="Reruns in total (more are added, none repeated).")] = 5,
    study: Annotated[str | None, typer.Option(
        "--study", help="Search this whole study again with other quasi-random seeds (its study variance), "
        "instead of rerunning one trial.", show_default=False)] = None,
    search_seeds: Annotated[int, typer.Option(
        "--search-seeds", min=1, help="With --study: searches with other seeds, in total.")] = 3,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Reruns to train at once.")] = 1,
    store: StoreOption = None,
) -> None:
    """Rerun one trial's configuration with other seeds to measure its retrain variance, or (--study)
    search a whole study again with other quasi-random seeds to measure its study variance. The
    reruns are kept apart from the search results; run again to resume or to add seeds."""
    if (trial is None) == (study is None):
        raise UsageError("name either --trial (retrain variance) or --study (study variance)",
                         hint=f"e.g. scitune retrain {experiment} --trial best --seeds 5")
    db = Store(store)
    if study is not None:
        _rerun_study(db, experiment, study, search_seeds, workers)
        return
    assert trial is not None
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


def _rerun_study(db: Store, experiment: str, study: str, search_seeds: int, workers: int) -> None:
    with TrainingDisplay("trials") as display:
        done = retrain_step.rerun_study(db, experiment, study, search_seeds, workers=workers,
                                        on_plan=display.on_plan, on_progress=display.on_progress)
    if done.run.interrupted:
        err.print("stopped: run the same command again to resume")
        raise typer.Exit(130)
    v = done.variance
    if v is None or v.std is None:
        err.print("fewer than two searches have a completed trial: no study variance yet")
        return
    bests = ", ".join(f"{b:.4g}" for b in v.bests)
    out.print(f"{experiment}/{study}: best objective over {v.n} search seeds (the original first): {bests}; "
              f"study sd {v.std:.4g}", highlight=False)
    out.print(f"compare and the report show it beside the trial variance: scitune report {experiment}")
