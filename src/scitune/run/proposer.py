"""The Bayesian round's proposer: new trials, made when a worker asks for one, from the store.

Execution, not search: the sampler itself (:mod:`scitune.search.bayes`) is a pure function of the
observations; this module reads them from the store and writes the proposed trial back.

Quasi-random studies know every point in advance, so ``prepare()`` stores them all. A Bayesian
study's next point depends on the results so far, so ``prepare()`` creates only its studies (see
:func:`prepare_studies`) and a worker that finds nothing to claim asks :meth:`BayesProposer.propose`
for a new trial. The proposer rebuilds what the study knows from the store (its own trials and the
warm-start trials), lets :class:`~scitune.search.bayes.BayesSearch` ask Optuna for one point, and
inserts that point as trial ``N`` already running for the asking worker. Two workers proposing at
once both aim at number ``N``; the store's unique (study, number) constraint lets one in, and the
other proposes again, now seeing the first one's trial as running. So every stored proposal was
made knowing every trial numbered below it.

The first ``startup_trials`` points of a study that is not warm-started enough are scrambled
Halton points, as in exploration (``QuasiRandomSearch``), rather than Optuna's random start-up.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scitune.analysis.infeasible import DEFAULT_SIGMA, SamplerVerdict, sampler_verdicts
from scitune.config import Experiment
from scitune.errors import ConfigError, NotFoundError
from scitune.search import QuasiRandomSearch, trial_seed
from scitune.search.bayes import (
    ALGORITHM,
    DEFAULT_SAMPLER,
    DEFAULT_STARTUP_TRIALS,
    BayesSearch,
    Observation,
    contains,
    require_optuna,
)
from scitune.states import FINISHED
from scitune.store import ClaimedTrial, ExperimentRecord, Store, StudyRecord

_PROPOSE_ATTEMPTS = 50  # another runner took the number each time: give up (the worker ends) after this many


@dataclass(frozen=True)
class Settings:
    """A Bayesian experiment's search settings with their defaults filled in."""

    sampler: str
    seed: int
    startup_trials: int
    infeasible_sigma: float | None
    warm_start: str | None

    @classmethod
    def of(cls, experiment: Experiment) -> Settings:
        search = experiment.search
        sigma = search.infeasible_sigma
        return cls(
            sampler=search.sampler or DEFAULT_SAMPLER,
            seed=search.seed,
            startup_trials=DEFAULT_STARTUP_TRIALS if search.startup_trials is None else search.startup_trials,
            infeasible_sigma=DEFAULT_SIGMA if sigma is None else (None if sigma == 0 else sigma),
            warm_start=search.warm_start,
        )


def is_bayesian(experiment: Experiment) -> bool:
    return experiment.search.algorithm == ALGORITHM


# -- warm start -------------------------------------------------------------------------------------


def parse_warm_start(text: str) -> tuple[str, str | None]:
    """``EXPERIMENT`` or ``EXPERIMENT/STUDY`` (a study name may itself hold '/')."""
    experiment, _, study = text.partition("/")
    return experiment, (study or None)


def _check_same_space(experiment: Experiment, source: ExperimentRecord) -> None:
    """A warm start learns from trials that measured the same thing: same objective, same training
    length, same fixed values, and the same nuisance parameters of the same kinds (ranges may differ:
    a refined space is narrower, and trials outside it are left out)."""
    name = source.name
    theirs = source.definition
    mine = experiment.canonical()

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"search.warm_start: '{name}' {why}", hint="warm-start only from an exploration of the same space")

    if theirs.get("objective") != mine.get("objective"):
        raise refuse(f"ranks trials by {theirs.get('objective')}, this experiment by {mine.get('objective')}")
    if theirs["budget"]["max_train_steps"] != mine["budget"]["max_train_steps"]:
        raise refuse(f"trains {theirs['budget']['max_train_steps']} steps, this experiment {mine['budget']['max_train_steps']}")
    their_hp, my_hp = theirs.get("hyperparameters", {}), mine.get("hyperparameters", {})
    if their_hp.get("fixed", {}) != my_hp.get("fixed", {}):
        raise refuse(f"has other fixed values ({their_hp.get('fixed', {})} here {my_hp.get('fixed', {})})")
    their_space, my_space = their_hp.get("nuisance", {}), my_hp.get("nuisance", {})
    if set(their_space) != set(my_space):
        raise refuse(f"tunes {sorted(their_space)}, this experiment {sorted(my_space)}")
    for key, spec in my_space.items():
        other = their_space[key]
        kind = ("values" in spec, spec.get("type", "float"))
        if ("values" in other, other.get("type", "float")) != kind:
            raise refuse(f"has '{key}' as another kind of parameter")


def resolve_warm_start(store: Store, experiment: Experiment) -> dict[str, Any] | None:
    """Which finished trials of which exploration study each of this experiment's studies starts
    from: ``{study name: {"experiment", "study", "trial_ids", "outside_space"}}``, or None without a
    warm start. Trials whose point lies outside this (refined) space are left out and counted."""
    if experiment.search.warm_start is None:
        return None
    source_name, source_study = parse_warm_start(experiment.search.warm_start)
    if source_name == experiment.name:
        raise ConfigError("search.warm_start: an experiment cannot warm-start from itself")
    try:
        source = store.experiment(source_name)
    except NotFoundError as err:
        raise ConfigError(f"search.warm_start: {err.message}", hint=err.hint) from None
    _check_same_space(experiment, source)
    trials = store.trials(source_name)
    names = [s.name for s in store.studies(source.id)]
    plan: dict[str, Any] = {}
    for study in experiment.studies():
        mine = study.name
        if source_study is not None:
            theirs = source_study
        elif mine in names:
            theirs = mine
        elif len(names) == 1:
            theirs = names[0]
        else:
            raise ConfigError(
                f"search.warm_start: '{source_name}' has no study '{mine}' and several others",
                hint=f"name one: warm_start: {source_name}/STUDY (its studies: {', '.join(names)})",
            )
        if theirs not in names:
            raise ConfigError(
                f"search.warm_start: '{source_name}' has no study '{theirs}'", hint=f"its studies: {', '.join(names)}"
            )
        done = trials[(trials["study"] == theirs) & trials["state"].isin(FINISHED)]
        inside = done["params"].map(lambda p: contains(experiment.space, p)).astype(bool)
        plan[mine] = {
            "experiment": source_name, "study": theirs,
            "trial_ids": [int(i) for i in done.loc[inside, "id"]], "outside_space": int((~inside).sum()),
        }
    return plan


# -- preparing and proposing ------------------------------------------------------------------------


def describe(experiment: Experiment, warm: dict[str, Any] | None = None) -> dict[str, Any]:
    """What to persist with a Bayesian study so its proposals can be audited."""
    import optuna
    import scipy

    settings = Settings.of(experiment)
    out: dict[str, Any] = {
        "algorithm": ALGORITHM, "sampler": settings.sampler, "seed": settings.seed,
        "startup_trials": settings.startup_trials, "infeasible_sigma": settings.infeasible_sigma,
        "dimensions": experiment.space.names, "optuna_version": optuna.__version__,
        "startup_engine": "scipy.stats.qmc.Halton(scramble=True)", "scipy_version": scipy.__version__,
    }
    if warm is not None:
        out["warm_start"] = warm
    return out


def check_bayesian(store: Store, experiment: Experiment) -> dict[str, Any] | None:
    """Everything a Bayesian experiment needs before anything is written: Optuna importable, and
    its warm start (:func:`resolve_warm_start`), which this returns."""
    require_optuna(Settings.of(experiment).sampler)
    return resolve_warm_start(store, experiment)


def prepare_studies(store: Store, experiment_id: int, experiment: Experiment, warm: dict[str, Any] | None) -> None:
    """Create the experiment's Bayesian studies, without trials (they are proposed as workers ask),
    each with its warm-start trials from ``warm`` (:func:`check_bayesian`). A study that exists
    already keeps what it was created with."""
    for study in experiment.studies():
        store.ensure_study(experiment_id, study.name, study.scientific,
                           describe(experiment, warm[study.name] if warm else None))


class BayesProposer:
    """Makes the next trial of an experiment's Bayesian studies (of ``study_ids`` among them, when
    given) when a worker finds no trial to claim. Holds no state between calls: the store is the
    only shared state, so any number of workers and runners can propose at once."""

    def __init__(self, experiment: Experiment, study_ids: Sequence[int] | None = None) -> None:
        self.experiment = experiment
        self.settings = Settings.of(experiment)
        self.study_ids = None if study_ids is None else set(study_ids)
        self.search = BayesSearch(experiment.space, experiment.objective.mode, self.settings.sampler)

    def _studies(self, store: Store, experiment_id: int) -> list[StudyRecord]:
        studies = store.studies(experiment_id)  # the search studies
        return [s for s in studies if self.study_ids is None or s.id in self.study_ids]

    def remaining(self, store: Store, experiment_id: int) -> int:
        """Trials still to be proposed, over every study in scope."""
        budget = self.experiment.budget.trials_per_study
        mode = self.experiment.objective.mode
        total = 0
        for study in self._studies(store, experiment_id):
            made = sum(store.progress(experiment_id, mode, [study.id])["states"].values())
            total += max(0, budget - made)
        return total

    def observations(self, store: Store, study: StudyRecord, own: pd.DataFrame) -> tuple[list[Observation], int]:
        """What the sampler learns for ``study``: its own trials ``own`` and its warm-start trials,
        with the verdicts of :func:`~scitune.analysis.infeasible.sampler_verdicts` (the outlier rule
        runs over both together). Also returns how many of them are finished (feasible or not)."""
        frames = [own]
        warm = study.search.get("warm_start")
        if warm and warm["trial_ids"]:
            theirs = store.trials(warm["experiment"], warm["study"])
            frames.append(theirs[theirs.id.isin(warm["trial_ids"])])
        known = pd.concat(frames, ignore_index=True) if len(frames) > 1 else own.reset_index(drop=True)
        if known.empty:
            return [], 0
        verdicts = sampler_verdicts(known, self.experiment.objective.mode, self.settings.infeasible_sigma)
        names = set(self.experiment.space.names)
        out = []
        for row, verdict in zip(known.itertuples(), verdicts):
            if verdict == SamplerVerdict.IGNORED:
                continue
            params = {k: v for k, v in row.params.items() if k in names}
            out.append(Observation(params, verdict, float(row.best_value) if verdict == SamplerVerdict.FEASIBLE else None))
        return out, sum(o.verdict in (SamplerVerdict.FEASIBLE, SamplerVerdict.VIOLATED) for o in out)

    def point(self, store: Store, study: StudyRecord, own: pd.DataFrame, number: int) -> dict[str, Any]:
        """The nuisance values of trial ``number`` of ``study``: a quasi-random start-up point until
        ``startup_trials`` trials are finished, the sampler's proposal after."""
        context = {**self.experiment.fixed, **study.scientific}
        observations, finished = self.observations(store, study, own)
        warm = study.search.get("warm_start") or {}
        # Past the warm-start trials' share of the sequence, so that a warm start from an
        # exploration with the same seed does not repeat its points.
        index = number + len(warm.get("trial_ids", ()))
        if finished < max(self.settings.startup_trials, 1):
            return QuasiRandomSearch(self.experiment.space, self.settings.seed).points(index, 1, context)[0]
        seed = int(np.random.SeedSequence(
            [self.settings.seed, zlib.crc32(study.name.encode()), number]
        ).generate_state(1)[0])
        try:
            return self.search.propose(observations, context, seed)
        except Exception as err:  # noqa: BLE001 - a sampler failure must not crash every worker in turn
            warnings.warn(
                f"{self.experiment.name}/{study.name} trial {number}: the {self.settings.sampler} sampler failed "
                f"({type(err).__name__}: {err}); this trial takes the next quasi-random point instead",
                RuntimeWarning, stacklevel=2,
            )
            return QuasiRandomSearch(self.experiment.space, self.settings.seed).points(index, 1, context)[0]

    def propose(self, store: Store, experiment_id: int, owner: str, host: str) -> ClaimedTrial | None:
        """A new trial, already running for ``owner``, in the in-scope study with the fewest trials;
        None when every study has its ``trials_per_study``."""
        budget = self.experiment.budget.trials_per_study
        for _ in range(_PROPOSE_ATTEMPTS):
            studies = self._studies(store, experiment_id)
            trials = store.trials(self.experiment.name)
            counts = {s.name: int((trials["study"] == s.name).sum()) for s in studies}
            open_studies = [s for s in studies if counts[s.name] < budget]
            if not open_studies:
                return None
            study = min(open_studies, key=lambda s: counts[s.name])  # min() keeps the first of equals
            own = trials[trials["study"] == study.name]
            number = int(own["trial"].max()) + 1 if len(own) else 0
            if number >= budget:
                return None
            values = self.point(store, study, own, number)
            params = {**self.experiment.fixed, **study.scientific, **values}
            claimed = store.add_running_trial(
                study.id, study.name, number, params, trial_seed(self.settings.seed, number), owner, host
            )
            if claimed is not None:
                return claimed
        return None


def proposer_for(experiment: Experiment, study_ids: Sequence[int] | None = None) -> BayesProposer | None:
    """The proposer an experiment's runner needs: one for a Bayesian search, None for quasi-random."""
    if not is_bayesian(experiment):
        return None
    require_optuna(Settings.of(experiment).sampler)
    return BayesProposer(experiment, study_ids)
