"""Quasi-random search: scrambled Halton points from scipy, mapped onto the search space.

Why quasi-random during exploration (playbook FAQ "Why use quasi-random search instead of more sophisticated black box optimization
algorithms during the exploration phase of tuning?"): it behaves like a jittered,
shuffled grid, covers the space uniformly so boundary reasoning stays valid, is reproducible from
its seed, and gives the same points whether trials run in parallel or one after another.

Points are indexed: point ``i`` of a study is the ``i``-th row of one seeded Halton sequence, so
asking for 16 points and then 16 more gives exactly the first 32 points of asking for 32. Every
study of an experiment uses the same sequence, which pairs the comparison between scientific values.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from scitune.space import Scalar, SearchSpace

ALGORITHM = "quasi_random"


class QuasiRandomSearch:
    """``points(start, n)``: rows ``start .. start+n-1`` of the seeded, scrambled Halton sequence,
    each mapped to hyperparameter values."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = int(seed)

    def unit_points(self, start: int, n: int) -> np.ndarray:
        """The raw unit-cube rows, shape ``(n, dimensions)``."""
        if start < 0 or n < 0:
            raise ValueError("start and n must be non-negative")
        if self.space.dimensions == 0:
            return np.empty((n, 0))
        from scipy.stats import qmc  # scipy.stats takes a second to import; only runs need it

        # A fresh engine per call: scrambling depends only on the seed, and fast_forward makes
        # row `start` the next one drawn, so any window of the sequence is reproducible.
        engine = qmc.Halton(d=self.space.dimensions, scramble=True, rng=np.random.default_rng(self.seed))
        if start:
            engine.fast_forward(start)
        return engine.random(n)

    def points(self, start: int, n: int, context: Mapping[str, Any] | None = None) -> list[dict[str, Scalar]]:
        """Hyperparameter values of rows ``start .. start+n-1``; ``context`` holds the scientific
        and fixed values that conditions may refer to."""
        return [self.space.point(row, context) for row in self.unit_points(start, n)]

    def describe(self) -> dict[str, Any]:
        """What to persist with a study so its points can be regenerated and audited."""
        import scipy  # here, not at the top: a command that only reads the store never loads scipy

        return {
            "algorithm": ALGORITHM,
            "seed": self.seed,
            "dimensions": self.space.names,
            "engine": "scipy.stats.qmc.Halton(scramble=True)",
            "scipy_version": scipy.__version__,
        }
