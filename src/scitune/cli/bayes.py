"""After exploration: ``refine`` (a narrower space for the Bayesian round) and ``test`` (the final
test-set check). The Bayesian round itself runs with ``scitune run`` (search: {algorithm: bayesian})."""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, fmt, out
from scitune.store import Store


class Sampler(str, Enum):
    gp = "gp"
    tpe = "tpe"


@app.command()
def refine(
    experiment: Annotated[str, typer.Argument(help="The exploration (a quasi-random experiment).", show_default=False)],
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the new experiment file. "
                        "Default: NAME.yaml beside the exploration's file.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The new experiment's name. Default: EXPERIMENT-bayes.",
                                                show_default=False)] = None,
    sampler: Annotated[Sampler, typer.Option("--sampler", help="Optuna's GP or TPE sampler.")] = Sampler.gp,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="trials_per_study of the Bayesian round. "
                                                  "Default: the exploration's.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    store: StoreOption = None,
) -> None:
    """Propose a narrower search space from an exploration's best trials and write it as a ready
    experiment file for the Bayesian round (warm-started from the exploration). Refuses, saying why,
    while a study's best trial sits near the edge of a range: widen it and explore again first."""
    from scitune.refine import refine_experiment, write_refined  # scipy.stats: only when asked

    refined = refine_experiment(Store(store), experiment, new_name=name, sampler=sampler.value, trials_per_study=trials)
    path = write_refined(refined, out_path, overwrite=force)
    out.print(f"refined search space for [bold]{refined.name}[/bold], from the best trials of '{experiment}':")
    for r in refined.refinement.ranges:
        out.print(f"  {r.param}: [{r.old_low:g}, {r.old_high:g}] -> [{r.low:g}, {r.high:g}] "
                  f"(keeps {r.kept:.0%} of the {r.scale} range)", highlight=False)
    out.print(f"wrote {path}; run it with: scitune run {shlex.quote(str(path))}", highlight=False)


@app.command()
def test(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    trial: Annotated[str, typer.Option("--trial", help="best (default), a study for its best trial, STUDY/NUMBER, "
                                       "or a trial id.")] = "best",
    metric: Annotated[str | None, typer.Option("--metric", help="The test metric to show (e.g. test_error); "
                                                  "the function must return it.", show_default=False)] = None,
    function: Annotated[str | None, typer.Option("--function", help="module:function(hparams, checkpoint_path) "
                                                    "-> metrics, instead of the experiment's test: key.",
                                                    show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """The final test-set check: evaluate the chosen trial's best checkpoint with the experiment's
    test function and record the result apart from everything that ranks trials (it is never used
    for selection)."""
    command = shlex.join(["scitune", *sys.argv[1:]]) if sys.argv else None
    from scitune.testset import run_test

    result = run_test(Store(store), experiment, trial, function=function, metric=metric, command=command)
    chosen = result.trial
    out.print(f"{experiment} trial {chosen.name}: {result.objective} {fmt(chosen.best_value)} at its best step "
              f"{chosen.best_step} (validation, used for selection)", highlight=False)
    shown = {metric: result.metrics[metric]} if metric else result.metrics
    values = ", ".join(f"{k} {fmt(v)}" for k, v in shown.items())
    out.print(f"test set, checkpoint of step {result.step}: {values} (recorded as test result {result.id}; "
              "never used for selection)", highlight=False)
