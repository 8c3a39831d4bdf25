"""Fail fast: the rule that stops a run whose first trials all failed, on planted trial tables."""

from __future__ import annotations

import pandas as pd
import pytest

from scitune.analysis.failures import FAIL_FAST_DEFAULT, fail_fast, failure_shape, never_reported_reason


def _finished(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
    """Trials finished in this order: (state, reason)."""
    return pd.DataFrame(
        [{"study": "default", "trial": i, "state": state, "reason": reason, "finished_at": 100.0 + i}
         for i, (state, reason) in enumerate(rows)]
    )


RETURNED = never_reported_reason("val_loss", [], 0.31)
WRONG_METRIC = never_reported_reason("val_loss", ["loss"])
ONE_ARGUMENT = "TypeError: train() takes 1 positional argument but 2 were given"
RAISED = "RuntimeError: boom at step 3"


@pytest.mark.parametrize(
    "reason, shape, cause, hint",
    [
        (RETURNED, "returned", "train returned 0.31", "report it with trial.report(step, val_loss=...)"),
        (WRONG_METRIC, "never_reported", "the objective 'val_loss' was never reported; reported metrics: loss",
         "set objective.metric to one of loss"),
        (ONE_ARGUMENT, "signature", "takes 1 positional argument", "scitune calls train(hparams, trial)"),
        (RAISED, "raised", "RuntimeError: boom at step 3", "scitune show exp/default/0"),
    ],
)
def test_each_shape_stops_with_its_cause_and_hint(reason: str, shape: str, cause: str, hint: str) -> None:
    verdict = fail_fast(_finished([("failed", reason)] * 3), "val_loss", 3, experiment="exp")
    assert verdict is not None and verdict.shape == shape
    assert cause in verdict.cause and "the first 3 trials all failed the same way" in verdict.cause
    assert hint in verdict.hint
    assert verdict.trials == ("default/0", "default/1", "default/2")
    assert failure_shape(reason) == shape


def test_goes_on_while_any_first_trial_completed_or_diverged() -> None:
    assert fail_fast(_finished([("failed", RAISED), ("completed", None), ("failed", RAISED)]), "m") is None
    # A diverged trial reported its objective (as NaN): the search's business, not a bug.
    assert fail_fast(_finished([("failed", RAISED), ("infeasible", "m is nan"), ("failed", RAISED)]), "m") is None
    # Only the first trials count: later failures after a success never stop the run.
    assert fail_fast(_finished([("completed", None)] + [("failed", RAISED)] * 5), "m") is None


def test_waits_for_enough_trials_and_can_be_turned_off() -> None:
    assert FAIL_FAST_DEFAULT == 3
    assert fail_fast(_finished([("failed", RAISED)] * 2), "m") is None
    assert fail_fast(_finished([("failed", RAISED)] * 9), "m", 0) is None
    assert fail_fast(_finished([("failed", RAISED)] * 5), "m", 5) is not None


def test_different_failures_still_stop_and_are_counted() -> None:
    verdict = fail_fast(_finished([("failed", RAISED), ("failed", WRONG_METRIC), ("failed", RAISED)]), "val_loss")
    assert verdict is not None and verdict.shape == "raised"
    assert "2 x RuntimeError: boom at step 3" in verdict.cause and "1 x the objective" in verdict.cause


def test_order_is_by_finishing_time_not_by_row() -> None:
    frame = _finished([("failed", RAISED)] * 3 + [("completed", None)])
    frame.loc[3, "finished_at"] = 0.0  # the completed trial finished first
    assert fail_fast(frame, "m") is None


def test_never_reported_reason_says_what_was_reported_and_returned() -> None:
    assert never_reported_reason("acc", ["b", "a"]) == "the objective 'acc' was never reported; reported metrics: a, b"
    assert never_reported_reason("acc") == "the objective 'acc' was never reported; no metric was reported"
    assert never_reported_reason("acc", [], {"loss": 1}).endswith("train returned {'loss': 1}")
    assert failure_shape("its worker process died (killed by SIGKILL)") == "other"
    assert failure_shape("exit code 1: oops") == "other"


def _simulated_run(rng, n: int, p_fail: float, p_infeasible: float = 0.0) -> pd.DataFrame:
    draws = rng.random(n)
    states = ["failed" if d < p_fail else "infeasible" if d < p_fail + p_infeasible else "completed" for d in draws]
    return _finished([(s, RAISED if s == "failed" else None) for s in states])


@pytest.mark.slow  # thousands of simulated runs
def test_false_alarm_and_detection_rates_over_many_simulated_runs() -> None:
    """A healthy workload with flaky trials (each fails on its own with probability p, e.g. a
    transient out-of-memory) is stopped only when its first 3 all fail, p**3 of the time; a broken
    one (every trial fails) is always stopped; divergence alone never stops a run."""
    import numpy as np

    rng = np.random.default_rng(0)
    runs = 1000
    for p_fail, bound in ((0.05, 0.003), (0.1, 0.006), (0.2, 0.02)):
        stopped = sum(fail_fast(_simulated_run(rng, 16, p_fail), "m") is not None for _ in range(runs)) / runs
        assert stopped <= bound, (p_fail, stopped)  # expected p**3: 0.000125, 0.001, 0.008
    broken = sum(fail_fast(_simulated_run(rng, 16, 1.0), "m") is not None for _ in range(200)) / 200
    assert broken == 1.0
    diverging = sum(fail_fast(_simulated_run(rng, 16, 0.0, 0.6), "m") is not None for _ in range(200)) / 200
    assert diverging == 0.0
