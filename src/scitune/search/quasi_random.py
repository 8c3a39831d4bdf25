"""Quasi-random search: scrambled Halton points (scipy's), mapped onto the search space.

Why quasi-random during exploration (playbook FAQ "Why use quasi-random search instead of more sophisticated black box optimization
algorithms during the exploration phase of tuning?"): it behaves like a jittered,
shuffled grid, covers the space uniformly so boundary reasoning stays valid, is reproducible from
its seed, and gives the same points whether trials run in parallel or one after another.

Points are indexed: point ``i`` of a study is the ``i``-th row of one seeded Halton sequence, so
asking for 16 points and then 16 more gives exactly the first 32 points of asking for 32. Every
study of an experiment uses the same sequence, which pairs the comparison between scientific values.
"""

from __future__ import annotations

import math
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
        return scrambled_halton(self.space.dimensions, self.seed, start, n)

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


def _primes(n: int) -> list[int]:
    """The first ``n`` primes: the Halton sequence's bases, one per dimension."""
    found: list[int] = []
    candidate = 2
    while len(found) < n:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found


def scrambled_halton(d: int, seed: int, start: int, n: int) -> np.ndarray:
    """Rows ``start .. start+n-1`` of ``scipy.stats.qmc.Halton(d, scramble=True,
    rng=np.random.default_rng(seed))``, bit for bit (``tests/search`` checks it against scipy), in
    numpy alone: importing scipy.stats takes about a second, more than a one-trial run's own work.

    As scipy does it: the engine's generator is spawned from the seed's; each dimension ``k`` counts
    in the ``k``-th prime base, and each of a number's digits (as many as a double resolves) goes
    through its own random permutation of the base's digits (Owen's scrambling), drawn dimension
    by dimension, digit by digit, at construction."""
    parent = np.random.default_rng(seed).bit_generator
    seeds = getattr(parent, "seed_seq", None) or parent._seed_seq  # numpy < 1.25 names it privately
    rng = np.random.Generator(type(parent)(seeds.spawn(1)[0]))
    out = np.empty((n, d))
    index = np.arange(start, start + n, dtype=np.int64)
    for dim, base in enumerate(_primes(d)):
        digits = math.ceil(54 / math.log2(base)) - 1  # those with base**-k > 2**-54
        permutations = np.repeat(np.arange(base)[None], digits, axis=0)
        for permutation in permutations:
            rng.shuffle(permutation)
        value, quotient, weight = np.zeros(n), index.copy(), 1.0 / base
        for k in range(digits):
            value += permutations[k, quotient % base] * weight
            weight /= base
            quotient //= base
        out[:, dim] = value
    return out
