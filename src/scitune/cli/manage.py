"""``scitune delete`` and ``rename``: the face of :mod:`scitune.steps.manage`."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, out
from scitune.steps import manage
from scitune.store import Store


@app.command()
def delete(
    experiment: Annotated[str, typer.Argument(help="Experiment name.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first (for scripts).")] = False,
    store: StoreOption = None,
) -> None:
    """Delete an experiment: its studies, trials, metric points, checkpoints, launches and notes from
    the store, and its trials' folders from disk. Asks first unless --yes."""
    db = Store(store)
    plan = manage.deletion_plan(db, experiment)
    if not yes:
        out.print(f"this deletes {plan.describe()}", highlight=False)
        if not typer.confirm("delete it?", default=False):
            out.print("nothing deleted")
            raise typer.Exit(1)
    done = manage.delete_experiment(db, experiment)
    out.print(f"deleted experiment '{experiment}' ({plan.trials} trials; {len(done.removed)} folder(s) and file(s) "
              "removed from disk)", highlight=False)


@app.command()
def rename(
    old: Annotated[str, typer.Argument(help="The experiment's name now.", show_default=False)],
    new: Annotated[str, typer.Argument(help="Its new name.", show_default=False)],
    store: StoreOption = None,
) -> None:
    """Rename an experiment, keeping its trials, results and decisions. Run its file afterwards with
    experiment: NEW (or scitune run FILE --as NEW) to resume it under the new name."""
    manage.rename_experiment(Store(store), old, new)
    out.print(f"renamed '{old}' to '{new}'", highlight=False)
