"""The user's training code: a Python function (``train: module:function``) or a program
(``command: [...]``), both seen by the runner as a callable that trains one :class:`Trial`."""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable, Union

from scitune.analysis.failures import never_reported_reason
from scitune.config import Experiment
from scitune.errors import ConfigError, TrialFailed
from scitune.run.command import CommandProgram, can_start
from scitune.run.trial import Trial

TrainFn = Callable[[dict[str, Any], Any], Any]


def _search_roots(module: str, base_dir: Path | None, cwd: Path | None = None) -> list[Path]:
    """Where to look for ``module``: the current folder, the experiment file's folder, and the
    folder that holds the module's top package when the experiment file sits inside that package
    (so ``examples.digits.train`` resolves from ``examples/digits/experiment.yaml`` run anywhere)."""
    roots = [cwd or Path.cwd()]
    if base_dir is not None:
        base_dir = base_dir.resolve()
        roots.append(base_dir)
        packages = module.split(".")[:-1]
        for depth in range(len(packages), 0, -1):
            if base_dir.parts[-depth:] == tuple(packages[:depth]):
                roots.append(base_dir.parents[depth - 1])
                break
    return roots


def load_train(ref: str, base_dir: Path | None = None, source: str = "<experiment>", cwd: Path | None = None) -> TrainFn:
    """Import ``module:function`` and return the function. Errors name the experiment file."""
    module_name, _, func_name = ref.partition(":")
    added = [str(r) for r in _search_roots(module_name, base_dir, cwd) if str(r) not in sys.path]
    sys.path[:0] = added  # kept: worker processes import the same modules
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"{source}: train: cannot import module '{module_name}' ({err})",
            hint="run from the folder that contains the module, or fix the module path",
        ) from None
    except Exception as err:  # noqa: BLE001 - the user's module failed while importing
        raise ConfigError(f"{source}: train: importing '{module_name}' failed: {type(err).__name__}: {err}") from None
    except SystemExit as err:  # a script's `sys.exit()` at import: no trial could ever run
        raise ConfigError(
            f"{source}: train: importing '{module_name}' called sys.exit({err.code!r}); "
            "a training module must not exit when it is imported",
            hint="move the script's top-level code under `if __name__ == \"__main__\":`",
        ) from None
    func = getattr(module, func_name, None)
    if func is None:
        raise ConfigError(f"{source}: train: module '{module_name}' has no function '{func_name}'")
    if not callable(func):
        raise ConfigError(f"{source}: train: '{ref}' is not callable")
    check_signature(func, f"{source}: train: '{ref}'")
    return func


def check_signature(func: Callable[..., Any], where: str) -> None:
    """Refuse a training function that cannot be called as ``train(hparams, trial)`` (the
    Optuna-style ``train(hparams)``), before any trial is spent on it."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin or an odd callable: let the call itself tell
        return
    try:
        signature.bind({}, None)
    except TypeError:
        raise ConfigError(
            f"{where} takes {signature}, but scitune calls train(hparams, trial)",
            hint="add the trial argument and report metrics through it: trial.report(step, val_loss=...)",
        ) from None


class PythonProgram:
    """A ``train(hparams, trial)`` function as a program: called in the worker process itself."""

    def __init__(self, train: TrainFn) -> None:
        self.train = train

    def __call__(self, trial: "Trial") -> None:
        returned = self.train(dict(trial.params), trial)
        if trial.best is None and not trial.infeasible_reason:
            # Said here, where what train returned is known (the Optuna habit: return the loss).
            raise TrialFailed(never_reported_reason(trial.objective.metric, trial.reported, returned))


Program = Union[PythonProgram, CommandProgram]


def as_program(train: "TrainFn | Program") -> "Program":
    return train if isinstance(train, (PythonProgram, CommandProgram)) else PythonProgram(train)


def code_note(experiment: "Experiment", source: Path | None, target: Path, cwd: Path | None = None) -> str | None:
    """A derived experiment file goes to ``target`` (a folder) rather than beside the file it came
    from (in ``source``): a line saying so when its training code would not be found from there."""
    if source is None or source.resolve() == target.resolve():
        return None
    if experiment.command is not None:
        return (f"its command runs in the folder of the file, {target}; the original ran in {source} "
                "(copy what it needs, or write the file there with --out)")
    module = (experiment.train or "").partition(":")[0]
    top = module.split(".")[0]
    roots = [str(r) for r in _search_roots(module, target, cwd)] + sys.path
    if importlib.machinery.PathFinder.find_spec(top, roots) is not None:
        return None
    return (f"its training code '{module}' is found from {source}, not from {target}: run it from the folder "
            f"that holds '{top}', or write the file beside the original with --out")


def load_program(
    experiment: "Experiment", base_dir: Path | None = None, source: str = "<experiment>", cwd: Path | None = None
) -> "Program":
    """What trains a trial of ``experiment``. Python modules are imported now, so a bad ``train:``
    is reported before anything is written. Commands run in the experiment file's folder."""
    if experiment.command is not None:
        cwd = (base_dir or Path.cwd()).resolve()
        program = experiment.command[0]
        if "{" not in program and program not in ("python", "python3"):  # no trial could start it
            why = can_start(program, cwd, dict(os.environ))
            if why is not None:
                raise ConfigError(f"{source}: command: cannot start {program!r}: {why} (looked in {cwd} and $PATH)")
        return CommandProgram(list(experiment.command), cwd, experiment.budget.trial_timeout)
    assert experiment.train is not None
    return PythonProgram(load_train(experiment.train, base_dir, source, cwd))
