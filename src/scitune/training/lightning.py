"""PyTorch Lightning: a ``Callback`` that reports to scitune (``pip install 'scitune[lightning]'``).

::

    from scitune.training.lightning import ScituneCallback, trainer_kwargs

    def train(hp, trial):                       # or, in command mode, leave trial out: ScituneCallback()
        callback = ScituneCallback(trial)
        trainer = lightning.Trainer(callbacks=[callback], **trainer_kwargs(trial))
        trainer.fit(model, train_loader, val_loader, ckpt_path=callback.ckpt_path)

At every validation (``trainer_kwargs`` validates every ``eval_every`` steps and stops at
``max_train_steps``) it reports ``trainer.callback_metrics`` - everything the module ``self.log``-ged,
training and validation - at the global step, then saves a Lightning checkpoint and announces it,
so ``checkpoints.keep_best`` keeps the best few (playbook: "Saving checkpoints and retrospectively
selecting the best checkpoint"). An interrupted trial resumes from its latest checkpoint through
``ckpt_path``. ``best_checkpoint`` is the kept checkpoint at scitune's best step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scitune.training._reporter import Reporter

SUFFIX = ".ckpt"


def trainer_kwargs(trial: Any | None = None) -> dict[str, Any]:
    """``lightning.Trainer`` arguments for the trial's budget: ``max_steps``, validation every
    ``eval_every`` global steps (across epochs), and no checkpointing of Lightning's own."""
    reporter = Reporter(trial)
    return {"max_steps": reporter.max_train_steps, "val_check_interval": reporter.eval_every,
            "check_val_every_n_epoch": None, "enable_checkpointing": False, "logger": False,
            "num_sanity_val_steps": 0}


def _build() -> type:
    try:
        import lightning.pytorch as pl
    except ImportError:  # the older package name
        try:
            import pytorch_lightning as pl  # type: ignore[no-redef]
        except ImportError:
            raise ImportError("scitune.training.lightning needs lightning: pip install 'scitune[lightning]'") from None

    class ScituneCallback(pl.Callback):
        """``ScituneCallback(trial=None, *, objective=None, mode=None, checkpoints=True)``: reports
        ``trainer.callback_metrics`` at each validation, saves and announces a checkpoint there, and
        resumes through ``ckpt_path``. ``trial=None``: command mode (the environment scitune set).
        ``objective``/``mode`` override the experiment's, for ``best_checkpoint``."""

        def __init__(self, trial: Any | None = None, *, objective: str | None = None, mode: str | None = None,
                     checkpoints: bool = True) -> None:
            super().__init__()
            self.reporter = Reporter(trial, objective, mode)
            self.checkpoints = checkpoints
            point = self.reporter.resume_point()
            self.resume_step = point[0] if point else None
            self.ckpt_path: str | None = str(point[1]) if point else None  # trainer.fit(..., ckpt_path=)

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking or not trainer.is_global_zero:
                return
            step = int(trainer.global_step)
            if self.resume_step is not None and step <= self.resume_step:
                return  # reported before the interruption
            self.reporter.report(step, trainer.callback_metrics)
            if self.checkpoints:
                self.reporter.checkpoint(step, lambda path: trainer.save_checkpoint(str(path)), SUFFIX)

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            # Lightning turns Ctrl-C into sys.exit(1), which scitune would record as a crash: raise
            # scitune's stop instead, so the trial is marked interrupted and resumes next run.
            if isinstance(exception, KeyboardInterrupt):
                from scitune.errors import Interrupted

                raise Interrupted("SIGINT") from exception

        @property
        def best_checkpoint(self) -> Path | None:
            """The kept checkpoint at the best step (retrospective selection), if it is still there."""
            best = self.reporter.best
            return self.reporter.kept_checkpoint(best[0], SUFFIX) if best else None

    return ScituneCallback


def __getattr__(name: str) -> Any:
    # The callback subclasses Lightning's: built on first use, so importing this module stays cheap.
    if name == "ScituneCallback":
        globals()[name] = cls = _build()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
