"""The one ranking rule in its two forms: ``ranked`` over a frame, ``best_row`` over plain rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scitune.analysis.ranking import best_row, best_trial, rank_key, ranked
from scitune.analysis.summary import SUMMARY_COLUMNS, study_summary, study_summary_rows

STATES = ["completed", "completed", "failed", "pending", "infeasible", "completed", "interrupted"]
VALUES = [0.5, 0.25, math.inf, -math.inf, float("nan"), None, "n/a", 0.25, 1.0, -0.5]


def _random_trials(rng: np.random.Generator, n: int) -> list[dict]:
    """Trials with ties, infinities, NaN, missing and non-numeric objectives, in every state."""
    rows = []
    for number in rng.permutation(n):
        rows.append({"study": str(rng.choice(["a", "b", "c"])), "trial": int(number),
                     "state": str(rng.choice(STATES)), "best_value": VALUES[int(rng.integers(len(VALUES)))],
                     "best_step": int(rng.integers(1, 100))})
    return rows


@pytest.mark.parametrize("mode", ["min", "max"])
def test_best_row_picks_the_trial_ranked_first_on_many_random_tables(mode: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        rows = _random_trials(rng, int(rng.integers(0, 12)))
        frame = pd.DataFrame(rows, columns=["study", "trial", "state", "best_value", "best_step"])
        expected = best_trial(frame, mode)
        got = best_row(rows, mode)
        assert (got is None) == (expected is None)
        if got is not None:
            assert got["trial"] == expected["trial"]
        ranked_numbers = ranked(frame, mode)["trial"].tolist()
        keyed = sorted((k, r["trial"]) for r in rows if (k := rank_key(r, mode)) is not None)
        assert [t for _, t in keyed] == ranked_numbers


def test_rank_key_orders_by_the_oriented_objective_then_the_trial_number() -> None:
    assert rank_key({"state": "completed", "best_value": 0.5, "trial": 3}, "max") == (-0.5, 3)
    assert rank_key({"state": "completed", "best_value": math.nan, "trial": 3}, "min") is None
    assert rank_key({"state": "failed", "best_value": 0.1, "trial": 3}, "min") is None
    tie = [{"state": "completed", "best_value": 0.2, "trial": 5}, {"state": "completed", "best_value": 0.2, "trial": 2}]
    assert best_row(tie, "min")["trial"] == 2


@pytest.mark.parametrize("mode", ["min", "max"])
def test_study_summary_rows_equal_study_summary_on_random_tables(mode: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        rows = _random_trials(rng, int(rng.integers(0, 15)))
        frame = pd.DataFrame(rows, columns=["study", "trial", "state", "best_value", "best_step"])
        counts = frame.groupby(["study", "state"], sort=False).size().rename("count").reset_index()
        triples = list(counts.itertuples(index=False, name=None))
        studies = ["a", "b", "c", "none"]
        expected = study_summary(frame, mode, studies)
        plain = pd.DataFrame(study_summary_rows(rows, mode, studies, triples), columns=SUMMARY_COLUMNS)
        pd.testing.assert_frame_equal(plain, expected)
