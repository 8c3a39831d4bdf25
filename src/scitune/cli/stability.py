"""``scitune stability``: the face of :mod:`scitune.steps.stability`."""

from __future__ import annotations

from typing import Annotated, Optional

import pandas as pd
import typer

from scitune.analysis import instability
from scitune.cli._app import StoreOption, app, render, say
from scitune.steps.stability import stability
from scitune.store import Store


@app.command("stability")
def stability_cmd(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    study: Annotated[Optional[str], typer.Option("--study", help="Only this study.", show_default=False)] = None,
    loss: Annotated[str, typer.Option("--loss", help="The training loss metric.")] = "train_loss",
    grad: Annotated[str, typer.Option("--grad", help="The unclipped gradient-norm metric.")] = "grad_norm",
    early: Annotated[int, typer.Option("--early", min=1, help="Count loss spikes up to this step.")] = instability.EARLY_STEPS,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Clipping threshold to check (default: each trial's grad_clip).", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Per trial: stable or not, early loss spikes, the 90th percentile of gradient norms (the
    playbook's clipping threshold) and how often clipping would trigger."""
    result = stability(Store(store), experiment, study=study, loss=loss, grad=grad, early=early, threshold=threshold)
    table = result.table
    empty = [c for c in table.columns if table[c].map(lambda v: v is None or v == "" or pd.isna(v)).all()]
    render(table.drop(columns=empty), title=f"{experiment}: stability, loss spikes and gradient norms")
    if result.advice is None:
        say([f"no completed trial reported '{grad}': log the full gradient's L2 norm every step to get a clipping threshold"])
        return
    say([f"best trial ({result.advised_from}): {result.advice.message}"], "bold")
