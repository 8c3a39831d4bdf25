"""``scitune next``: the face of :mod:`scitune.steps.next_round`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from scitune.cli._app import StoreOption, app, out
from scitune.store import Store


@app.command("next")
def next_cmd(
    experiment: Annotated[str, typer.Argument(help="The finished round (an experiment in the store).",
                                              show_default=False)],
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the next round's file. "
                        "Default: ./NAME.yaml, or beside the original file when its training code is found only "
                        "from there.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The next round's name. Default: EXPERIMENT-next.",
                                                show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    store: StoreOption = None,
) -> None:
    """Write the next round's experiment file from this round's findings, for you to review: wider
    ranges where the best trials sit at an edge, more trials, another step budget, a retrain plan
    when the answer is not settled, or the Bayesian round when the space is adequate. Each change
    carries its reason as a comment. Nothing runs."""
    from scitune.steps.next_round import HEADLINES, next_round, write_next  # scipy.stats: only when asked

    planned = next_round(Store(store), experiment, new_name=name, out=out_path)
    path = write_next(planned, overwrite=force)
    plan = planned.plan
    out.print(f"[bold]{planned.name}[/bold]: {escape(HEADLINES[plan.kind])}", highlight=False)
    for change in plan.changes:
        out.print(f"  - {escape(change.reason)}", soft_wrap=True, highlight=False)
    for note in plan.notes:
        out.print(f"  [dim]- {escape(note)}[/dim]", soft_wrap=True, highlight=False)
    if planned.commands:
        out.print("settle the answer first:", highlight=False)
        for command in planned.commands:
            out.print(f"  {escape(command)}", highlight=False)
    out.print(f"wrote {path}; nothing has run. Review it, then: scitune run {shlex.quote(str(path))}", highlight=False)
