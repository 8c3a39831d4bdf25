"""Hugging Face Transformers: a ``TrainerCallback`` that reports to scitune (``pip install 'scitune[hf]'``).

::

    from scitune.training.hf import ScituneCallback, training_arguments

    def train(hp, trial):                       # or, in command mode, leave trial out
        callback = ScituneCallback(trial)
        args = TrainingArguments(**training_arguments(trial, learning_rate=hp["learning_rate"]))
        trainer = Trainer(model=model, args=args, train_dataset=..., eval_dataset=..., callbacks=[callback])
        trainer.train(resume_from_checkpoint=callback.resume_from_checkpoint)
        # the model now holds the weights of scitune's best step (callback.loaded_step)

Everything the Trainer logs (training loss, learning rate, ``eval_*``) is reported at its global step.
Each checkpoint the Trainer saves (``training_arguments`` saves at every evaluation) becomes one file
of scitune's, ``ckpt-STEP.tar`` (the Trainer's folder, archived), so ``checkpoints.keep_best`` keeps
the best few by the objective and the latest; an interrupted trial resumes from the latest.

Retrospective selection (playbook: "Saving checkpoints and retrospectively selecting the best
checkpoint"): at the end of training the model is loaded from the kept checkpoint at scitune's best
step - the step where the experiment's objective was best, in the experiment's direction - rather
than ``load_best_model_at_end``'s ``metric_for_best_model`` or the last checkpoint.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import Any

from scitune.training._reporter import Reporter

SUFFIX = ".tar"
# Logged values that are bookkeeping, not metrics.
NOT_METRICS = frozenset({"epoch", "total_flos", "step"})


def training_arguments(trial: Any | None = None, **overrides: Any) -> dict[str, Any]:
    """``TrainingArguments`` keywords for the trial's budget: ``max_steps``, evaluation, logging and
    saving every ``eval_every`` steps, the trial's seed, output in the trial's folder, no other
    reporting. ``overrides`` (learning rate, batch size, ...) are added or win."""
    reporter = Reporter(trial)
    every = reporter.eval_every
    args = {
        "output_dir": str(reporter.directory / "hf"), "max_steps": reporter.max_train_steps,
        "eval_strategy": "steps", "eval_steps": every, "save_strategy": "steps", "save_steps": every,
        "logging_strategy": "steps", "logging_steps": every, "seed": reporter.seed, "report_to": "none",
        "disable_tqdm": True, "load_best_model_at_end": False,
    }
    return {**args, **overrides}


def _extract(archive: Path, into: Path) -> Path:
    """Unpack a checkpoint archive (written by this module) and return the Trainer's folder in it."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(into, filter="data")
        except TypeError:  # Python before 3.11.4: no extraction filters (the archive is our own)
            tar.extractall(into)
    (folder,) = [p for p in into.iterdir() if p.is_dir()]
    return folder


def load_weights(model: Any, folder: Path) -> None:
    """Load the model weights of a Trainer checkpoint folder into ``model`` in place."""
    import torch

    safetensors = folder / "model.safetensors"
    if safetensors.is_file():
        from safetensors.torch import load_file

        state = load_file(str(safetensors))
    else:
        state = torch.load(folder / "pytorch_model.bin", weights_only=True, map_location="cpu")
    model.load_state_dict(state, strict=False)  # tied weights are saved once


def _build() -> type:
    try:
        from transformers import TrainerCallback
    except ImportError:
        raise ImportError("scitune.training.hf needs transformers: pip install 'scitune[hf]'") from None

    class ScituneCallback(TrainerCallback):
        """``ScituneCallback(trial=None, *, objective=None, mode=None, checkpoints=True, load_best=True)``:
        reports what the Trainer logs, turns its checkpoints into scitune's, resumes through
        ``resume_from_checkpoint``, and at the end loads the weights of scitune's best step
        (``load_best=False`` keeps the last). ``trial=None``: command mode."""

        def __init__(self, trial: Any | None = None, *, objective: str | None = None, mode: str | None = None,
                     checkpoints: bool = True, load_best: bool = True) -> None:
            self.reporter = Reporter(trial, objective, mode)
            self.checkpoints, self.load_best = checkpoints, load_best
            point = self.reporter.resume_point()
            self.resume_step = point[0] if point else None
            self._resume_archive = point[1] if point else None
            self.loaded_step: int | None = None  # the step whose weights the model holds at the end

        @property
        def resume_from_checkpoint(self) -> str | None:
            """The Trainer checkpoint folder to continue an interrupted trial from, or None."""
            if self._resume_archive is None:
                return None
            return str(_extract(self._resume_archive, self.reporter.directory / "resume"))

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if not state.is_world_process_zero or not logs:
                return
            self.reporter.report(int(state.global_step), {k: v for k, v in logs.items() if k not in NOT_METRICS})

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not state.is_world_process_zero or not self.checkpoints:
                return
            step = int(state.global_step)
            folder = Path(args.output_dir) / f"checkpoint-{step}"
            if not folder.is_dir():
                return

            def archive(path: Path) -> None:
                with tarfile.open(path, "w") as tar:
                    tar.add(folder, arcname=folder.name)

            self.reporter.checkpoint(step, archive, SUFFIX)
            shutil.rmtree(folder)  # scitune's archive is the checkpoint now

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.loaded_step = int(state.global_step)
            best = self.reporter.best
            if not self.load_best or best is None or model is None:
                return
            archive = self.reporter.kept_checkpoint(best[0], SUFFIX)
            if archive is None or best[0] == self.loaded_step:
                return
            folder = _extract(archive, self.reporter.directory / "best")
            load_weights(model, folder)
            self.loaded_step = best[0]

    return ScituneCallback


def __getattr__(name: str) -> Any:
    # The callback subclasses transformers' TrainerCallback: built on first use.
    if name == "ScituneCallback":
        globals()[name] = cls = _build()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
