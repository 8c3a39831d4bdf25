"""Instability tools: loss spikes, stability verdicts, the clipping percentile on known norms, and
the warmup protocol on a synthetic trainer whose unstable rate and needed warmup are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scitune.analysis import clipping, instability, warmup


def test_loss_spikes_start_once_and_respect_the_scale() -> None:
    steps = list(range(1, 11))
    smooth = [2.0, 1.5, 1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.38, 0.37]
    assert instability.loss_spikes(steps, smooth) == []
    spiky = [2.0, 1.5, 1.0, 0.8, 1.9, 2.5, 0.6, 0.5, 1.8, 0.4]  # two jumps back past half the progress
    assert instability.loss_spikes(steps, spiky) == [5, 9]
    assert instability.loss_spikes(steps, spiky, within=6) == [5]
    wobble = [2.0, 1.0, 0.5, 0.55, 0.5, 0.45, 0.5, 0.4, 0.42, 0.39]  # small noise is no spike
    assert instability.loss_spikes(steps, wobble) == []
    assert instability.loss_spikes([1, 2, 3], [2.0, math.nan, 1.0]) == [2]


def test_judge_stability() -> None:
    assert instability.judge_stability("infeasible", [], []) == (True, "diverged (infeasible)")
    assert instability.judge_stability("failed", [1], [1.0])[0] is None
    assert instability.judge_stability("completed", [1, 2, 3], [2.0, 1.0, 0.5]) == (False, "stable")
    assert "spiked at step 3" in instability.judge_stability("completed", [1, 2, 3], [2.0, 1.0, 3.0])[1]
    rising = instability.judge_stability("completed", [1, 2, 3, 4], [1.0, 1.02, 1.04, 1.05])
    assert rising[0] is True and "ended higher" in rising[1]


def test_clipping_threshold_is_the_90th_percentile_of_known_norms() -> None:
    norms = np.arange(1.0, 101.0)  # 1, 2, ..., 100
    assert clipping.clipping_threshold(norms) == pytest.approx(90.1)
    assert clipping.clipping_threshold([*norms, math.nan, math.inf]) == pytest.approx(90.1)  # finite norms only
    advice = clipping.clipping_advice(norms)
    assert (advice.fraction_clipped, advice.too_aggressive) == (0.1, False)
    assert "the 90th percentile" in advice.message
    hard = clipping.clipping_advice(norms, threshold=40.0)
    assert hard.fraction_clipped == 0.6 and hard.too_aggressive and "lower the learning rate" in hard.message
    assert clipping.clip_scale(10.0, 5.0) == 0.5 and clipping.clip_scale(3.0, 5.0) == 1.0


def test_stability_table_reads_each_trial() -> None:
    trials = pd.DataFrame([
        {"id": 1, "study": "s", "trial": 0, "state": "completed", "params": {"learning_rate": 0.01, "grad_clip": 3.0}},
        {"id": 2, "study": "s", "trial": 1, "state": "completed", "params": {"learning_rate": 0.3}},
    ])
    rows = [(1, "train_loss", s, 1 / s) for s in range(1, 21)]
    rows += [(2, "train_loss", s, 1 / s if s != 8 else 5.0) for s in range(1, 21)]
    rows += [(t, "grad_norm", s, float(s % 10 + 1)) for t in (1, 2) for s in range(1, 21)]
    metrics = pd.DataFrame(rows, columns=["trial_id", "name", "step", "value"])
    table = instability.stability_table(trials, metrics, early=10)
    assert table["stable"].tolist() == [True, False]
    assert table["first_spike"].tolist()[1] == 8 and table["spikes<= 10"].tolist() == [0, 1]
    assert table["grad_norm_p90"].tolist() == pytest.approx([9.1, 9.1])  # norms 1..10, twice
    assert table["clipped"].tolist()[0] == pytest.approx(0.7)  # norms 4..10 exceed grad_clip 3
    assert "lower the learning rate" in table["advice"].tolist()[0]


def test_warmup_candidates_follow_the_playbooks_list_and_cap() -> None:
    assert warmup.warmup_candidates(1_000) == [10]
    assert warmup.warmup_candidates(10_000) == [10, 1_000]
    assert warmup.warmup_candidates(1_000_000) == [10, 1_000, 10_000, 100_000]
    assert warmup.warmup_candidates(99) == []


def frames(param: str, rows: list[tuple[float, str, list[float]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.DataFrame([{"id": i, "study": f"{param}={v}", "trial": 0, "state": st, "params": {param: v}}
                           for i, (v, st, _) in enumerate(rows)])
    metrics = pd.DataFrame([(i, "train_loss", 10 * (k + 1), x) for i, (_, _, c) in enumerate(rows)
                            for k, x in enumerate(c)], columns=["trial_id", "name", "step", "value"])
    return trials, metrics


def test_unstable_rate_and_shortest_stable_warmup_on_planted_sweeps() -> None:
    found = warmup.find_unstable_learning_rate(*frames("learning_rate", [
        (0.01, "completed", [2.0, 1.0, 0.6]), (0.03, "completed", [2.0, 0.8, 0.3]),
        (0.1, "completed", [2.0, 0.5, 1.8]), (0.3, "infeasible", [2.0, math.nan])]))
    assert (found.best_learning_rate, found.unstable_learning_rate) == (0.03, 0.1)
    calm = warmup.find_unstable_learning_rate(*frames("learning_rate", [(0.01, "completed", [2.0, 1.0])]))
    assert calm.unstable_learning_rate is None and "stable across the grid" in calm.warnings[0]

    choice = warmup.choose_warmup(*frames("warmup_steps", [
        (10, "completed", [2.0, 0.5, 1.9]), (1000, "completed", [2.0, 1.0, 0.2]), (10000, "completed", [2.0, 1.5, 0.9])]),
        learning_rate=1.0, max_train_steps=15_000, baseline_loss=0.3)
    assert choice.warmup_steps == 1000 and choice.new_max_train_steps == 16_000
    assert "extend max_train_steps from 15000 to 16000" in choice.notes[0]
    assert any("over 5%" in n for n in choice.notes)
    assert not any("does not pay" in n for n in choice.notes)  # 0.2 beats the no-warmup 0.3
    none = warmup.choose_warmup(*frames("warmup_steps", [(10, "infeasible", [2.0, math.nan])]),
                                learning_rate=1.0, max_train_steps=1000)
    assert none.warmup_steps is None and "gradient clipping" in none.notes[0]


