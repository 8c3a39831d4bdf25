"""A Keras 3 model tuned by scitune, on the PyTorch backend (no TensorFlow): the digits MLP.

As a Python trial (experiment.yaml) scitune calls ``train(hp, trial)``; as a program (command mode,
experiment_cli.yaml) ``python train.py`` reads its trial from the environment. The connection::

    callback = ScituneCallback(trial, validation_data=(x_val, y_val))   # ScituneCallback() in command mode
    model = callback.resumed_model() or build(hp)                       # an interrupted trial continues
    model.fit(batches, steps_per_epoch=eval_every, epochs=callback.epochs,
              initial_epoch=callback.initial_epoch, callbacks=[callback])

Data: scikit-learn's bundled digits (nothing is downloaded), the same fixed split for every trial.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from scitune.training.keras import ScituneCallback


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.2, stratify=y, random_state=0)
    return x_train.astype("float32"), y_train, x_val.astype("float32"), y_val


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Minibatches forever, a fresh seeded shuffle each pass (fit's steps_per_epoch counts them)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            part = order[start:start + batch_size]
            yield x[part], y[part]


def build(hp: dict) -> keras.Model:
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(int(hp["width"]), activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.AdamW(float(hp["learning_rate"]),
                                                   weight_decay=float(hp.get("weight_decay", 0.0))),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def train(hp: dict, trial: Any = None, callbacks: list | None = None) -> ScituneCallback:
    """One trial; ``trial=None`` in command mode. Reports ``val_error`` (1 - accuracy) as well."""
    x_train, y_train, x_val, y_val = data()
    callback = ErrorCallback(trial, validation_data=(x_val, y_val))
    keras.utils.set_random_seed(callback.reporter.seed)
    model = callback.resumed_model() or build(hp)
    model.fit(batches(x_train, y_train, int(hp.get("batch_size", 64)), callback.reporter.seed + callback.step),
              steps_per_epoch=callback.reporter.eval_every, epochs=callback.epochs,
              initial_epoch=callback.initial_epoch, callbacks=[callback, *(callbacks or [])], verbose=0)
    return callback


class ErrorCallback(ScituneCallback):
    """The scitune callback, with the error rate (the playbook's kind of objective) beside accuracy."""

    def _report(self, values: dict) -> None:
        if "val_accuracy" in values:
            values["val_error"] = 1.0 - float(values["val_accuracy"])
        super()._report(values)


if __name__ == "__main__":  # command mode: everything from the environment scitune set
    from scitune.training import client

    train(client.hparams())
