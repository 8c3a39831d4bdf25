"""Search algorithms: they turn a search space into the points a study will train."""

from scitune.search.quasi_random import QuasiRandomSearch

__all__ = ["QuasiRandomSearch"]
