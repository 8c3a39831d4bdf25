"""The digits example trainer (examples/digits/train.py) against a fake trial handle."""

from __future__ import annotations

import copy
import importlib
import math
import sys

import pytest

from helpers import REPO

ROOT = REPO


class FakeTrial:
    """The part of scitune's trial handle that train() uses, recording every report."""

    def __init__(self, seed: int = 0, max_train_steps: int = 60, eval_every: int = 20) -> None:
        self.seed = seed
        self.max_train_steps = max_train_steps
        self.eval_every = eval_every
        self.reports: list[tuple[int, dict[str, float]]] = []

    def should_eval(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.max_train_steps

    def report(self, step: int, **metrics: float) -> None:
        self.reports.append((step, metrics))

    def resume(self):
        return self.resume_from

    resume_from = None  # (step, state) to continue from
    saved: dict = {}

    def save_checkpoint(self, step: int, state) -> None:
        self.saved = {**self.saved, step: copy.deepcopy(state)}  # as written to disk, not live tensors


def hparams(**overrides) -> dict:
    hp = {
        "width": 32,
        "learning_rate": 3e-3,
        "one_minus_beta1": 0.1,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "optimizer": "adam",
    }
    return hp | overrides


@pytest.fixture(scope="module")
def train():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    if str(ROOT) not in sys.path:  # examples/ is a package at the repository root, not installed
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("examples.digits.train").train


def run(train, seed: int = 0, **overrides) -> list[tuple[int, dict[str, float]]]:
    trial = FakeTrial(seed=seed)
    train(hparams(**overrides), trial)
    return trial.reports


@pytest.mark.slow
def test_reports_finite_metrics_at_each_evaluation(train):
    reports = run(train)
    assert [step for step, _ in reports] == [20, 40, 60]
    for _, metrics in reports:
        assert set(metrics) == {"train_loss", "val_loss", "val_error"}
        assert all(type(v) is float and math.isfinite(v) for v in metrics.values())
        assert 0.0 <= metrics["val_error"] <= 1.0
    assert reports[-1][1]["train_loss"] < reports[0][1]["train_loss"]  # it learns


def test_same_seed_same_curve_other_seed_other_curve(train):
    assert run(train, seed=1) == run(train, seed=1)
    assert run(train, seed=1) != run(train, seed=2)


def test_optional_depth_and_activation(train):
    reports = run(train, depth=2, activation="tanh")
    assert [step for step, _ in reports] == [20, 40, 60]
    assert reports != run(train)


@pytest.mark.parametrize("key, value", [("optimizer", "sgd"), ("activation", "swish")])
def test_unsupported_choice_raises_naming_it(train, key, value):
    with pytest.raises(ValueError, match=value):
        run(train, **{key: value})


def test_exception_from_report_stops_training(train):
    class Stop(Exception):
        pass

    class StoppingTrial(FakeTrial):
        def report(self, step: int, **metrics: float) -> None:
            super().report(step, **metrics)
            raise Stop

    trial = StoppingTrial()
    with pytest.raises(Stop):
        train(hparams(), trial)
    assert [step for step, _ in trial.reports] == [20]


@pytest.mark.slow
def test_saves_a_checkpoint_at_each_evaluation_and_resumes_from_one(train):
    whole = FakeTrial(seed=3)
    train(hparams(), whole)
    assert sorted(whole.saved) == [20, 40, 60]
    assert set(whole.saved[20]) == {"model", "optimizer"}
    # An interrupted trial continues from its step-40 checkpoint: the same curve from there on.
    resumed = FakeTrial(seed=3)
    resumed.resume_from = (40, whole.saved[40])
    train(hparams(), resumed)
    assert resumed.reports == whole.reports[2:]
