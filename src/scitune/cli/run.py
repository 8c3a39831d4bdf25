"""``scitune run``: the face of :mod:`scitune.steps.run`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, TrainingDisplay, app, err, invocation, out
from scitune.cli.results import print_status
from scitune.steps.run import RunPlan, run_experiment
from scitune.store import Store, display_url


class Executor(str, Enum):
    local = "local"
    ray = "ray"


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The experiment file (YAML).", show_default=False)],
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", "-w", min=1, show_default=False,
                     help="Trials to train at once: local worker processes (default 1), or Ray tasks "
                     "(default: the cluster's CPUs / resources.cpus)."),
    ] = None,
    executor: Annotated[Executor, typer.Option("--executor", help="local: worker processes here; ray: Ray tasks.")] = (
        Executor.local
    ),
    address: Annotated[
        Optional[str],
        typer.Option("--address", show_default=False,
                     help="Ray cluster to join (e.g. 127.0.0.1:6379 or auto); it must answer within 10 s. "
                          "Default: start a local one."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Run every study of an experiment, or resume it: finished trials stay, interrupted and pending
    ones run. Several runners on one experiment and store share the work."""
    with TrainingDisplay() as display:

        def on_plan(plan: RunPlan) -> None:
            display.on_plan(plan)
            resume = f" - resuming, {plan.finished} of {plan.total} trials already finished" if plan.finished else ""
            how = f"{workers or 1} worker(s)" if executor is Executor.local else "Ray tasks"
            out.print(f"{len(plan.experiment.studies())} studies x {plan.experiment.budget.trials_per_study} trials, "
                      f"{how}, store {display_url(store)}{resume}", highlight=False)

        summary = run_experiment(file, store, command=invocation(), executor=executor.value, workers=workers,
                                 address=address, on_plan=on_plan, on_progress=display.on_progress)
    print_status(Store(store), summary.experiment)
    if summary.interrupted:
        err.print(f"stopped: {summary.states['interrupted']} trial(s) marked interrupted; run the same command again to resume")
        raise typer.Exit(130)
    bad = summary.states["failed"]
    if bad:
        err.print(f"{bad} trial(s) failed; see their reasons with: scitune trials {summary.experiment}")
