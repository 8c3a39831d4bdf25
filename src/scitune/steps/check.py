"""Check: the design review of an experiment file, before any compute is spent.

Playbook ("Designing the next round of experiments"). ``scitune check FILE`` is
:func:`check_experiment`; ``scitune run`` calls :func:`refuse` with the same review as it starts,
so a refusal stops the run before the store is touched. In order:

1. load and validate the file (an invalid one is a :class:`~scitune.errors.ConfigError`);
2. run the rules (:func:`scitune.analysis.design_review.design_review`), leaving out those the
   file's ``check: {ignore: [...]}`` silences.
"""

from __future__ import annotations

from pathlib import Path

from scitune.analysis.design_review import DesignReview, design_review
from scitune.config import Experiment, load_experiment
from scitune.errors import DesignRefused


def check_experiment(experiment: Experiment | str | Path) -> DesignReview:
    """The design review of ``experiment`` (an :class:`Experiment` or an experiment file's path)."""
    if isinstance(experiment, (str, Path)):
        experiment, _ = load_experiment(experiment)
    return design_review(experiment)


def refuse(review: DesignReview) -> None:
    """Raise :class:`~scitune.errors.DesignRefused` when the review holds a refusal."""
    if review.refusals:
        first = review.refusals[0]
        more = f" (and {len(review.refusals) - 1} more)" if len(review.refusals) > 1 else ""
        raise DesignRefused(
            f"{review.experiment}: refused by the design review: {first.title}{more}",
            review.refusals,
            hint=f"{first.suggestion} `scitune check FILE` explains; to run anyway, add {first.silence} to the file",
        )
