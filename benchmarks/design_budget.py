"""What does ``space_too_large``'s trial budget buy? The best quasi-random trial's distance to the optimum.

For a nuisance space of d equally important dimensions (unit ranges) and an optimum placed at
random in [0.2, 0.8]^d, scitune's quasi-random search (one seed per repetition) draws n points; the
figure is the median, over repetitions, of the best point's squared distance to the optimum per
dimension. ``scitune check``'s budget (:func:`scitune.analysis.design_review.trials_needed`: 10
trials for 2 dimensions, 25 for 3, 50 for 4, then doubling) keeps that figure roughly constant as d
grows, which is what makes it a fair "covers the space" line. docs/check.md records a run.

``python -m benchmarks.design_budget [--reps K]``
"""

from __future__ import annotations

import argparse

import numpy as np

SIZES = (5, 10, 25, 50, 100, 200)


def distances(reps: int = 100, dims: range = range(1, 7), sizes: tuple[int, ...] = SIZES) -> dict[tuple[int, int], float]:
    from scitune.search import QuasiRandomSearch
    from scitune.space import RangeParam, SearchSpace

    rng = np.random.default_rng(0)
    out = {}
    for d in dims:
        space = SearchSpace.build([RangeParam(f"x{i}", 0.0, 1.0) for i in range(d)])
        for n in sizes:
            found = []
            for seed in range(reps):
                points = QuasiRandomSearch(space, seed).points(0, n, {})
                u = np.array([[p[f"x{i}"] for i in range(d)] for p in points])
                optimum = rng.uniform(0.2, 0.8, d)
                found.append(float(np.min(np.sum((u - optimum) ** 2, axis=1)) / d))
            out[(d, n)] = float(np.median(found))
    return out


def main() -> None:
    from scitune.analysis.design_review import trials_needed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    args = parser.parse_args()
    table = distances(args.reps)
    print("| dimensions | trials needed | " + " | ".join(f"n={n}" for n in SIZES) + " |")
    print("|---:|---:|" + "---:|" * len(SIZES))
    for d in range(1, 7):
        need = trials_needed(d)
        cells = [f"**{table[(d, n)]:.4f}**" if n == need else f"{table[(d, n)]:.4f}" for n in SIZES]
        print(f"| {d} | {need} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
