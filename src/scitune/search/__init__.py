"""Search algorithms: they turn a search space (and, for the Bayesian round, observations) into
the points a study will train, and give each trial its training seed. No store, no runner."""

from scitune.search.quasi_random import QuasiRandomSearch
from scitune.search.seeds import rerun_seeds, trial_seed

__all__ = ["QuasiRandomSearch", "trial_seed", "rerun_seeds"]
