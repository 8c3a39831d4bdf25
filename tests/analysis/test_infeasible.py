"""The rule that decides what the Bayesian sampler learns from each trial, on planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scitune.analysis.infeasible import (
    SamplerVerdict,
    failure_counts_against_point,
    outlier_threshold,
    outliers,
    robust_scale,
    sampler_verdicts,
)


def test_a_loss_many_robust_sigmas_worse_is_an_outlier_and_the_tail_does_not_hide_it() -> None:
    typical = [0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16]  # median 0.13, MAD 0.02 -> sigma 0.0297
    values = typical + [0.30, 2.5]
    centre, spread = robust_scale(values)
    assert centre == pytest.approx(0.14) and spread == pytest.approx(1.4826 * 0.02)
    # 0.30 is 5.4 robust sigmas above the median: kept at the default 6, flagged at 5.
    assert outliers(values, "min").tolist() == [False] * 8 + [True]
    assert outliers(values, "min", sigma=5).tolist() == [False] * 7 + [True, True]
    # The mean and standard deviation would not have caught 0.30: the 2.5 inflates them.
    assert (0.30 - np.mean(values)) / np.std(values) < 1


def test_only_the_worse_side_counts_and_max_objectives_are_mirrored() -> None:
    accuracy = [0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.99999, 0.10]
    assert outliers(accuracy, "max").tolist() == [False] * 7 + [True]
    assert outliers([-v for v in accuracy], "min").tolist() == [False] * 7 + [True]
    assert not outliers([*accuracy[:6], 50.0], "max").any()  # far better than typical is never "infeasible"
    assert outlier_threshold(accuracy, "max") < 0.9


def test_too_few_or_identical_values_flag_nothing_and_a_zero_mad_falls_back() -> None:
    assert robust_scale([0.1, 0.2, 0.3, 5.0]) is None  # fewer than five values: no "typical"
    assert not outliers([0.1, 0.2, 0.3, 5.0], "min").any()
    assert robust_scale([0.2] * 6) is None and not outliers([0.2] * 6, "min").any()
    # More than half equal: MAD is 0, the mean absolute deviation takes over.
    values = [0.2, 0.2, 0.2, 0.2, 0.3, 0.25, 9.0]
    centre, spread = robust_scale(values)
    assert centre == 0.2 and spread == pytest.approx(1.2533 * np.mean(np.abs(np.array(values) - 0.2)))
    assert outliers(values, "min", sigma=3).tolist() == [False] * 6 + [True]
    assert not outliers([0.1, 0.2, np.nan, 0.3, 0.4, 0.5], "min").any()  # NaN is never an outlier here


@pytest.mark.parametrize(
    ("reason", "against"),
    [
        ("RuntimeError: boom at step 3", True),  # the training code raised: the point's doing
        ("exit code 1: CUDA out of memory", True),
        ("the objective 'val_error' was never reported", True),
        ("timeout: killed after 30 s", False),
        ("killed by SIGKILL: no output on stderr", False),
        ("its worker process died (killed by SIGKILL)", False),
        ("the runner was stopped", False),
        ("cannot start 'python': No such file or directory", False),
    ],
)
def test_which_failures_count_against_their_point(reason: str, against: bool) -> None:
    assert failure_counts_against_point(reason) is against


def test_verdicts_per_state() -> None:
    rows = [
        ("completed", None, 0.10), ("completed", None, 0.11), ("completed", None, 0.12), ("completed", None, 0.13),
        ("completed", None, 0.14), ("completed", None, 0.15), ("completed", None, 9.0),
        ("infeasible", "val_error is nan at step 4", None),
        ("failed", "RuntimeError: lr too large", None),
        ("failed", "timeout: killed after 5 s", None),
        ("running", None, 0.2), ("pending", None, None), ("interrupted", "the runner was stopped", 0.3),
    ]
    trials = pd.DataFrame(rows, columns=["state", "reason", "best_value"], index=range(100, 113))
    verdicts = sampler_verdicts(trials, "min")
    assert verdicts.index.tolist() == trials.index.tolist()
    assert verdicts.tolist() == [SamplerVerdict.FEASIBLE] * 6 + [SamplerVerdict.VIOLATED] * 3 + [SamplerVerdict.IGNORED] + [SamplerVerdict.UNKNOWN] * 3
    # sigma=None turns the outlier rule off; the other verdicts stay.
    assert sampler_verdicts(trials, "min", None).tolist()[6] == SamplerVerdict.FEASIBLE
