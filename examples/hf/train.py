"""A Hugging Face ``Trainer`` tuned by scitune: a one-layer BERT, built from a small config (nothing
is downloaded), classifying scikit-learn's digits read as sequences of 64 pixel "tokens" (0..16).

As a Python trial (experiment.yaml) scitune calls ``train(hp, trial)``; as a program (command mode,
experiment_cli.yaml) ``python train.py`` reads its trial from the environment. The connection is::

    callback = ScituneCallback(trial)                       # ScituneCallback() in command mode
    args = TrainingArguments(**training_arguments(trial, learning_rate=...))
    trainer = Trainer(model, args, train_dataset=..., eval_dataset=..., callbacks=[callback])
    trainer.train(resume_from_checkpoint=callback.resume_from_checkpoint)

After training the model holds the weights of scitune's best step, not the last one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from scitune.training.hf import ScituneCallback, training_arguments


class Digits(torch.utils.data.Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = torch.tensor(x, dtype=torch.long), torch.tensor(y, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.x[i], "labels": self.y[i]}


def datasets() -> tuple[Digits, Digits]:
    """The same fixed, stratified 80/20 split for every trial: pixel intensities are the tokens."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return Digits(x_train, y_train), Digits(x_val, y_val)


def model(hp: dict) -> BertForSequenceClassification:
    config = BertConfig(vocab_size=17, hidden_size=int(hp.get("hidden_size", 32)), num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=2 * int(hp.get("hidden_size", 32)),
                        max_position_embeddings=64, num_labels=10, hidden_dropout_prob=float(hp.get("dropout", 0.0)))
    return BertForSequenceClassification(config)


def error_rate(prediction: Any) -> dict[str, float]:
    logits, labels = prediction.predictions, prediction.label_ids
    return {"error": float((np.argmax(logits, axis=1) != labels).mean())}


def train(hp: dict, trial: Any = None, callbacks: list | None = None) -> tuple[Trainer, ScituneCallback]:
    """One trial; ``trial=None`` in command mode. Returns the trainer and the scitune callback."""
    torch.set_num_threads(1)
    callback = ScituneCallback(trial)
    torch.manual_seed(callback.reporter.seed)
    train_set, val_set = datasets()
    args = TrainingArguments(**training_arguments(
        trial, learning_rate=float(hp["learning_rate"]), weight_decay=float(hp.get("weight_decay", 0.0)),
        per_device_train_batch_size=int(hp.get("batch_size", 32)), per_device_eval_batch_size=512,
        warmup_steps=0, use_cpu=True, dataloader_num_workers=0))
    trainer = Trainer(model=model(hp), args=args, train_dataset=train_set, eval_dataset=val_set,
                      compute_metrics=error_rate, callbacks=[callback, *(callbacks or [])])
    trainer.train(resume_from_checkpoint=callback.resume_from_checkpoint)
    return trainer, callback


if __name__ == "__main__":  # command mode: everything from the environment scitune set
    from scitune.training import client

    train(client.hparams())
