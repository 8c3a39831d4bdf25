"""A Hydra application tuned by scitune in command mode: softmax regression on scikit-learn's digits
(NumPy only, nothing downloaded).

scitune runs it as ``python train.py optimizer.lr=0.003 ... hydra.run.dir=TRIAL_DIR/hydra``
(experiment.yaml beside this file): the tuned values arrive as ordinary Hydra overrides, and the
app reads the rest of its trial - seed, step budget, where to report - from the ``SCITUNE_*``
environment through ``scitune.training.client``. Run by hand (no scitune), it trains with the
defaults of conf/config.yaml and prints its validation error.
"""

from __future__ import annotations

import os

import hydra
import numpy as np
from omegaconf import DictConfig
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from scitune.training import client

IN_TRIAL = "SCITUNE_METRICS_FILE" in os.environ


def error(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float((np.argmax(x @ w, axis=1) != y).mean())


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    seed = client.seed() if IN_TRIAL else 0
    steps = client.max_train_steps() if IN_TRIAL else 300
    x, y = load_digits(return_X_y=True)
    x = np.hstack([x / 16.0, np.ones((len(x), 1))])  # a bias column
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.01, (x.shape[1], 10))
    lr, wd, batch = float(cfg.optimizer.lr), float(cfg.optimizer.weight_decay), int(cfg.data.batch_size)
    for step in range(1, steps + 1):
        part = rng.choice(len(x_train), batch, replace=False)
        logits = x_train[part] @ w
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(batch), y_train[part]] + 1e-12).mean())
        p[np.arange(batch), y_train[part]] -= 1.0
        w -= lr * (x_train[part].T @ p / batch + wd * w)
        if IN_TRIAL and client.should_eval(step):
            # lr_seen: the value Hydra handed the app, so a test can tell that the override arrived.
            client.report(step, train_loss=loss, val_error=error(w, x_val, y_val), lr_seen=lr)
    if not IN_TRIAL:
        print(f"val_error {error(w, x_val, y_val):.4f} with optimizer.lr={lr}")


if __name__ == "__main__":
    main()
