"""Training seeds: which seed each trial and each rerun trains with.

Trial ``i`` has the same seed in every study of an experiment, so studies are paired in
initialization and data order as well as in nuisance values; reruns of a trial get seeds derived
from the trial's own, so asking for more reruns later extends the list instead of changing it.
"""

from __future__ import annotations

import numpy as np


def trial_seed(search_seed: int, number: int) -> int:
    """The training seed of trial ``number``. The same in every study, so the studies' trials are
    paired in initialization and data order as well as in nuisance values."""
    return int(np.random.SeedSequence([search_seed, number]).generate_state(1)[0] & 0x7FFFFFFF)


def rerun_seeds(seed: int, count: int) -> list[int]:
    """``count`` training seeds for reruns of a trial whose seed is ``seed``: deterministic,
    different from ``seed`` and from each other, and each list a prefix of any longer one
    (NumPy ``SeedSequence(seed, spawn_key=(index,))``, skipping repeats)."""
    out: list[int] = []
    index = 0
    while len(out) < count:
        child = np.random.SeedSequence(seed, spawn_key=(index,))
        value = int(child.generate_state(1)[0] & 0x7FFFFFFF)
        if value != seed and value not in out:
            out.append(value)
        index += 1
    return out
