"""The final test-set check: evaluate the chosen trial's best checkpoint once, on the test metric.

Playbook ("After exploration concludes"): look at the test set only after the Bayesian round has
chosen a configuration, and never choose by it. ``scitune test EXPERIMENT`` is :func:`run_test`. In
order:

1. find the test function: the experiment's ``test: module:function`` (or ``function=``);
2. resolve the trial (default: the best completed trial by the validation objective) and the kept
   checkpoint of its best step;
3. call ``function(hparams, checkpoint_path)`` and record the metrics it returns in the store's
   ``test_results`` table, which no search, ranking or report reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitune.analysis.summary import best_per_study
from scitune.errors import ConfigError, ScituneError
from scitune.run.program import load_train
from scitune.states import TrialState
from scitune.steps.naming import TrialRef, resolve_trial
from scitune.store import Store


@dataclass(frozen=True)
class TestResult:
    """One test evaluation: the trial, the checkpoint it used, and what the function returned."""

    __test__ = False  # not a pytest test class

    id: int
    trial: TrialRef
    step: int
    checkpoint: str
    function: str
    metrics: dict[str, float]
    objective: str  # the validation objective's metric name, for showing the two side by side


def load_test_function(ref: str, base_dir: Path | None, source: str) -> Any:
    """Import ``module:function`` as a ``train:`` reference is imported; errors name the ``test`` key."""
    try:
        return load_train(ref, base_dir, source)
    except ConfigError as err:
        raise ConfigError(err.message.replace(": train: ", ": test: ", 1), hint=err.hint) from None


def _metrics(raw: Any, ref: str) -> dict[str, float]:
    if not isinstance(raw, Mapping) or not raw:
        raise ScituneError(f"test function {ref} returned {type(raw).__name__}, not a dict of metrics",
                           hint="return e.g. {'test_error': 0.031}")
    out = {}
    for name, value in raw.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            raise ScituneError(f"test function {ref}: metric '{name}' is {value!r}, not a number") from None
    return out


def run_test(
    store: Store,
    experiment: str,
    trial: str = "best",
    *,
    function: str | None = None,
    metric: str | None = None,
    command: str | None = None,
) -> TestResult:
    """Evaluate ``trial`` (``best``, ``STUDY``, ``STUDY/NUMBER`` or an id, as elsewhere) at the
    checkpoint of its best step (the kept checkpoint nearest it) with the experiment's test
    function, record the result and return it. ``metric``, when given, must be among the returned
    metrics."""
    record = store.experiment(experiment)
    ref = function or record.experiment.test
    if not ref:
        raise ScituneError(
            f"experiment '{experiment}' names no test function",
            hint="add test: module:function to its experiment file, or pass --function module:function",
        )
    chosen = resolve_trial(store, experiment, trial)
    if chosen.state != TrialState.COMPLETED:
        raise ScituneError(f"trial {chosen.name} of '{experiment}' is {chosen.state}: only a completed trial is tested")
    mode = record.objective.mode
    table = store.trials(experiment)
    row = best_per_study(table[table["id"] == chosen.id], store.checkpoints([chosen.id]), mode).iloc[0]
    path = row["checkpoint"]
    if not isinstance(path, str) or not Path(path).is_file():
        raise ScituneError(
            f"trial {chosen.name} of '{experiment}' has no checkpoint file to test"
            + (f" ({path} is gone)" if isinstance(path, str) else ""),
            hint="the training code must save checkpoints (trial.save_checkpoint) for a test-set check",
        )
    evaluate = load_test_function(ref, record.folder, record.config_path or "<experiment>")
    metrics = _metrics(evaluate(dict(chosen.params), path), ref)
    if metric is not None and metric not in metrics:
        raise ScituneError(f"test function {ref} returned {', '.join(metrics)}, not '{metric}'")
    step = int(row["checkpoint_step"])
    result_id = store.add_test_result(chosen.id, step, path, ref, metrics, command)
    return TestResult(result_id, chosen, step, path, ref, metrics, record.objective.metric)
