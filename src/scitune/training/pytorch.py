"""PyTorch adapters: schedules as ``LambdaLR``, gradient norms and clipping.

With :mod:`scitune.training.ghost_bn`, the only modules of scitune that import torch; the rest of
scitune imports without it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from scitune.training.schedules import Schedule


def lr_scheduler(optimizer: torch.optim.Optimizer, multiplier: Schedule) -> torch.optim.lr_scheduler.LambdaLR:
    """A PyTorch scheduler that sets each parameter group's learning rate to its initial value
    times ``multiplier(count)``. Call ``scheduler.step()`` after each ``optimizer.step()``: the
    first update uses ``multiplier(0)``, as scitune's schedules count updates from 0.

    ``multiplier`` is any schedule with a base of 1, e.g.
    ``schedule_from_hparams(hp, trial.max_train_steps)``."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda count: float(multiplier(count)))


def grad_norm(parameters: Iterable[torch.Tensor]) -> float:
    """The L2 norm of the full gradient (every parameter's gradient as one vector), unchanged.
    Log it every step: the playbook's instability diagnosis and clipping threshold start here."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.nn.utils.get_total_norm(grads))


def clip_gradients(parameters: Iterable[torch.Tensor], threshold: float | None) -> float:
    """Clip the full gradient to L2 norm ``threshold`` (if ‖g‖ > λ then g ← λ·g/‖g‖; playbook FAQ on
    optimization failures) and return the norm *before* clipping, which is what should be logged. With
    ``threshold`` None the gradient is left alone and its norm returned."""
    params = [p for p in parameters if p.grad is not None]
    if threshold is None:
        return grad_norm(params)
    if threshold <= 0:
        raise ValueError(f"the clipping threshold must be positive, got {threshold}")
    return float(torch.nn.utils.clip_grad_norm_(params, threshold))
