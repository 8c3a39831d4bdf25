"""The digits MLP as a standalone program: a command-mode trial that talks to scitune only through
``scitune.training.client`` (standard library only) and its command line.

scitune starts it as an argv list (see experiment.yaml beside this file), e.g.

    python train.py --learning-rate 0.003 --width 256 --one-minus-beta1 0.1 --weight-decay 1e-5

and this script appends its metrics to the file scitune gives it. It also shows what the Python
example does not: checkpoints every evaluation (scitune keeps the best few and the latest) and
resuming an interrupted trial from its latest checkpoint. Data loading and evaluation are shared
with the Python example (examples/digits/train.py) so the two workloads stay identical.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from scitune.training import client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for examples.digits
from examples.digits.train import batches, evaluate, load_data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--one-minus-beta1", type=float, required=True)
    parser.add_argument("--weight-decay", type=float, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)

    x_train, y_train, x_val, y_val = load_data()
    seed, max_steps = client.seed(), client.max_train_steps()
    torch.manual_seed(seed)  # initialization
    data_order = torch.Generator().manual_seed(seed)  # data order
    model = nn.Sequential(nn.Linear(64, args.width), nn.ReLU(), nn.Linear(args.width, 10))
    optimizer = torch.optim.Adam(
        model.parameters(), lr=args.learning_rate, betas=(1 - args.one_minus_beta1, 0.999),
        weight_decay=args.weight_decay,
    )

    start = 1
    resumed = client.resume()
    if resumed is not None:  # an interrupted trial: continue where its latest checkpoint left off
        step, path = resumed
        state = torch.load(path, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        data_order.set_state(state["data_order"])
        start = step + 1
    minibatches = batches(len(x_train), args.batch_size, data_order)

    for step in range(start, max_steps + 1):
        idx = next(minibatches)
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if client.should_eval(step):
            train_loss, _ = evaluate(model, x_train, y_train)
            val_loss, val_error = evaluate(model, x_val, y_val)
            client.report(step, train_loss=train_loss, val_loss=val_loss, val_error=val_error)
            with client.checkpoint(step) as path:
                torch.save(
                    {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "data_order": data_order.get_state()},
                    path,
                )


if __name__ == "__main__":
    main()
