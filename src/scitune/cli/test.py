"""``scitune test``: the face of :mod:`scitune.steps.final_test`."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, fmt, invocation, out
from scitune.store import Store


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
    from scitune.steps.final_test import run_test  # scipy.stats: only when asked

    result = run_test(Store(store), experiment, trial, function=function, metric=metric, command=invocation())
    chosen = result.trial
    out.print(f"{experiment} trial {chosen.name}: {result.objective} {fmt(chosen.best_value)} at its best step "
              f"{chosen.best_step} (validation, used for selection)", highlight=False)
    shown = {metric: result.metrics[metric]} if metric else result.metrics
    values = ", ".join(f"{k} {fmt(v)}" for k, v in shown.items())
    out.print(f"test set, checkpoint of step {result.step}: {values} (recorded as test result {result.id}; "
              "never used for selection)", highlight=False)
