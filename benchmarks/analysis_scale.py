"""Analysis at scale: reading a big experiment back, scitune vs Optuna.

The data is planted directly (training would take hours, and Optuna's ``trial.report`` alone would
too): two studies (width 64 and 256) x N trials x E evaluations x 3 metrics into a scitune store,
through ``prepare``, ``Store.claim``, ``Store.write_metrics`` and ``Store.finish``; the same trials
(width as a categorical parameter, one study) with their ``val_error`` curves as intermediate values
into Optuna's own SQLite schema by SQL, after ``optuna.create_study`` made the file.

Each step then runs in a fresh process of its own, so its time and peak memory are its own:
``work_s`` is the step after its imports, ``import_s`` the imports, ``max_rss_mb`` the process's peak
resident set size (``VmHWM`` from /proc/self/status, so interpreter and imports included; the
``*-imports`` steps give that floor). Command-line steps run ``python -m scitune ...`` from a fresh,
small wrapper process, which reads its child's peak with ``getrusage(RUSAGE_CHILDREN).ru_maxrss``;
their ``work_s`` is the whole command, interpreter start and imports included.

Helper entry point (used by the benchmark itself):
``python -m benchmarks.analysis_scale step NAME JSON_ARGS`` prints one JSON line.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks._common import (
    HOST_OWNER,
    Result,
    children_peak_rss_mb,
    peak_rss_mb,
    quiet_optuna,
    ratio,
    run_helper,
    scratch,
    sqlite_url,
    timed,
)

NAME = "analysis-scale"
EVAL_EVERY = 10
METRICS = ("train_loss", "val_loss", "val_error")
RANGES = {"learning_rate": (1e-4, 1e-1), "one_minus_beta1": (1e-2, 0.3), "weight_decay": (1e-6, 1e-2)}
WIDTHS = (64, 256)


def experiment_text(trials_per_study: int, evals: int) -> str:
    nuisance = "".join(f"    {k}: {{low: {lo!r}, high: {hi!r}, scale: log}}\n" for k, (lo, hi) in RANGES.items())
    return (
        f"experiment: {NAME}\n"
        "goal: Does a wider hidden layer lower validation error? (planted data)\n"
        "train: benchmarks.analysis_scale:not_trained\n"
        "objective: {metric: val_error, mode: min}\n"
        f"budget: {{trials_per_study: {trials_per_study}, max_train_steps: {evals * EVAL_EVERY}, eval_every: {EVAL_EVERY}}}\n"
        "hyperparameters:\n"
        f"  scientific: {{width: [{', '.join(map(str, WIDTHS))}]}}\n"
        "  nuisance:\n" + nuisance + "  fixed: {batch_size: 64, optimizer: adam}\n"
    )


def not_trained(hp: dict, trial: Any) -> None:
    raise RuntimeError("the analysis benchmark plants its data; nothing is trained")


def planted_curves(params: dict[str, Any], steps: Any, rng: Any) -> tuple[Any, Any, Any]:
    """(train_loss, val_loss, val_error) of one trial: best near lr 1e-2.5, wider slightly better,
    slower convergence at small learning rates, some overfitting, a little noise."""
    import numpy as np

    lr = params["learning_rate"]
    floor = 0.02 + 0.04 * (math.log10(lr) + 2.5) ** 2 + (0.01 if params["width"] == 64 else 0.0)
    tau = 300.0 * math.sqrt(0.01 / lr)
    decay = np.exp(-steps / tau)
    train_loss = 2.3 * decay + 0.2 * floor
    val_loss = train_loss + 0.05 + 1e-5 * steps * params["one_minus_beta1"] + rng.normal(0, 0.01, len(steps))
    val_error = np.clip(floor + (0.9 - floor) * decay + rng.normal(0, 0.004, len(steps)), 0.0, 1.0)
    return train_loss, val_loss, val_error


# -- planting -----------------------------------------------------------------------------------


def plant_scitune(path: Path, trials_per_study: int, evals: int) -> tuple[list[dict[str, Any]], float]:
    """Fill a scitune store; returns every trial's params and val_error curve (for Optuna) and the
    seconds spent writing points and final states."""
    import numpy as np

    from scitune.config import parse_experiment
    from scitune.run import prepare
    from scitune.states import TrialState
    from scitune.store import Store

    text = experiment_text(trials_per_study, evals)
    experiment = parse_experiment(text)
    store = Store(sqlite_url(path))
    experiment_id = prepare(store, experiment, text)
    steps = np.arange(1, evals + 1) * EVAL_EVERY
    rng = np.random.default_rng(0)
    planted, seconds = [], 0.0
    while (claimed := store.claim(experiment_id, HOST_OWNER, "bench")) is not None:
        curves = planted_curves(claimed.params, steps, rng)
        rows = [(int(s), name, float(v)) for name, values in zip(METRICS, curves) for s, v in zip(steps, values)]
        val_error = curves[2]
        best = (int(steps[val_error.argmin()]), float(val_error.min()))
        start = time.perf_counter()
        store.write_metrics(claimed.id, rows, best, HOST_OWNER)
        store.finish(claimed.id, HOST_OWNER, TrialState.COMPLETED, (), best)
        seconds += time.perf_counter() - start
        planted.append({"params": claimed.params, "val_error": val_error.tolist(), "best": best[1]})
    store.close()
    return planted, seconds


def plant_optuna(path: Path, planted: list[dict[str, Any]], evals: int) -> float:
    """Create the study with Optuna, then write the trials into its tables by SQL."""
    optuna = quiet_optuna()
    from optuna.distributions import CategoricalDistribution, FloatDistribution, distribution_to_json

    optuna.create_study(storage=sqlite_url(path), study_name=NAME, direction="minimize")
    distributions = {k: distribution_to_json(FloatDistribution(lo, hi, log=True)) for k, (lo, hi) in RANGES.items()}
    distributions["width"] = distribution_to_json(CategoricalDistribution(list(WIDTHS)))
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"studies", "trials", "trial_params", "trial_values", "trial_intermediate_values"} - tables
    if missing:
        raise RuntimeError(f"Optuna's schema changed: no table {', '.join(sorted(missing))} in {sorted(tables)}")
    study_id = conn.execute("SELECT study_id FROM studies WHERE study_name = ?", (NAME,)).fetchone()[0]
    first = (conn.execute("SELECT max(trial_id) FROM trials").fetchone()[0] or 0) + 1
    now = datetime.now().isoformat(sep=" ")
    trials, params, values, intermediate = [], [], [], []
    for number, trial in enumerate(planted):
        trial_id = first + number
        trials.append((trial_id, number, study_id, "COMPLETE", now, now))
        for name, dist in distributions.items():
            value = trial["params"][name]
            params.append((trial_id, name, float(WIDTHS.index(value) if name == "width" else value), dist))
        values.append((trial_id, 0, trial["best"], "FINITE"))
        intermediate += [(trial_id, (i + 1) * EVAL_EVERY, v, "FINITE") for i, v in enumerate(trial["val_error"])]
    with conn:
        conn.executemany("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) "
                         "VALUES (?, ?, ?, ?, ?, ?)", trials)
        conn.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                         "VALUES (?, ?, ?, ?)", params)
        conn.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)", values)
        conn.executemany("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                         "intermediate_value_type) VALUES (?, ?, ?, ?)", intermediate)
    conn.close()
    return time.perf_counter() - start


# -- steps, each in a fresh process ---------------------------------------------------------------


def _step(name: str, args: dict[str, Any]) -> dict[str, Any]:
    if name.startswith("cli-"):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "scitune", *args["argv"]], cwd=args["cwd"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        out = {"work_s": time.perf_counter() - start, "max_rss_mb": children_peak_rss_mb()}
        if proc.returncode != 0:
            out["error"] = f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"
        return out
    start = time.perf_counter()
    if name.startswith("scitune-"):
        from scitune.analysis import study_summary, trial_table
        from scitune.store import Store
        if name == "scitune-report":
            from scitune import report
    else:
        optuna = quiet_optuna()
        if name == "optuna-plots":
            import optuna.visualization  # plotly comes with it
    imported = time.perf_counter()
    out: dict[str, Any] = {}
    if name == "scitune-status":
        store = Store(args["url"])
        record = store.experiment(NAME)
        names = [s.name for s in store.studies(record.id)]
        out["rows"] = len(study_summary(store.trials(NAME), record.objective.mode, names))
    elif name == "scitune-trials":
        out["rows"] = len(trial_table(Store(args["url"]).trials(NAME)))
    elif name == "scitune-metrics":
        store = Store(args["url"])
        out["rows"] = len(store.metrics(store.trials(NAME)["id"].tolist()))
    elif name == "scitune-report":
        # HTML only where it can be asked for: the PNG copies need a Chrome binary (plotly's export).
        html_only = {"png": False} if "png" in inspect.signature(report.write_report).parameters else {}
        report.write_report(Store(args["url"]), NAME, args["out"], **html_only)
    elif name == "optuna-trials":
        out["rows"] = len(optuna.load_study(study_name=NAME, storage=args["url"]).trials)
    elif name == "optuna-plots":
        study = optuna.load_study(study_name=NAME, storage=args["url"])
        trials = study.trials
        loaded = time.perf_counter()
        optuna.visualization.plot_slice(study)
        sliced = time.perf_counter()
        optuna.visualization.plot_intermediate_values(study)
        out.update(rows=len(trials), load_s=loaded - imported, slice_s=sliced - loaded,
                   intermediate_s=time.perf_counter() - sliced)
    elif not name.endswith("-imports"):
        raise ValueError(f"unknown step {name!r}")
    out.update(import_s=imported - start, work_s=time.perf_counter() - imported, max_rss_mb=peak_rss_mb())
    return out


def _report_available() -> tuple[bool | str, list[str] | None]:
    """(Python ``scitune.report.write_report`` exists — or why it cannot be imported —, argv of
    ``scitune report`` or None)."""
    python_api: bool | str = importlib.util.find_spec("scitune.report") is not None
    if python_api:
        try:
            import scitune.report
        except Exception as err:  # noqa: BLE001 - a broken report is recorded, the benchmark goes on
            python_api = f"{type(err).__name__}: {err}"
        else:
            python_api = hasattr(scitune.report, "write_report")
    helped = subprocess.run([sys.executable, "-m", "scitune", "report", "--help"], capture_output=True, text=True,
                            check=False)
    if helped.returncode != 0:
        return python_api, None
    options = [o for o in ("--out", "--output", "--output-dir", "-o") if f" {o} " in f" {helped.stdout} ".replace("\n", " ")]
    extra = ["--no-png"] if "--no-png" in helped.stdout else []
    return python_api, ([options[0], "{out}"] if options else []) + extra


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    trials_per_study, evals = (10, 50) if quick else (1000, 500)
    trials = trials_per_study * len(WIDTHS)
    points = trials * evals * len(METRICS)
    result = Result(
        "Analysis at scale: status, trial table, report vs Optuna's load + plots",
        {"trials": trials, "studies": len(WIDTHS), "evaluations_per_trial": evals, "metrics": len(METRICS),
         "scitune_points": points, "optuna_intermediate_values": trials * evals,
         "peak_memory": "peak RSS of a fresh process per step: VmHWM for Python steps, RUSAGE_CHILDREN ru_maxrss for commands; interpreter and imports included"},
    )
    report_api, report_cli = _report_available()
    with scratch(workdir, "analysis") as folder:
        ours, theirs = folder / "analysis-scitune.db", folder / "analysis-optuna.db"
        with timed() as plant_all:
            planted, write_s = plant_scitune(ours, trials_per_study, evals)
        result.figure("scitune_plant_s", plant_all["s"], "s")
        result.figure("scitune_plant_points_per_s", points / write_s, "points/s")
        result.figure("optuna_plant_sql_s", plant_optuna(theirs, planted, evals), "s")
        del planted
        url, optuna_url = sqlite_url(ours), sqlite_url(theirs)
        steps: dict[str, dict[str, Any]] = {
            "scitune-imports": {}, "scitune-status": {"url": url}, "scitune-trials": {"url": url},
            "scitune-metrics": {"url": url},
            "cli-status": {"argv": ["status", NAME, "--store", url], "cwd": str(folder)},
            "cli-trials": {"argv": ["trials", NAME, "--store", url], "cwd": str(folder)},
            "cli-trials-csv": {"argv": ["trials", NAME, "--format", "csv", "--store", url], "cwd": str(folder)},
            "optuna-imports": {}, "optuna-trials": {"url": optuna_url}, "optuna-plots": {"url": optuna_url},
        }
        if report_api is True:
            steps["scitune-report"] = {"url": url, "out": str(folder / "report-python")}
        elif report_api:
            result.notes.append(f"scitune report: cannot be imported ({report_api})")
        else:
            result.notes.append("scitune report: not available yet (no scitune.report.write_report)")
        if report_cli is not None:
            argv = [a.replace("{out}", str(folder / "report-cli")) for a in report_cli]
            steps["cli-report"] = {"argv": ["report", NAME, "--store", url, *argv], "cwd": str(folder)}
        else:
            result.notes.append("scitune report (command line): not available yet")
        if quick:  # a smoke test: one command-line step stands for the others (seconds each)
            steps = {k: v for k, v in steps.items() if k not in ("cli-trials", "cli-trials-csv", "cli-report")}
        measured = {}
        for name, args in steps.items():
            try:
                measured[name] = run_helper("analysis_scale", "step", name, json.dumps(args))
            except Exception as err:  # noqa: BLE001 - one failing step is recorded, the rest still run
                measured[name] = {"error": str(err)[-800:]}
            if "argv" in args:
                measured[name]["command"] = "scitune " + " ".join(args["argv"])
    result.details["steps"] = measured

    for name, figures in measured.items():
        key = name.replace("-", "_")
        if "error" in figures:
            result.notes.append(f"{name} failed: {figures['error']}")
        result.figure(f"{key}_s", figures.get("work_s"), "s")
        result.figure(f"{key}_peak_mb", figures.get("max_rss_mb"), "MiB")
        if figures.get("import_s") is not None:
            result.figure(f"{key}_import_s", figures["import_s"], "s")
    plots = measured["optuna-plots"]
    for part in ("load_s", "slice_s", "intermediate_s"):
        result.figure(f"optuna_plots_{part}", plots.get(part), "s")
    f = result.figures
    result.figure("optuna_trials_over_scitune_status", ratio(f["optuna_trials_s"], f["scitune_status_s"]), "x")
    result.figure("optuna_trials_over_scitune_trials", ratio(f["optuna_trials_s"], f["scitune_trials_s"]), "x")
    result.figure("optuna_plots_peak_over_scitune_trials_peak", ratio(f["optuna_plots_peak_mb"], f["scitune_trials_peak_mb"]), "x")
    if "scitune_report_s" in f:
        result.figure("optuna_plots_over_scitune_report", ratio(f["optuna_plots_s"], f["scitune_report_s"]), "x")
    result.notes.append(f"Optuna holds {trials * evals} intermediate values (one metric); scitune {points} points (three).")
    return result.as_dict()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "step":
        sys.exit("usage: python -m benchmarks.analysis_scale step NAME JSON_ARGS")
    print(json.dumps(_step(sys.argv[2], json.loads(sys.argv[3]))))
