"""Ghost batch normalization: statistics against a manual computation, running averages, and their
synchronization across processes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from scitune.training.ghost_bn import GhostBatchNorm, synchronize_running_stats

EPS = 1e-5


def manual(x, mean, var):
    return (x - mean) / torch.sqrt(var + EPS)


def test_a_batch_larger_than_the_virtual_batch_uses_a_subsample_for_statistics() -> None:
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(1)) * 2 + 1
    bn = GhostBatchNorm(3, virtual_batch_size=4, generator=torch.Generator().manual_seed(0))
    y = bn(x)
    index = torch.randperm(16, generator=torch.Generator().manual_seed(0))[:4]
    sample = x[index]
    mean, var = sample.mean(0), sample.var(0, unbiased=False)
    assert torch.allclose(y, manual(x, mean, var), atol=1e-5)  # every example, with the subsample's statistics
    assert torch.allclose(bn.running_mean, 0.1 * mean)
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * sample.var(0, unbiased=True))
    bn.eval()
    assert torch.allclose(bn(x), manual(x, bn.running_mean, bn.running_var), atol=1e-5)


def test_split_mode_normalizes_each_virtual_batch_by_itself() -> None:
    x = torch.randn(8, 2, 3, 3, generator=torch.Generator().manual_seed(2))
    y = GhostBatchNorm(2, virtual_batch_size=4, mode="split")(x)
    for chunk, out in zip(x.split(4), y.split(4)):
        dims = [0, 2, 3]
        mean, var = chunk.mean(dims, keepdim=True), chunk.var(dims, unbiased=False, keepdim=True)
        assert torch.allclose(out, manual(chunk, mean, var), atol=1e-5)


def test_a_small_batch_matches_torch_batch_norm() -> None:
    x = torch.randn(6, 4, 5, 5, generator=torch.Generator().manual_seed(3), requires_grad=True)
    ghost, reference = GhostBatchNorm(4, virtual_batch_size=64), torch.nn.BatchNorm2d(4)
    out = ghost(x)
    assert torch.allclose(out, reference(x), atol=1e-5)
    assert torch.allclose(ghost.running_mean, reference.running_mean, atol=1e-6)
    assert torch.allclose(ghost.running_var, reference.running_var, atol=1e-6)
    out.sum().backward()  # gradients flow through the statistics
    assert x.grad is not None and ghost.weight.grad is not None
    with pytest.raises(ValueError):
        ghost(torch.randn(2, 3))


def test_running_averages_synchronize_across_processes() -> None:
    first = torch.nn.Sequential(GhostBatchNorm(2), torch.nn.BatchNorm1d(2))
    second = torch.nn.Sequential(GhostBatchNorm(2), torch.nn.BatchNorm1d(2))
    for model, value in ((first, 1.0), (second, 3.0)):
        for layer in model:
            layer.running_mean.fill_(value)
            layer.running_var.fill_(value * 2)
    # Two "processes" in one: the all-reduce averages each tensor with its twin in the other model.
    twins = {id(a): b for m1, m2 in ((first, second),) for a, b in zip(m1.buffers(), m2.buffers())}

    def average(tensor):
        tensor.add_(twins[id(tensor)]).div_(2)

    assert synchronize_running_stats(first, average) == 2
    assert all(torch.equal(layer.running_mean, torch.full((2,), 2.0)) for layer in first)
    assert all(torch.equal(layer.running_var, torch.full((2,), 4.0)) for layer in first)
    assert synchronize_running_stats(first) == 0  # no process group: nothing to do
