"""Analysis: pure functions over plain data (DataFrames in, DataFrames or records out).

Nothing here imports the store, the runner or the CLI, so every finding can be tested on data
planted by hand."""

from scitune.analysis.summary import best_per_study, study_summary, trial_table

__all__ = ["study_summary", "trial_table", "best_per_study"]
