"""The playbook's training-protocol tools: how long to train, which batch size, schedules and
warmup, instability and clipping, Adam's search space by budget, and Round 1 -> Round 2.

==========================  =============================================================
module                      what it answers (playbook section in SPEC.md)
==========================  =============================================================
``schedules``               constant / linear / cosine learning rates, warmup prepended (F)
``steps``                   initial max_train_steps from a learning-rate sweep; best steps (D)
``batch_size``              throughput by batch size; steps to a result by batch size (A)
``instability``             loss spikes, stability verdicts, per-trial gradient norms (F)
``warmup``                  the warmup protocol's readings (F)
``clipping``                clipping threshold at the 90th percentile, how often it clips (F)
``adam``                    which Adam hyperparameters to tune for a trial budget (F)
``rounds``                  a Round-2 experiment file from a finished Round 1 (D)
``sweeps``                  the sweeps above as ordinary scitune experiments
``torch_utils``/``ghost_bn``  PyTorch adapters (the only modules that import torch)
==========================  =============================================================

Names are imported on first use, so ``from scitune.protocol import schedule_from_hparams`` in a
training script loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "constant": "schedules", "linear": "schedules", "cosine_decay": "schedules", "join": "schedules",
    "schedule_from_hparams": "schedules", "SCHEDULE_HPARAMS": "schedules",
    "recommend_max_train_steps": "steps", "best_step_distribution": "steps",
    "scan_throughput": "batch_size", "throughput_scaling": "batch_size", "time_train_steps": "batch_size",
    "steps_by_batch_size": "batch_size", "batch_scaling": "batch_size",
    "loss_spikes": "instability", "judge_stability": "instability", "stability_table": "instability",
    "find_unstable_learning_rate": "warmup", "choose_warmup": "warmup", "warmup_candidates": "warmup",
    "clipping_advice": "clipping", "clipping_threshold": "clipping", "clipped_fraction": "clipping",
    "adam_parameters": "adam", "adam_search_space": "adam",
    "round2_experiment": "rounds",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"scitune.protocol.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'scitune.protocol' has no attribute {name!r}")
