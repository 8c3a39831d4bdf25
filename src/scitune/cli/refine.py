"""``scitune refine``: the face of :mod:`scitune.steps.refine`."""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, out, say
from scitune.store import Store


class Sampler(str, Enum):
    gp = "gp"
    tpe = "tpe"


@app.command()
def refine(
    experiment: Annotated[str, typer.Argument(help="The exploration (a quasi-random experiment).", show_default=False)],
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the new experiment file. "
                        "Default: NAME.yaml in the current folder.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The new experiment's name. Default: EXPERIMENT-bayes.",
                                                show_default=False)] = None,
    sampler: Annotated[Sampler, typer.Option("--sampler", help="Optuna's GP or TPE sampler.")] = Sampler.gp,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="trials_per_study of the Bayesian round. "
                                                  "Default: the exploration's.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Replace an existing file.")] = False,
    store: StoreOption = None,
) -> None:
    """Propose a narrower search space from an exploration's best trials and write it as a ready
    experiment file for the Bayesian round (warm-started from the exploration). Refuses, saying why,
    while a study's best trial sits near the edge of a range: widen it and explore again first."""
    from scitune.steps.refine import refine_experiment, refined_note, write_refined  # scipy.stats: only when asked

    refined = refine_experiment(Store(store), experiment, new_name=name, sampler=sampler.value, trials_per_study=trials)
    path = write_refined(refined, out_path, overwrite=force)
    out.print(f"refined search space for [bold]{refined.name}[/bold], from the best trials of '{experiment}':")
    for r in refined.refinement.ranges:
        out.print(f"  {r.param}: [{r.old_low:g}, {r.old_high:g}] -> [{r.low:g}, {r.high:g}] "
                  f"(keeps {r.kept:.0%} of the {r.scale} range)", highlight=False)
    out.print(f"wrote {path}; run it with: scitune run {shlex.quote(str(path))}", highlight=False)
    note = refined_note(refined, path)
    if note:
        say([note])
