"""Ghost batch normalization for PyTorch: batch-norm statistics over a virtual batch whose size
does not depend on the batch the gradient is computed on.

Playbook ("Batch normalization implementation details"; "How batch norm interacts with the batch size"): statistics over about 64 examples often work better
than over the whole (large) batch, so the statistics batch is decoupled from the gradient batch.
When a device's batch holds more examples than the virtual batch, the statistics come from a
random subsample of ``virtual_batch_size`` of them (``mode="subsample"``, the playbook's way);
``mode="split"`` instead normalizes each consecutive chunk of ``virtual_batch_size`` examples with
its own statistics (Hoffer et al., 2017). A batch no larger than the virtual batch uses all of it.
The running averages differ between devices, and only need to agree when a checkpoint is saved:
call :func:`synchronize_running_stats` just before saving.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn


class GhostBatchNorm(nn.Module):
    """Batch norm over inputs of shape ``(N, C)`` or ``(N, C, ...)`` with statistics from
    ``virtual_batch_size`` examples. In evaluation mode it uses the running averages, like
    ``nn.BatchNorm1d``/``2d``; ``momentum``, ``eps`` and ``affine`` mean what they mean there.
    ``generator`` makes the subsample reproducible."""

    def __init__(
        self,
        num_features: int,
        virtual_batch_size: int = 64,
        *,
        mode: Literal["subsample", "split"] = "subsample",
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if virtual_batch_size < 2:
            raise ValueError(f"virtual_batch_size must be at least 2, got {virtual_batch_size}")
        if mode not in ("subsample", "split"):
            raise ValueError(f"mode must be 'subsample' or 'split', got {mode!r}")
        self.num_features, self.virtual_batch_size, self.mode = num_features, virtual_batch_size, mode
        self.eps, self.momentum, self.generator = eps, momentum, generator
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _shape(self, x: torch.Tensor) -> list[int]:
        return [1, self.num_features] + [1] * (x.dim() - 2)

    def _normalize(self, x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        shape = self._shape(x)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.weight is not None and self.bias is not None:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Mean and biased variance per feature, and how many values each is over."""
        dims = [0, *range(2, x.dim())]
        return x.mean(dims), x.var(dims, unbiased=False), x.numel() // self.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected input of shape (N, {self.num_features}, ...), got {tuple(x.shape)}")
        if not self.training:
            return self._normalize(x, self.running_mean, self.running_var)
        n, v = x.shape[0], self.virtual_batch_size
        if self.mode == "split" and n > v:
            chunks = x.split(v)
            stats = [self._stats(c) for c in chunks]
            out = torch.cat([self._normalize(c, m, s) for c, (m, s, _) in zip(chunks, stats)])
            self._track(torch.stack([m for m, _, _ in stats]).mean(0),
                        torch.stack([s * k / max(k - 1, 1) for _, s, k in stats]).mean(0))
            return out
        sample = x
        if n > v:
            index = torch.randperm(n, generator=self.generator)[:v].to(x.device)
            sample = x.index_select(0, index)
        mean, var, count = self._stats(sample)
        self._track(mean, var * count / max(count - 1, 1))
        return self._normalize(x, mean, var)

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.running_mean.lerp_(mean.detach(), self.momentum)
        self.running_var.lerp_(unbiased_var.detach(), self.momentum)
        self.num_batches_tracked += 1

    def extra_repr(self) -> str:
        return f"{self.num_features}, virtual_batch_size={self.virtual_batch_size}, mode={self.mode}"


def synchronize_running_stats(model: nn.Module, all_reduce_mean: Callable[[torch.Tensor], None] | None = None) -> int:
    """Average every batch-norm layer's running mean and variance across processes, in place; call
    it before saving a checkpoint. Covers :class:`GhostBatchNorm` and torch's own batch norms.
    ``all_reduce_mean`` averages a tensor across processes in place; by default
    ``torch.distributed`` (a no-op when no process group is running). Returns how many layers were
    synchronized."""
    if all_reduce_mean is None:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return 0
        world = dist.get_world_size()

        def all_reduce_mean(t: torch.Tensor) -> None:
            dist.all_reduce(t)
            t.div_(world)

    count = 0
    for module in model.modules():
        tracked = isinstance(module, GhostBatchNorm) or (
            isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats
        )
        if tracked:
            all_reduce_mean(module.running_mean)
            all_reduce_mean(module.running_var)
            count += 1
    return count
