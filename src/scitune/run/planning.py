"""Planning a run: every study's points and training seeds, recorded in the store before any trial trains.

Quasi-random studies know all their points up front (point ``i`` of every study is row ``i`` of one
seeded scrambled Halton sequence, with the same training seed in every study), so :func:`prepare`
stores them all as pending trials. A Bayesian study's points depend on results, so only its study
is created here; :mod:`scitune.run.proposer` makes its trials as workers ask for them.
"""

from __future__ import annotations

from scitune.config import Experiment
from scitune.search import QuasiRandomSearch, trial_seed
from scitune.store import Store


def prepare(
    store: Store,
    experiment: Experiment,
    config_text: str,
    config_path: str | None = None,
    command: str | None = None,
) -> int:
    """Record the experiment, its studies and every study's trials, in one transaction; returns the
    experiment's id. Idempotent: a second call (a resume, or a second runner) adds only what is missing."""
    bayesian = experiment.search.algorithm == "bayesian"
    if bayesian:
        from scitune.run.proposer import check_bayesian  # Optuna: only for a Bayesian round
        from scitune.run.proposer import describe as describe_bayesian

        warm = check_bayesian(store, experiment)  # before anything is written
    # test: the final test-set check; report: the findings' thresholds; check: the design review's
    # silences. No trial depends on any of them (the stored definition takes the new values).
    # fail_fast: when a run stops, not what it trains.
    growable = ("budget.trials_per_study", "budget.fail_fast", "test", "report", "check")
    if bayesian:
        planned = [(study.name, study.scientific, describe_bayesian(experiment, warm[study.name] if warm else None), None)
                   for study in experiment.studies()]
    else:
        search = QuasiRandomSearch(experiment.space, experiment.search.seed)
        n = experiment.budget.trials_per_study
        seeds = [trial_seed(experiment.search.seed, i) for i in range(n)]
        planned = []
        for study in experiment.studies():
            context = {**experiment.fixed, **study.scientific}
            points = search.points(0, n, context)
            planned.append((study.name, study.scientific, search.describe(),
                            [(i, {**context, **p}, seeds[i]) for i, p in enumerate(points)]))
    # Every point is computed before the store is touched; then one transaction writes them all.
    return store.plan(experiment.name, experiment.goal, experiment.canonical(), config_text, planned, config_path,
                      command, growable=growable)
