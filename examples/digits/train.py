"""Train a small MLP on scikit-learn's digits: the example workload of examples/digits/experiment.yaml.

scitune calls ``train(hp, trial)`` once per trial, in a worker process. ``hp`` holds this trial's
hyperparameters (scientific, nuisance and fixed alike); ``trial`` says how long to train, when to
evaluate, and takes the metrics. Everything happens top to bottom in this one file:

    data (cached) -> model -> optimizer -> training loop with periodic evaluation -> report

The 1,797 8x8 digit images ship inside scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from scitune.training.schedules import SCHEDULE_HPARAMS, schedule_from_hparams
from scitune.training.pytorch import clip_gradients, lr_scheduler

if TYPE_CHECKING:
    from scitune import Trial

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


@functools.lru_cache(maxsize=1)
def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_val, y_val) as tensors, loaded once per process.

    The split is fixed (random_state=0), not drawn from the trial seed: every trial, in every
    study, is scored on the same validation images, so differences come from the hyperparameters
    and the seed, never from a luckier split. Stratified so each digit is 20% of validation.
    """
    x, y = load_digits(return_X_y=True)  # x: (1797, 64) pixel intensities 0..16, y: digit 0..9
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    # Standardize with training statistics only, so nothing about the validation set leaks in.
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # a few border pixels are always 0 in training; leave them at 0
    x_train = (x_train - mean) / std
    x_val = (x_val - mean) / std
    return (
        torch.tensor(x_train, dtype=torch.float32),
        torch.tensor(y_train, dtype=torch.long),
        torch.tensor(x_val, dtype=torch.float32),
        torch.tensor(y_val, dtype=torch.long),
    )


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Indices of minibatches, forever: a fresh shuffle each epoch, the short last batch dropped
    so every step sees exactly ``batch_size`` examples."""
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, misclassification fraction) over the whole of x, y."""
    model.eval()
    logits = model(x)
    loss = F.cross_entropy(logits, y).item()
    error = (logits.argmax(dim=1) != y).sum().item() / len(y)  # exact fraction, e.g. 7/360
    model.train()
    return loss, error


def train(hp: dict, trial: Trial) -> None:
    # One thread: scitune runs trials in parallel worker processes, one per core, and more threads
    # per process would only fight over the same cores.
    torch.set_num_threads(1)

    # -- hyperparameters -----------------------------------------------------------------------
    width = int(hp["width"])  # units per hidden layer (the scientific hyperparameter)
    learning_rate = float(hp["learning_rate"])
    beta1 = 1.0 - float(hp["one_minus_beta1"])  # tuned as 1 - beta1, on a log scale, near 1
    weight_decay = float(hp["weight_decay"])  # L2 penalty added to the gradient, as Adam's weight_decay
    batch_size = int(hp["batch_size"])
    optimizer_name = hp["optimizer"]
    depth = int(hp.get("depth", 1))  # number of hidden layers
    activation = hp.get("activation", "relu")
    # Optional, for scitune's protocol tools (docs/protocol.md); absent, they leave Adam's defaults,
    # a constant learning rate and no clipping: beta2 (as 1 - beta2) and epsilon, a schedule named
    # by hyperparameters (schedule, warmup_steps, decay_steps, final_lr_fraction), a clipping threshold.
    beta2 = 1.0 - float(hp["one_minus_beta2"]) if "one_minus_beta2" in hp else 0.999
    epsilon = float(hp.get("epsilon", 1e-8))
    grad_clip = float(hp["grad_clip"]) if hp.get("grad_clip") is not None else None
    # Their diagnostics (grad_norm every step, train_error at each evaluation) are reported when the
    # experiment names a schedule or clipping hyperparameter, as the protocol's sweeps do.
    scheduled = any(name in hp for name in SCHEDULE_HPARAMS)
    diagnostics = scheduled or "grad_clip" in hp
    if optimizer_name != "adam":
        raise ValueError(f"optimizer {optimizer_name!r} is not supported; this example only has 'adam'")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not supported; choose one of {sorted(ACTIVATIONS)}")

    # -- data ----------------------------------------------------------------------------------
    x_train, y_train, x_val, y_val = load_data()
    if not 1 <= batch_size <= len(x_train):
        raise ValueError(f"batch_size {batch_size} must be between 1 and {len(x_train)} (the training set size)")
    # The seed varies both sources of randomness: initialization (global RNG, below) and data order
    # (this generator). Retraining one point with several seeds then measures the full run-to-run
    # variance.
    data_order = torch.Generator().manual_seed(trial.seed)
    minibatches = batches(len(x_train), batch_size, data_order)

    # -- model ---------------------------------------------------------------------------------
    torch.manual_seed(trial.seed)
    layers: list[nn.Module] = []
    fan_in = x_train.shape[1]  # 64 pixels
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), ACTIVATIONS[activation]()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))  # logits for digits 0..9
    model = nn.Sequential(*layers)

    optimizer = torch.optim.Adam(
        model.parameters(), lr=learning_rate, betas=(beta1, beta2), eps=epsilon, weight_decay=weight_decay
    )
    scheduler = None  # the learning rate times a schedule of the update count, when one is named
    if scheduled:
        scheduler = lr_scheduler(optimizer, schedule_from_hparams(hp, trial.max_train_steps))

    # -- resume: an interrupted trial continues from its latest checkpoint ----------------------
    start = 1
    resumed = trial.resume()  # (step, state) of the checkpoint to continue from, or None
    if resumed is not None:
        done, state = resumed
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        for _ in range(done):  # the same minibatches as an uninterrupted run from here on
            next(minibatches)
        start = done + 1

    # -- training loop: one step = one minibatch update ----------------------------------------
    model.train()
    for step in range(start, trial.max_train_steps + 1):
        idx = next(minibatches)
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if diagnostics:  # clip if asked, and log the full gradient's norm from before clipping
            trial.report(step, grad_norm=clip_gradients(model.parameters(), grad_clip))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()

        if trial.should_eval(step):  # every eval_every steps and at the last step
            # Full passes over both sets, not the noisy minibatch loss. A diverged run reports NaN
            # or inf here as is: scitune marks the trial infeasible, and its report() may raise to
            # stop training, which we let propagate.
            train_loss, train_error = evaluate(model, x_train, y_train)
            val_loss, val_error = evaluate(model, x_val, y_val)
            metrics = {"train_loss": train_loss, "val_loss": val_loss, "val_error": val_error}
            if diagnostics:
                metrics["train_error"] = train_error
            trial.report(step, **metrics)
            # After the report: scitune keeps the checkpoints with the best objective at their step
            # (retrospective selection, `scitune best`) plus the latest (to resume from).
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
            if scheduler is not None:
                state["scheduler"] = scheduler.state_dict()
            trial.save_checkpoint(step, state)
