"""``scitune adam-preset``: the face of :mod:`scitune.steps.adam`."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from scitune.cli._app import app, out
from scitune.steps.adam import adam_preset


@app.command("adam-preset")
def adam_preset_cmd(
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials per study you can afford.")],
) -> None:
    """The Adam hyperparameters to tune for a trial budget, as experiment-file YAML; write
    `adam: {preset: auto}` in the nuisance section to get them sized by trials_per_study."""
    preset = adam_preset(trials)
    out.print(f"# {trials} trials per study: tune {', '.join(preset.nuisance)} (playbook FAQ on Adam; epsilon in "
              "PyTorch's form)")
    out.print(yaml.safe_dump({"nuisance": preset.nuisance, **({"fixed": preset.fixed} if preset.fixed else {})},
                             sort_keys=False, default_flow_style=None).rstrip(), markup=False, highlight=False)
