"""``scitune export``: the face of :mod:`scitune.steps.exporting`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, out
from scitune.steps.exporting import export_experiment


class Target(str, Enum):
    tensorboard = "tensorboard"
    mlflow = "mlflow"


@app.command()
def export(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    to: Annotated[Target, typer.Option("--to", help="tensorboard: event files; mlflow: an MLflow store.",
                                       show_default=False)],
    location: Annotated[str, typer.Argument(help="Folder to write (tensorboard, or MLflow's file store), or an "
                                            "MLflow tracking URI.", show_default=False)],
    store: StoreOption = None,
) -> None:
    """Every trial of an experiment as a TensorBoard or MLflow run: its curves, hyperparameters
    (TensorBoard's HParams) and best step."""
    result = export_experiment(store, experiment, to.value, location)
    out.print(f"{result.experiment}: {result.runs} run(s), {result.points} metric point(s) written to {result.location}",
              highlight=False)
    if to is Target.tensorboard:
        out.print(f"see them with: tensorboard --logdir {result.location}", highlight=False)
    else:
        out.print(f"see them with: mlflow ui --backend-store-uri {result.location}", highlight=False)
