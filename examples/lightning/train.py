"""A PyTorch Lightning model tuned by scitune: the digits MLP as a ``LightningModule``.

As a Python trial (experiment.yaml): scitune calls ``train(hp, trial)``; as a program (command mode,
experiment_cli.yaml): ``python train.py`` reads its trial from the environment. The one line that
connects Lightning to scitune is the callback::

    callback = ScituneCallback(trial)          # ScituneCallback() in command mode
    trainer = lightning.Trainer(callbacks=[callback], **trainer_kwargs(trial))
    trainer.fit(model, train_loader, val_loader, ckpt_path=callback.ckpt_path)   # resumes if interrupted

Whatever the module ``self.log``-s is reported at every validation (every ``eval_every`` steps),
and a checkpoint is saved there; scitune keeps the best few by the objective and the latest.
Data: scikit-learn's bundled digits (nothing is downloaded).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import lightning
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from scitune.training.lightning import ScituneCallback, trainer_kwargs

if __package__ in (None, ""):  # run as a program: make the repository importable for examples.digits
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from examples.digits.train import load_data


class DigitsMLP(lightning.LightningModule):
    def __init__(self, width: int, learning_rate: float, weight_decay: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, _: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_error", (logits.argmax(dim=1) != y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,
                                 weight_decay=self.hparams.weight_decay)


def loaders(batch_size: int, seed: int) -> tuple[DataLoader, DataLoader]:
    x_train, y_train, x_val, y_val = load_data()
    shuffle = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, generator=shuffle)
    return train, DataLoader(TensorDataset(x_val, y_val), batch_size=len(x_val))


def train(hp: dict, trial: Any = None, callbacks: list | None = None) -> ScituneCallback:
    """One trial; ``trial=None`` in command mode. Returns the scitune callback (its
    ``best_checkpoint`` is the retrospectively selected checkpoint)."""
    torch.set_num_threads(1)
    callback = ScituneCallback(trial)
    lightning.seed_everything(callback.reporter.seed, verbose=False)
    model = DigitsMLP(int(hp["width"]), float(hp["learning_rate"]), float(hp.get("weight_decay", 0.0)))
    trainer = lightning.Trainer(callbacks=[callback, *(callbacks or [])], accelerator="cpu", devices=1,
                                enable_progress_bar=False, enable_model_summary=False, **trainer_kwargs(trial))
    train_loader, val_loader = loaders(int(hp.get("batch_size", 64)), callback.reporter.seed)
    trainer.fit(model, train_loader, val_loader, ckpt_path=callback.ckpt_path)
    return callback


if __name__ == "__main__":  # command mode: everything from the environment scitune set
    from scitune.training import client

    train(client.hparams())
