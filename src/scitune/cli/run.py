"""``scitune run``: the face of :mod:`scitune.steps.run`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, TrainingDisplay, app, err, invocation, out
from scitune.cli.check import print_review
from scitune.cli.results import print_status
from scitune.errors import TrialsFailing
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
    fail_fast: Annotated[
        Optional[int],
        typer.Option("--fail-fast", min=0, show_default=False, metavar="N",
                     help="Stop when the run's first N trials all failed (default: budget.fail_fast, else 3; "
                     "0: never stop early)."),
    ] = None,
    new_name: Annotated[
        Optional[str],
        typer.Option("--as", show_default=False, metavar="NAME",
                     help="Run the file as a new experiment called NAME, keeping the stored one of the file's name."),
    ] = None,
    gpus: Annotated[
        Optional[str],
        typer.Option("--gpus", show_default=False,
                     help="GPU ids to share out, e.g. 0,1,2,3: each running trial gets resources.gpus of them "
                     "(at least 1) through CUDA_VISIBLE_DEVICES. Default: the visible devices, when "
                     "resources.gpus asks for any."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Run every study of an experiment, or resume it: finished trials stay, interrupted and pending
    ones run. Several runners on one experiment and store share the work. A run whose first trials
    all fail stops early and says why (exit 1); so does one whose trials all failed."""
    with TrainingDisplay() as display:

        def on_plan(plan: RunPlan) -> None:
            display.on_plan(plan)
            resume = f" - resuming, {plan.finished} of {plan.total} trials already finished" if plan.finished else ""
            how = f"{workers or 1} worker(s)" if executor is Executor.local else "Ray tasks"
            per_trial = plan.experiment.resources.gpus
            if executor is Executor.local and (gpus or per_trial):
                cap = f", at most {workers} at once" if workers else ""
                how = f"{max(1, int(per_trial))} GPU(s) per trial from {gpus or 'the visible devices'}{cap}"
            out.print(f"{len(plan.experiment.studies())} studies x {plan.experiment.budget.trials_per_study} trials, "
                      f"{how}, store {display_url(store)}{resume}", highlight=False)

        summary = run_experiment(file, store, command=invocation(), executor=executor.value, workers=workers,
                                 address=address, on_plan=on_plan, on_progress=display.on_progress,
                                 fail_fast=fail_fast, name=new_name,
                                 on_check=lambda review: print_review(review, verbose=False),
                                 gpus=gpus)
    print_status(Store(store), summary.experiment)
    if summary.interrupted:
        err.print(f"stopped: {summary.states['interrupted']} trial(s) marked interrupted; run the same command again to resume")
        raise typer.Exit(130)
    name, bad = summary.experiment, summary.states["failed"]
    if summary.failing is not None:
        raise TrialsFailing(f"{name}: stopped early, {summary.failing.cause}", hint=summary.failing.hint)
    if bad and not summary.states["completed"]:
        raise TrialsFailing(f"{name}: every finished trial failed ({bad})",
                            hint=f"see why with: scitune trials {name} --state failed")
    if bad:
        err.print(f"{bad} trial(s) failed; see their reasons with: scitune trials {name} --state failed")
    if summary.states["completed"]:
        out.print("next, try:", highlight=False)
        for line in (f"scitune status {name}", f"scitune report {name}", f"scitune best {name}"):
            out.print(f"  {line}", highlight=False)
