"""``scitune batch-size throughput`` and ``batch-size scaling``: the face of :mod:`scitune.steps.batch_size`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, app, out, render, say
from scitune.cli._sweeps import FileArg, SetOption, overrides
from scitune.steps import batch_size
from scitune.store import Store

batch_app = typer.Typer(help="Batch size: throughput at doubling batch sizes; steps to a result by batch size.",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch-size")


@batch_app.command("throughput")
def batch_throughput(
    file: FileArg,
    start: Annotated[int, typer.Option("--start", min=1, help="The first batch size.")] = 16,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Stop doubling beyond this batch size (out of memory also stops).")] = 4096,
    timed: Annotated[int, typer.Option("--steps", min=2, help="Steps timed per batch size.")] = 20,
    warm: Annotated[int, typer.Option("--warmup", min=0, help="Untimed steps first.")] = 5,
    param: Annotated[str, typer.Option("--param", help="The batch-size hyperparameter.")] = "batch_size",
    set_: SetOption = None,
) -> None:
    """Measure training throughput at doubling batch sizes, in this process, until one runs out of
    memory or --limit; report where throughput stops rising (playbook: choosing the batch size)."""
    result = batch_size.throughput(
        file, start=start, limit=limit, steps=timed, warmup=warm, param=param, overrides=overrides(set_),
        on_batch_size=lambda size: out.print(f"[dim]timing {timed} steps at batch size {size}[/dim]"))
    say(result.notes, "dim")
    render(result.scaling.table, title=f"{result.name}: training throughput by batch size")
    say(result.scaling.findings, "bold")


@batch_app.command("scaling")
def batch_scaling(
    experiments: Annotated[list[str], typer.Argument(help="Experiment(s) whose studies hold several batch sizes.", show_default=False)],
    target: Annotated[float, typer.Option("--target", help="The result to reach, e.g. val_error 0.05.")],
    metric: Annotated[Optional[str], typer.Option("--metric", help="Default: the first experiment's objective.", show_default=False)] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="min or max (default: the objective's).", show_default=False)] = None,
    param: Annotated[str, typer.Option("--param", help="The batch-size hyperparameter.")] = "batch_size",
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG of steps vs batch size.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Steps to reach --target vs batch size, each batch size at its best-tuned trial: where doubling
    the batch halves the steps (perfect scaling) and where the gain fades (diminishing returns)."""
    done = batch_size.scaling(Store(store), experiments, target=target, metric=metric, mode=mode, param=param,
                              plot=plot)
    render(done.result.table, title=f"steps to {done.metric} {'<=' if done.mode == 'min' else '>='} {target:g} "
           "by batch size")
    say(done.result.findings, "bold")
    if done.plot is not None:
        out.print(f"wrote {done.plot}")
