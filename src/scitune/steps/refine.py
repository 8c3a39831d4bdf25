"""Refine: an exploration's results in, a ready experiment file for the Bayesian round out.

Playbook ("After exploration concludes"): once exploration has found the good region and the
space is wide enough, Bayesian optimization runs on a refined space. ``scitune refine EXPERIMENT``
is :func:`refine_experiment` then :func:`write_refined`. In order:

1. read the exploration from the store; refuse one that is not quasi-random;
2. narrow each range around the best trials (:func:`scitune.analysis.space_refinement.refine_space`,
   whose docstring has the rules), refusing while a study's best trials sit near an edge;
3. write the new experiment file: the same goal, objective, budget, training code and fixed
   values, the refined nuisance ranges, and ``search: {algorithm: bayesian, warm_start:
   EXPLORATION}``, so the Bayesian round also learns from the exploration's trials inside them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scitune.analysis.space_refinement import Refinement, refine_space
from scitune.config import parse_experiment
from scitune.errors import RefineRefused, ScituneError
from scitune.run.program import code_note
from scitune.store import Store


@dataclass(frozen=True)
class RefinedExperiment:
    """The Bayesian round's experiment file (``text``), where it goes by default, and the ranges."""

    name: str
    text: str
    path: Path  # in the current folder
    refinement: Refinement
    source: Path | None = None  # the folder of the exploration's file


def _describe_range(r: Any) -> str:
    return (
        f"#   {r.param}: [{r.old_low:g}, {r.old_high:g}] -> [{r.low:g}, {r.high:g}]  "
        f"(best trials {r.best_low:.3g} .. {r.best_high:.3g}; keeps {r.kept:.0%} of the {r.scale} range)"
    )


def refine_experiment(
    store: Store,
    name: str,
    *,
    new_name: str | None = None,
    sampler: str = "gp",
    trials_per_study: int | None = None,
) -> RefinedExperiment:
    """The Bayesian round of exploration ``name``: refuses (one :class:`ScituneError` naming every
    reason) a round that is not a quasi-random exploration, has too few completed trials, or whose
    best trials sit near an edge of a range."""
    row = store.experiment(name)
    experiment = row.experiment
    if experiment.search.algorithm != "quasi_random":
        raise RefineRefused(
            [f"cannot refine '{name}': it is a {experiment.search.algorithm} round, not a quasi-random exploration"],
            hint="refine the exploration the Bayesian round came from (its points cover the space evenly)",
        )
    settings = experiment.report_settings
    try:
        refinement = refine_space(
            store.trials(name), experiment.space, experiment.objective.mode,
            top_k=settings.top_k, edge_fraction=settings.edge_fraction,
        )
    except RefineRefused as err:
        hint = "widen the range(s) named, run the exploration again, then refine" if err.hits else None
        raise RefineRefused([f"cannot refine '{name}': {err.reasons[0]}", *err.reasons[1:]], err.hits, hint) from None

    definition = dict(row.definition)
    new = new_name or f"{name}-bayes"
    definition["experiment"] = new
    definition["search"] = {"algorithm": "bayesian", "sampler": sampler, "seed": experiment.search.seed,
                            "warm_start": name}
    if trials_per_study is not None:
        definition["budget"] = {**definition["budget"], "trials_per_study": trials_per_study}
    definition["hyperparameters"] = {**definition.get("hyperparameters", {}), "nuisance": refinement.nuisance}
    counts = sorted(set(refinement.best.values()))
    header = [
        (f"# Bayesian round after the exploration '{name}': written by `scitune refine {name}` on "
        f"{datetime.date.today().isoformat()}."),
        (f"# Ranges refined around the best {'/'.join(map(str, counts))} completed trial(s) of each study "
        "(docs/bayes.md says how):"),
        *(_describe_range(r) for r in refinement.ranges),
        *(f"# note: study '{h.study}': its best trial has {h.param} = {h.value:.4g}, near the {h.edge} edge, but no "
          "other top trial is there and there is no trend toward it (weak evidence); the range keeps that edge."
          for h in refinement.weak_edges),
        f"# warm_start: the sampler also learns from the finished trials of '{name}' inside these ranges.",
    ]
    text = "\n".join(header) + "\n" + yaml.safe_dump(definition, sort_keys=False, default_flow_style=None, width=110)
    path = Path.cwd() / f"{new}.yaml"  # here, not beside the exploration (it may sit inside a package)
    parse_experiment(text, str(path))  # what we write must be a valid experiment file
    return RefinedExperiment(new, text, path, refinement, row.folder)


def write_refined(refined: RefinedExperiment, path: Path | None = None, *, overwrite: bool = False) -> Path:
    """Write the refined experiment file (to ``refined.path``, in the current folder, unless
    ``path``); never over an existing file unless ``overwrite``."""
    target = Path(path) if path is not None else refined.path
    if target.exists() and not overwrite:
        raise ScituneError(f"{target} exists already", hint="choose another --out, or pass --force to replace it")
    target.write_text(refined.text, encoding="utf-8")
    return target


def refined_note(refined: RefinedExperiment, written: Path) -> str | None:
    """Whether the written file finds its training code (:func:`scitune.run.program.code_note`)."""
    return code_note(parse_experiment(refined.text, str(written)), refined.source, written.resolve().parent)
