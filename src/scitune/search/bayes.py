"""Bayesian optimization: Optuna's samplers propose the next point, scitune keeps everything else.

After exploration ("After exploration concludes"), the playbook switches to Bayesian optimization on a refined
space. We write no Gaussian process of our own: each proposal builds a throwaway in-memory Optuna
study from what the store knows (:class:`Observation` records), asks Optuna's ``GPSampler`` (the
default) or ``TPESampler`` for one point through ``study.ask()``, and forgets the study. Trials,
curves, states and commands stay in scitune's store; Optuna never runs or records anything.

What the sampler is told (see :mod:`scitune.analysis.infeasible` for who decides):

- a feasible trial: ``COMPLETE`` with its objective at its best step;
- an infeasible trial (diverged, crashed because of its point, or an outlier many robust standard
  deviations worse than typical): ``COMPLETE`` with the constraint ``feasible`` violated (+1).
  Optuna requires a value on every ``COMPLETE`` trial: TPE ranks infeasible trials by their
  violation and never reads it, GPSampler fits its objective model to it. We pass the worst
  *feasible* value of the study, so nothing enters the model beyond the range actually observed
  (never a made-up huge loss), and the constraint model carries the verdict;
- a trial not finished yet (pending, running, interrupted): ``RUNNING`` with its point, so that
  parallel workers are not sent to the same place. GPSampler then optimizes a q-batch acquisition
  (qLogEI / qLogCEI) that accounts for the running points; TPE uses its constant liar.

Conditional parameters are asked for define-by-run, each only when its condition holds. GPSampler
models only the parameters every trial has and samples the others at random (Optuna's documented
fallback); TPE groups them (``multivariate=True, group=True``).
"""

from __future__ import annotations

import contextlib
import graphlib
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scitune.analysis.infeasible import SamplerVerdict
from scitune.errors import ScituneError
from scitune.space import ChoiceParam, Parameter, RangeParam, Scalar, SearchSpace

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

ALGORITHM = "bayesian"
SAMPLERS = ("gp", "tpe")
DEFAULT_SAMPLER = "gp"
DEFAULT_STARTUP_TRIALS = 10
INSTALL_HINT = "pip install 'scitune[bayes]'"
CONSTRAINT = "feasible"  # the one constraint every trial carries: <= 0 feasible, > 0 violated


@dataclass(frozen=True)
class Observation:
    """One trial as the sampler sees it: its nuisance values and a verdict (a
    :class:`~scitune.analysis.infeasible.SamplerVerdict`: feasible, violated or unknown); ``value``
    is the objective of a feasible one."""

    params: Mapping[str, Scalar]
    verdict: SamplerVerdict
    value: float | None = None


def require_optuna(sampler: str = DEFAULT_SAMPLER) -> Any:
    """Import Optuna (and, for the GP sampler, PyTorch), or raise one clear error saying what to install."""
    try:
        import optuna
    except ImportError:
        raise ScituneError(
            "search: algorithm: bayesian needs Optuna, which is not installed", hint=INSTALL_HINT
        ) from None
    if sampler == "gp":
        try:
            import torch  # noqa: F401  (Optuna's GPSampler runs on PyTorch, the CPU build is enough)
        except ImportError:
            raise ScituneError(
                "search: sampler: gp needs PyTorch (Optuna's GPSampler runs on it), which is not installed",
                hint="pip install torch (the CPU build is enough), or use sampler: tpe",
            ) from None
    return optuna


def distribution(param: Parameter) -> BaseDistribution:
    """The Optuna distribution of one scitune parameter: float and int ranges keep their scale;
    lists of values (numbers or strings) become categorical."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(param, ChoiceParam):
        return CategoricalDistribution(list(param.values))
    if param.integer:
        return IntDistribution(int(param.low), int(param.high), log=param.scale == "log")
    return FloatDistribution(float(param.low), float(param.high), log=param.scale == "log")


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    return {param.name: distribution(param) for param in space.params}


def contains(space: SearchSpace, params: Mapping[str, Any]) -> bool:
    """Whether every value of ``params`` that belongs to the space lies inside its range or list
    (a warm-start trial from a wider space may not)."""
    return all(space[name].contains(value) for name, value in params.items() if name in space.names)


def decision_order(space: SearchSpace) -> list[Parameter]:
    """The parameters with each one after those its condition names, so that define-by-run can
    decide whether a conditional parameter exists before asking for it."""
    inside = set(space.names)
    graph = {p.name: {n for n in p.when.requires if n in inside} for p in space.params}
    return [space[name] for name in graphlib.TopologicalSorter(graph).static_order()]


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """Optuna logs every trial it is handed and warns about experimental features; in a throwaway
    study that is noise. The user's verbosity is restored afterwards."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(before)


def make_sampler(name: str, seed: int, conditional: bool = False) -> Any:
    """The Optuna sampler called ``name`` ("gp" or "tpe"). Its own random start-up phase is off:
    scitune spends the start-up on quasi-random points itself (see the proposer)."""
    optuna = require_optuna(name)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=0, warn_independent_sampling=False)
    if name == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=0, multivariate=True, group=conditional, constant_liar=True
        )
    raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


class BayesSearch:
    """``propose(observations, context, seed)``: the next point of a study, from Optuna's sampler,
    given everything the study knows so far."""

    def __init__(self, space: SearchSpace, mode: str, sampler: str = DEFAULT_SAMPLER) -> None:
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
        self.space, self.mode, self.sampler = space, mode, sampler

    def study(self, observations: list[Observation], seed: int) -> Any:
        """An in-memory Optuna study holding ``observations`` (see the module docstring for how
        each verdict is told). Values outside the space must have been filtered out by the caller."""
        optuna = require_optuna(self.sampler)
        from optuna.trial import TrialState, create_trial

        conditional = any(p.when for p in self.space.params)
        with _quiet(optuna):
            study = optuna.create_study(
                direction="minimize" if self.mode == "min" else "maximize",
                sampler=make_sampler(self.sampler, seed, conditional),
            )
            full = distributions(self.space)
            feasible = [o.value for o in observations if o.verdict == SamplerVerdict.FEASIBLE and o.value is not None]
            worst = (max(feasible) if self.mode == "min" else min(feasible)) if feasible else 0.0
            constrained = any(o.verdict == SamplerVerdict.VIOLATED for o in observations)
            for obs in observations:
                params = {n: v for n, v in obs.params.items() if n in full}
                dists = {n: full[n] for n in params}
                if obs.verdict == SamplerVerdict.UNKNOWN:
                    study.add_trial(create_trial(state=TrialState.RUNNING, params=params, distributions=dists))
                    continue
                ok = obs.verdict == SamplerVerdict.FEASIBLE
                if ok and (obs.value is None or not math.isfinite(obs.value)):
                    raise ValueError(f"a feasible observation needs a finite value, got {obs.value!r}")
                study.add_trial(create_trial(
                    params=params, distributions=dists, value=float(obs.value) if ok else worst,  # type: ignore[arg-type]
                    constraints={CONSTRAINT: -1.0 if ok else 1.0} if constrained else None,
                ))
        return study

    def propose(
        self, observations: list[Observation], context: Mapping[str, Any] | None = None, seed: int = 0
    ) -> dict[str, Scalar]:
        """One new point (nuisance values only; conditional parameters whose condition fails are
        left out). ``context`` holds the scientific and fixed values conditions may refer to."""
        optuna = require_optuna(self.sampler)
        study = self.study(observations, seed)
        with _quiet(optuna):
            trial = study.ask()
            values: dict[str, Scalar] = {}
            for param in decision_order(self.space):
                if param.when and not param.when.holds({**(context or {}), **values}):
                    continue
                values[param.name] = _suggest(trial, param)
        return values


def _suggest(trial: Any, param: Parameter) -> Scalar:
    if isinstance(param, RangeParam) and param.integer:
        return int(trial.suggest_int(param.name, int(param.low), int(param.high), log=param.scale == "log"))
    if isinstance(param, RangeParam):
        return float(trial.suggest_float(param.name, float(param.low), float(param.high), log=param.scale == "log"))
    return trial.suggest_categorical(param.name, list(param.values))
