"""Learning-rate schedules: values at the steps that matter, warmup composition, hyperparameters."""

from __future__ import annotations

import math
import textwrap

import pytest

from scitune.config import parse_experiment
from scitune.training import schedules as s


def test_constant_linear_cosine_at_key_steps() -> None:
    assert [s.constant(0.3)(c) for c in (0, 10, 10**6)] == [0.3, 0.3, 0.3]
    linear = s.linear(1.0, 0.0, 100)
    assert [linear(c) for c in (0, 25, 50, 100, 150)] == pytest.approx([1.0, 0.75, 0.5, 0.0, 0.0])
    held = s.linear(2.0, 0.2, 10, transition_begin=5)
    assert [held(c) for c in (0, 5, 10, 15, 99)] == pytest.approx([2.0, 2.0, 1.1, 0.2, 0.2])
    cosine = s.cosine_decay(1.0, 100)
    assert [cosine(c) for c in (0, 50, 100, 200)] == pytest.approx([1.0, 0.5, 0.0, 0.0], abs=1e-12)
    floor = s.cosine_decay(1.0, 100, alpha=0.1)
    assert floor(50) == pytest.approx(0.55) and floor(100) == pytest.approx(0.1)


def test_warmup_prepends_and_extends_any_schedule() -> None:
    decay = s.linear(1.0, 0.0, 100)
    warm = s.warmup(decay, 10)
    # 0 -> the schedule's start over 10 updates, then the whole schedule shifted by 10
    assert [warm(c) for c in (0, 5, 10, 60, 110)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    assert s.warmup(decay, 0) is decay
    joined = s.join([s.constant(1.0), s.constant(0.1)], [30])
    assert (joined(29), joined(30)) == (1.0, 0.1)
    with pytest.raises(ValueError):
        s.join([s.constant(1.0)], [3])


def test_schedule_from_hparams() -> None:
    assert s.schedule_from_hparams({}, 100)(57) == 1.0  # no schedule named: constant
    lin = s.schedule_from_hparams({"schedule": "linear", "warmup_steps": 10}, 110)
    assert [lin(c) for c in (0, 5, 10, 60, 110)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    # decay_steps shorter than the run: the rate is held at base until the decay starts
    held = s.schedule_from_hparams({"schedule": "linear", "decay_steps": 100, "final_lr_fraction": 0.1}, 300, base=0.5)
    assert [held(c) for c in (0, 199, 200, 250, 300)] == pytest.approx([0.5, 0.5, 0.5, 0.275, 0.05])
    cos = s.schedule_from_hparams({"schedule": "cosine"}, 100)
    assert cos(50) == pytest.approx(0.5) and math.isclose(cos(100), 0.0, abs_tol=1e-12)
    for bad, word in (({"schedule": "step"}, "schedule"), ({"warmup_steps": 100}, "warmup_steps"),
                      ({"final_lr_fraction": 2}, "final_lr_fraction"), ({"decay_steps": 0}, "decay_steps")):
        with pytest.raises(ValueError, match=word):
            s.schedule_from_hparams(bad, 100)


def test_schedule_parameters_are_search_space_hyperparameters() -> None:
    experiment = parse_experiment(textwrap.dedent("""\
        experiment: sched
        goal: Tune the schedule like any nuisance hyperparameter.
        train: m:train
        objective: {metric: val_error}
        budget: {trials_per_study: 4, max_train_steps: 200, eval_every: 10}
        hyperparameters:
          nuisance:
            learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
            schedule: [linear, cosine]
            warmup_steps: {low: 0, high: 20, type: int}
            final_lr_fraction: {low: 1.0e-3, high: 0.1, scale: log}
        """))
    from scitune.search import QuasiRandomSearch

    for point in QuasiRandomSearch(experiment.space, 0).points(0, 4):
        schedule = s.schedule_from_hparams(point, 200, base=point["learning_rate"])
        assert schedule(point["warmup_steps"]) == pytest.approx(point["learning_rate"])
        assert schedule(200) == pytest.approx(point["learning_rate"] * point["final_lr_fraction"])


def test_pytorch_adapter_follows_the_schedule() -> None:
    torch = pytest.importorskip("torch")
    from scitune.training.pytorch import clip_gradients, lr_scheduler

    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([weight], lr=0.2)
    scheduler = lr_scheduler(optimizer, s.warmup(s.linear(1.0, 0.0, 4), 2))
    seen = []
    for _ in range(7):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([0.0, 0.1, 0.2, 0.15, 0.1, 0.05, 0.0])
    weight.grad = torch.tensor([3.0, 4.0, 0.0])
    assert clip_gradients([weight], None) == pytest.approx(5.0)
    assert clip_gradients([weight], 1.0) == pytest.approx(5.0)  # the norm before clipping
    assert weight.grad.norm().item() == pytest.approx(1.0)
