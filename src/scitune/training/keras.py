"""Keras 3: a ``keras.callbacks.Callback`` that reports to scitune (``pip install 'scitune[keras]'``).

Keras runs here on the PyTorch backend unless ``KERAS_BACKEND`` says otherwise (this module sets it
to ``torch`` when it is unset, before Keras is imported), so no TensorFlow is needed::

    from scitune.training.keras import ScituneCallback

    def train(hp, trial):                                  # or, in command mode, leave trial out
        callback = ScituneCallback(trial, validation_data=(x_val, y_val))
        model = callback.resumed_model() or build_model(hp)   # an interrupted trial continues
        model.fit(batches(), steps_per_epoch=trial.eval_every, callbacks=[callback],
                  epochs=callback.epochs, initial_epoch=callback.initial_epoch)

Counting optimizer steps itself, the callback evaluates ``validation_data`` every ``eval_every``
steps and at the last one, reports the training logs with the validation values (``val_`` and
the compiled metric's name, as Keras names them), saves the model (``.keras``: weights and optimizer
state) and announces it, so ``checkpoints.keep_best`` keeps the best few. Training stops at
``max_train_steps``. Without ``validation_data`` it reports at each epoch's end what ``fit`` logged.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from scitune.training._reporter import Reporter

SUFFIX = ".keras"


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        raise ImportError("scitune.training.keras needs keras 3: pip install 'scitune[keras]'") from None
    return keras


def _build() -> type:
    keras = _keras()

    class ScituneCallback(keras.callbacks.Callback):
        """``ScituneCallback(trial=None, *, validation_data=None, objective=None, mode=None,
        checkpoints=True)``. ``trial=None``: command mode (the environment scitune set)."""

        def __init__(self, trial: Any | None = None, *, validation_data: Any = None, objective: str | None = None,
                     mode: str | None = None, checkpoints: bool = True) -> None:
            super().__init__()
            self.reporter = Reporter(trial, objective, mode)
            self.validation_data = validation_data
            self.checkpoints = checkpoints
            point = self.reporter.resume_point()
            self.resume_step = point[0] if point else None
            self._resume_path = point[1] if point else None
            self.step = self.resume_step or 0  # optimizer steps taken, the resumed ones included

        # -- the budget as fit() arguments, with steps_per_epoch=eval_every ----------------------------

        @property
        def epochs(self) -> int:
            return math.ceil(self.reporter.max_train_steps / self.reporter.eval_every)

        @property
        def initial_epoch(self) -> int:
            return self.step // self.reporter.eval_every

        def resumed_model(self) -> Any | None:
            """The model saved at the checkpoint an interrupted trial continues from (weights and
            optimizer state), or None when the trial starts from scratch."""
            return keras.models.load_model(self._resume_path) if self._resume_path else None

        @property
        def best_checkpoint(self) -> Path | None:
            best = self.reporter.best
            return self.reporter.kept_checkpoint(best[0], SUFFIX) if best else None

        # -- Keras hooks ---------------------------------------------------------------------------

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.step += 1
            if self.validation_data is not None and self.reporter.should_eval(self.step):
                values = dict(logs or {})
                x, y = self.validation_data[0], self.validation_data[1]
                evaluated = self.model.evaluate(x, y, verbose=0, return_dict=True)
                values.update({f"val_{k}": v for k, v in evaluated.items()})
                self._report(values)
            if self.step >= self.reporter.max_train_steps:
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.validation_data is None and logs:
                self._report(dict(logs))

        def _report(self, values: dict) -> None:
            self.reporter.report(self.step, values)
            if self.checkpoints:
                self.reporter.checkpoint(self.step, lambda path: self.model.save(str(path)), SUFFIX)

    return ScituneCallback


def __getattr__(name: str) -> Any:
    # The callback subclasses keras.callbacks.Callback: built on first use (Keras imports slowly).
    if name == "ScituneCallback":
        globals()[name] = cls = _build()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
