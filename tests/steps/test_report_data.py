"""Planted data for the report's tests (helpers other test modules import), and the report's data
access: what it reads from a real store.

Curves are generated with known shapes, so each check has a right answer: ``clean`` (decays and
settles, best step mid-run), ``overfit`` (turns up after 40% of the run), ``noisy`` (clean plus
large step-to-step noise), ``improving`` (still falling steeply at the end), ``saturated`` (best at
its first evaluation, flat after)."""

from __future__ import annotations

from pathlib import Path

from planted import plant_store, planted_experiment, planted_frames, shaped_outcome
from scitune.store import Store


def test_load_reads_only_the_best_trials_curves(tmp_path: Path) -> None:
    from scitune.steps.report import load

    experiment, text = planted_experiment(trials=8)
    store = Store(str(tmp_path / "s.db"))
    plant_store(store, experiment, text, shaped_outcome())
    data = load(store, "planted")
    assert len(data.trials) == 16 and [s.name for s in data.studies] == ["width=64", "width=256"]
    # 3 best trials per study, 3 metrics each, 20 evaluations: nothing more is read.
    assert data.metrics["trial_id"].nunique() == 6 and len(data.metrics) == 6 * 3 * 20
    assert data.retrain is None and data.experiment.report_settings.top_k == 3


def test_planted_frames_match_what_the_store_gives(tmp_path: Path) -> None:
    experiment, text = planted_experiment(trials=4)
    store = Store(str(tmp_path / "s.db"))
    plant_store(store, experiment, text, shaped_outcome())
    trials, _ = planted_frames(experiment, shaped_outcome())
    stored = store.trials("planted")
    assert stored["best_value"].tolist() == trials["best_value"].tolist()
    assert stored["best_step"].tolist() == trials["best_step"].tolist()
