"""``scitune round2``: the face of :mod:`scitune.steps.round2`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from scitune.cli._app import StoreOption, app, out, render, say
from scitune.steps.round2 import round2
from scitune.store import Store


@app.command("round2")
def round2_cmd(
    experiment: Annotated[str, typer.Argument(help="The finished Round-1 experiment.", show_default=False)],
    top: Annotated[int, typer.Option("--top", min=1, help="Best trials per study to build Round 2 around.")] = 3,
    factor: Annotated[float, typer.Option("--factor", min=1.0, help="Round 2 trains this many times longer.")] = 10.0,
    max_steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Round 2's max_train_steps (instead of --factor).", show_default=False)] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", min=1, help="Trials per study (default 2 x --top).", show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Default: EXPERIMENT-round2.", show_default=False)] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Where to write it (default: NAME.yaml in the current folder).", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Write a Round-2 experiment file from a finished Round 1: its best few configurations, longer
    training, and the schedule rescaled so the extra steps run at a high learning rate."""
    done = round2(Store(store), experiment, top=top, factor=factor, max_train_steps=max_steps,
                  trials_per_study=trials, name=name, out=out_file)
    shown = done.plan.best[["study", "trial", "best_value", "best_step"]].rename(columns={"best_value": "best_objective"})
    render(shown, title=f"{experiment}: the Round-1 trials Round 2 starts from")
    say(done.plan.notes + ([done.note] if done.note else []))
    out.print(f"wrote {done.path}; run it with: scitune run {done.path}")
