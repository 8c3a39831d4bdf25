"""Benchmarks side by side with Optuna and raw SQLite: ``python -m benchmarks [--quick|--full]``.

One module per benchmark, each with ``run(quick, workdir=None) -> dict`` (title, sizes, figures with
units, goals with ``met``, notes). BENCHMARKS.md records a full run. Imports stay light here: the
benchmark modules import scitune, Optuna and the rest inside their functions.
"""

BENCHMARKS = ("overhead", "ingestion", "utilization", "analysis_scale", "quality", "ray_executor", "store_scale",
              "many_runners", "quality_separating")
