"""The store at 100,000 trials: flat per-trial cost, and reading it back (issue 18, goals 1 and 2).

``python -m benchmarks.store_scale [--trials 100000] [--evaluations 20] [--postgres URL] [--no-sqlite]
[--optuna 5000] [--optuna-seconds S] [--read 10000,30000,100000] [--keep DIR]``

1. **Per-trial cost as the study grows.** ``prepare`` stores every trial as pending (2 studies; 10,000 trials a study at most, so 10 at 100,000), then
   the harness does what a worker does for every trial: ``claim``, ``write_metrics`` (half the
   curve), ``finish`` (the other half): ``evaluations`` x 3 metrics. The time of each
   claim -> finish is recorded; the figures are the mean over the first and the last tenth of the
   trials, on SQLite and (``--postgres``) on PostgreSQL. Optuna beside it: ``study.optimize`` of a
   no-op objective reporting the same points, on the same storages, over ``--optuna`` trials
   (fewer than ours where it is slow: the count is in the figures' names).
2. **Reading it back.** ``scitune status``, ``scitune trials --format csv`` and
   ``scitune report --no-png`` as whole commands (interpreter start included) on SQLite stores
   at the sizes in ``--read``, 8% of their trials finished (92% completed, 8% failed) with their
   points and the rest pending, the shape issue 18 measured: wall time and peak memory (each command is started by a small
   launcher process whose children's peak resident set is the command's own).

``STORE_SCALE_SRC=/other/checkout/src`` runs the commands of another scitune (before and after).
Prints one JSON object on its last line (the ``python -m benchmarks`` harness runs it quick).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, Result, preload, quiet_optuna, scratch, sqlite_url

OWNER = "bench:store-scale:0:0"
LAUNCHER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"s": wall, "rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "rc": proc.returncode, "stderr": proc.stderr[-2000:]}))
"""


def study_count(trials: int) -> int:
    """Two studies, or more where a study would pass scitune's per-study limit (10,000 trials):
    100,000 trials are 10 studies of 10,000."""
    from scitune.config.experiment import MAX_TRIALS_PER_STUDY

    return max(2, -(-trials // MAX_TRIALS_PER_STUDY))


def experiment_text(name: str, trials_per_study: int, evaluations: int, studies: int = 2) -> str:
    widths = ", ".join(str(64 * (i + 1)) for i in range(studies))
    return f"""\
experiment: {name}
goal: Does a wider layer lower validation error (store at scale)?
train: benchmarks.store_scale:never_called
objective: {{metric: val_error, mode: min}}
budget: {{trials_per_study: {trials_per_study}, max_train_steps: {evaluations * 10}, eval_every: 10}}
search: {{algorithm: quasi_random, seed: 0}}
hyperparameters:
  scientific: {{width: [{widths}]}}
  nuisance:
    learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
    weight_decay: {{low: 1.0e-6, high: 1.0e-2, scale: log}}
"""


def never_called(hp: dict, trial: Any) -> None:  # the experiment names a train function; none runs
    raise RuntimeError("store_scale plants its trials itself")


def _curve(params: dict[str, Any], evaluations: int, number: int) -> tuple[list[tuple[int, str, float]], tuple[int, float]]:
    lr = math.log10(params["learning_rate"])
    floor = 0.03 + 0.02 * (lr + 2.5) ** 2 - 0.002 * math.log2(params["width"] / 64)
    rows, best = [], (10, math.inf)
    for i in range(1, evaluations + 1):
        t = i / evaluations
        noise = ((number * 7919 + i * 104729) % 1000) / 1000 * 0.004
        val = floor + 0.9 * math.exp(-t / 0.15) + noise
        rows += [(i * 10, "val_error", val), (i * 10, "val_loss", 3 * val), (i * 10, "train_loss", 0.5 * val)]
        if val < best[1]:
            best = (i * 10, val)
    return rows, best


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def per_thousand(seconds: list[float], size: int = 1000) -> list[float]:
    """Mean milliseconds per trial over each block of ``size`` trials: the growth curve."""
    return [round(statistics.fmean(seconds[i:i + size]) * 1000, 3) for i in range(0, len(seconds), size)]


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


READ_FINISHED = 0.08  # the stores read back: 8% of trials finished, the rest pending (issue 18's shape)


FAST_FORWARD = """
WITH middle AS (
    SELECT t.id FROM trials t JOIN studies s ON s.id = t.study_id
    WHERE s.experiment_id = {eid} AND t.state = 'pending' ORDER BY t.number, t.study_id LIMIT {count})
UPDATE trials SET state = 'completed', owner = '{owner}', host = 'bench', attempts = 1, started_at = {now},
    heartbeat_at = {now}, finished_at = {now}, best_step = {last_step}, best_value = 0.05 + mod(trials.id, 97) / 1000.0
FROM middle WHERE trials.id = middle.id
RETURNING trials.id
"""


def fast_forward(store: Any, experiment_id: int, count: int, evaluations: int) -> float:
    """PostgreSQL: complete the next ``count`` trials server-side, each with its ``evaluations`` x 3
    points, as if the API had run them (the store's size after them is a full run's), then VACUUM
    ANALYZE trials as autovacuum would have in the hours a real run takes. Seconds taken."""
    start = time.perf_counter()
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        ids = [r[0] for r in conn.exec_driver_sql(FAST_FORWARD.format(
            eid=int(experiment_id), count=int(count), owner=OWNER, now=time.time(), last_step=evaluations * 10))]
        for i in range(0, len(ids), 5000):  # points in chunks: no single transaction of millions of rows
            chunk = ",".join(str(t) for t in ids[i:i + 5000])
            conn.exec_driver_sql(
                "INSERT INTO metrics (trial_id, name, step, value) SELECT t.id, n.name, g.step, 1.0 / g.step "
                f"FROM unnest(ARRAY[{chunk}]) AS t(id), generate_series(10, {evaluations * 10}, 10) AS g(step), "
                "(VALUES ('val_error'), ('val_loss'), ('train_loss')) AS n(name)")
        conn.exec_driver_sql("VACUUM ANALYZE trials")
        conn.exec_driver_sql("VACUUM ANALYZE metrics")
    return time.perf_counter() - start


def plant(url: str, trials: int, evaluations: int, name: str = "store-scale", finished: float = 1.0,
          skip_middle: bool = False) -> dict[str, Any]:
    """``prepare`` then claim -> write_metrics -> finish every trial (the first ``finished``
    fraction of them); the seconds of each trial. ``skip_middle`` (PostgreSQL): only the first and
    the last tenth through the API, the eight tenths between completed server-side
    (:func:`fast_forward`), so the last tenth runs against a store of the full size."""
    from scitune.config import parse_experiment
    from scitune.run import prepare
    from scitune.store import Store

    studies = study_count(trials)
    text = experiment_text(name, trials // studies, evaluations, studies)
    experiment = parse_experiment(text)
    store = Store(url)
    load_start, cpu_start = _load(), time.process_time()
    start = time.perf_counter()
    eid = prepare(store, experiment, text)
    prepare_s = time.perf_counter() - start
    per_trial, claims = [], []
    skipped, skip_s = 0, 0.0
    while len(per_trial) + skipped < finished * trials:
        if skip_middle and not skipped and len(per_trial) == trials // 10:
            skipped = trials - 2 * (trials // 10)
            skip_s = fast_forward(store, eid, skipped, evaluations)
            _say(f"fast-forwarded {skipped} trials server-side in {skip_s:.1f} s")
            continue
        t0 = time.perf_counter()
        claimed = store.claim(eid, OWNER, "bench")
        t1 = time.perf_counter()
        if claimed is None:
            break
        rows, best = _curve(claimed.params, evaluations, claimed.number)
        half = len(rows) // 2
        if claimed.number % 20 == 19:  # some trials fail: every state the readers count
            store.finish(claimed.id, OWNER, "failed", rows[:3], None, "planted failure")
        else:
            store.write_metrics(claimed.id, rows[:half], best=None, owner=OWNER)
            store.finish(claimed.id, OWNER, "completed", rows[half:], best)
        per_trial.append(time.perf_counter() - t0)
        claims.append(t1 - t0)
    store.close()
    tenth = max(1, len(per_trial) // (2 if skipped else 10))  # skipped: the API ran the first and last tenth
    out = {
        "trials": len(per_trial), "prepare_s": prepare_s, "total_s": time.perf_counter() - start,
        "first_tenth_ms": statistics.fmean(per_trial[:tenth]) * 1000,
        "last_tenth_ms": statistics.fmean(per_trial[-tenth:]) * 1000,
        "claim_first_tenth_ms": statistics.fmean(claims[:tenth]) * 1000,
        "claim_last_tenth_ms": statistics.fmean(claims[-tenth:]) * 1000,
        "ms_per_thousand": per_thousand(per_trial), "load_start": load_start, "load_end": _load(),
        "fast_forwarded": skipped, "fast_forward_s": skip_s,
        "cpu_s": time.process_time() - cpu_start,
    }
    _say(f"planted {url.split('@')[-1]}: {json.dumps(out)}")
    return out


def optuna_growth(url: str, trials: int, evaluations: int, seconds: float | None = None,
                  load: bool = False) -> dict[str, Any]:
    """Optuna on the same storage: a no-op objective reporting ``evaluations`` x 3 points (one
    intermediate value per evaluation, two user attributes for the other metrics); stopped after
    ``seconds`` (its trial count is then in the figures)."""
    optuna = quiet_optuna()
    load_start, cpu_start = _load(), time.process_time()
    if load:  # the study goes on (after trials written into its tables behind its back)
        study = optuna.load_study(storage=url, study_name="store-scale", sampler=optuna.samplers.RandomSampler(seed=1))
    else:
        study = optuna.create_study(storage=url, study_name="store-scale", sampler=optuna.samplers.RandomSampler(seed=0))
    per_trial: list[float] = []

    def objective(trial: Any) -> float:
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
        trial.suggest_categorical("width", [64, 128])
        for i in range(1, evaluations + 1):
            trial.report(0.03 + lr + 1 / i, i * 10)
        trial.set_user_attr("val_loss", 0.1)
        trial.set_user_attr("train_loss", 0.05)
        return 0.03 + lr

    last = time.perf_counter()

    def callback(_study: Any, _trial: Any) -> None:
        nonlocal last
        now = time.perf_counter()
        per_trial.append(now - last)
        last = now

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=seconds, callbacks=[callback])
    tenth = max(1, len(per_trial) // 10)
    out = {"trials": len(per_trial), "total_s": time.perf_counter() - start,
           "first_tenth_ms": statistics.fmean(per_trial[:tenth]) * 1000,
           "last_tenth_ms": statistics.fmean(per_trial[-tenth:]) * 1000,
           "ms_per_thousand": per_thousand(per_trial), "ms_per_hundred": per_thousand(per_trial, 100),
           "load_start": load_start, "load_end": _load(), "cpu_s": time.process_time() - cpu_start}
    _say(f"optuna {url.split('@')[-1]}: {json.dumps(out)}")
    return out


OPTUNA_FAST_FORWARD = (
    "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
    "SELECT {first} + g, {study}, 'COMPLETE', now(), now() FROM generate_series(0, {count} - 1) AS g",
    "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
    "SELECT t.trial_id, p.name, CASE p.name WHEN 'width' THEN floor(random() * 2) "
    "ELSE exp(ln(p.low) + random() * (ln(p.high) - ln(p.low))) END, p.dist "
    "FROM trials t, (SELECT name, low, high, (SELECT distribution_json FROM trial_params q "
    "WHERE q.param_name = v.name LIMIT 1) AS dist FROM (VALUES ('learning_rate', 1e-4, 1e-1), "
    "('weight_decay', 1e-6, 1e-2), ('width', 1, 2)) AS v(name, low, high)) AS p WHERE t.trial_id > {after}",
    "INSERT INTO trial_values (trial_id, objective, value, value_type) "
    "SELECT trial_id, 0, 0.03 + random() / 10, 'FINITE' FROM trials WHERE trial_id > {after}",
    "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
    "SELECT t.trial_id, g * 10, 0.03 + 1.0 / g, 'FINITE' FROM trials t, generate_series(1, {evaluations}) AS g "
    "WHERE t.trial_id > {after}",
    "INSERT INTO trial_user_attributes (trial_id, key, value_json) SELECT t.trial_id, k.key, k.value "
    "FROM trials t, (VALUES ('val_loss', '0.1'), ('train_loss', '0.05')) AS k(key, value) WHERE t.trial_id > {after}",
)


def optuna_skipping(url: str, before: int, skip: int, after: int, evaluations: int) -> dict[str, Any]:
    """Optuna on PostgreSQL at two sizes in one run: ``before`` trials of a fresh study, then
    ``skip`` completed trials written straight into Optuna's tables (its own schema: parameters,
    value, ``evaluations`` intermediate values and two user attributes each, as the objective
    writes them), then ``after`` trials more through a freshly loaded study: its per-trial time at
    0 and at ``before + skip`` trials."""
    import sqlalchemy as sa

    first = optuna_growth(url, before, evaluations)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    start = time.perf_counter()
    with engine.connect() as conn:
        study_id = conn.exec_driver_sql("SELECT study_id FROM studies WHERE study_name = 'store-scale'").scalar()
        last_id, last_number = conn.exec_driver_sql("SELECT max(trial_id), max(number) FROM trials").one()
        for statement in OPTUNA_FAST_FORWARD:
            conn.exec_driver_sql(statement.format(first=last_number + 1, study=study_id, count=skip, after=last_id,
                                                  evaluations=evaluations))
        for table in ("trials", "trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes"):
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    engine.dispose()
    skip_s = time.perf_counter() - start
    _say(f"optuna: {skip} trials written into its tables in {skip_s:.1f} s")
    second = optuna_growth(url, after, evaluations, load=True)
    return {"before": first, "after": second, "skipped": skip, "skip_s": skip_s}


def command(args: list[str], cwd: Path) -> dict[str, Any]:
    """One scitune command, whole (interpreter start included): wall seconds and peak memory."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "scitune", *args],
                         cwd=cwd, capture_output=True, text=True, check=True, env=_env())
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    if measured["rc"] != 0:
        raise RuntimeError(f"scitune {' '.join(args)} failed ({measured['rc']}): {measured['stderr']}")
    _say(f"scitune {' '.join(args)}: {measured['s']:.2f} s, {measured['cpu_s']:.2f} s CPU, {measured['rss_mb']:.0f} MiB")
    return measured


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    src = os.environ.get("STORE_SCALE_SRC", str(REPO / "src"))  # another checkout's scitune: before/after
    env["PYTHONPATH"] = os.pathsep.join([src, str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("SCITUNE_STORE", None)
    return env


def reading(store: Path, name: str, folder: Path) -> dict[str, dict[str, Any]]:
    return {
        "status": command(["status", name, "--store", str(store)], folder),
        "trials_csv": command(["trials", name, "--store", str(store), "--format", "csv"], folder),
        "report": command(["report", name, "--store", str(store), "--no-png", "--out", str(folder / f"report-{store.stem}")],
                          folder),
    }


def _growth(sizes: list[int], seconds: list[float]) -> float:
    """Exponent of cost ~ size**k between the smallest and the largest size (1: linear)."""
    if len(sizes) < 2 or min(seconds) <= 0:
        return float("nan")
    return math.log(seconds[-1] / seconds[0]) / math.log(sizes[-1] / sizes[0])


def measure(trials: int, evaluations: int, optuna_trials: int, read_sizes: list[int], postgres: str | None,
            folder: Path, result: Result, stores: Path | None = None, sqlite: bool = True,
            optuna_seconds: float | None = None, skip_middle: bool = False) -> None:
    preload("scitune.run", "scipy.stats")
    if trials or optuna_trials:
        plant_and_compare(trials, evaluations, optuna_trials, postgres, folder, result, sqlite, optuna_seconds,
                          skip_middle)
    if read_sizes:
        read_back(read_sizes, evaluations, stores or folder, result)


def plant_and_compare(trials: int, evaluations: int, optuna_trials: int, postgres: str | None, folder: Path,
                      result: Result, sqlite: bool = True, optuna_seconds: float | None = None,
                      skip_middle: bool = False) -> None:
    backends = ({"sqlite": sqlite_url(folder / f"plant-{trials}.db")} if sqlite else {}) | (
        {"postgres": postgres} if postgres else {})
    for label, url in backends.items() if trials else ():
        ours = plant(url, trials, evaluations, skip_middle=skip_middle and label == "postgres")
        result.details[f"{label}_{trials}"] = {k: ours[k] for k in ("ms_per_thousand", "load_start", "load_end",
                                                                     "fast_forwarded", "fast_forward_s")}
        for key, unit in (("first_tenth_ms", "ms"), ("last_tenth_ms", "ms"), ("claim_first_tenth_ms", "ms"),
                          ("claim_last_tenth_ms", "ms"), ("prepare_s", "s"), ("total_s", "s"), ("cpu_s", "s")):
            result.figure(f"{label}_{trials}_{key}", ours[key], unit)
        growth = result.figure(f"{label}_{trials}_last_over_first", ours["last_tenth_ms"] / ours["first_tenth_ms"], "x")
        name = "SQLite" if label == "sqlite" else "PostgreSQL"
        result.goal(f"{name}: per-trial cost, last tenth / first tenth of {trials:,} trials", growth, 1.25, "<=")
    if optuna_trials:
        storages = {"sqlite": sqlite_url(folder / "optuna.db")} if sqlite else {}
        if postgres:
            storages["postgres"] = _fresh_postgres(postgres, "optuna")
        for label, url in storages.items():
            theirs = optuna_growth(url, optuna_trials, evaluations, optuna_seconds)
            result.details[f"optuna_{label}"] = {k: theirs[k] for k in ("trials", "ms_per_thousand", "ms_per_hundred",
                                                                         "load_start", "load_end")}
            result.figure(f"optuna_{label}_trials", theirs["trials"], "")
            result.figure(f"optuna_{label}_{optuna_trials}_first_tenth_ms", theirs["first_tenth_ms"], "ms")
            result.figure(f"optuna_{label}_{optuna_trials}_last_tenth_ms", theirs["last_tenth_ms"], "ms")
            result.figure(f"optuna_{label}_{optuna_trials}_last_over_first",
                          theirs["last_tenth_ms"] / theirs["first_tenth_ms"], "x")


def read_back(read_sizes: list[int], evaluations: int, folder: Path, result: Result) -> None:
    """The three commands on stores of each size: ``folder/plant-SIZE.db`` when a planting run
    left one there (``--stores``), else planted now."""
    seconds: dict[str, list[float]] = {"status": [], "trials_csv": [], "report": []}
    for size in read_sizes:
        path = folder / f"plant-{size}.db"
        if not path.exists():
            plant(sqlite_url(path), size, evaluations, finished=READ_FINISHED)
        measured = reading(path, "store-scale", folder)
        for what, figures in measured.items():
            result.figure(f"{what}_{size}_s", figures["s"], "s")
            result.figure(f"{what}_{size}_cpu_s", figures["cpu_s"], "s")  # a loaded machine inflates wall time
            result.figure(f"{what}_{size}_peak_mb", figures["rss_mb"], "MiB")
            seconds[what].append(figures["s"])
    largest = read_sizes[-1]
    for what, limit in (("status", 1.5), ("trials_csv", 3.0), ("report", 10.0)):
        result.goal(f"scitune {what} of {largest:,} trials, seconds", result.figures[f"{what}_{largest}_s"], limit, "<=")
        result.goal(f"scitune {what} of {largest:,} trials, peak MiB", result.figures[f"{what}_{largest}_peak_mb"],
                    1024, "<=")
        k = result.figure(f"{what}_growth_exponent", _growth(read_sizes, seconds[what]), "")
        result.goal(f"scitune {what}: cost ~ trials^k, k", k, 1.1, "<=")


def _fresh_postgres(url: str, suffix: str) -> str:
    """A new database next to ``url``'s (same server and user), dropped by :func:`_drop_postgres`."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    name = f"{sa.engine.make_url(engine.url).database}_{suffix}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return engine.url.set(database=name).render_as_string(hide_password=False)


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    # Quick (the CI smoke run): no read-back, whose three interpreter starts would double its time.
    trials, evaluations, optuna_trials, read = (200, 2, 20, []) if quick else (100_000, 20, 500,
                                                                                [10_000, 30_000, 100_000])
    result = Result("The store at scale: per-trial cost as a study grows, and reading it back",
                    {"trials": trials, "studies": study_count(trials), "evaluations": evaluations, "metrics": 3,
                     "optuna_trials": optuna_trials, "read_sizes": read})
    with scratch(workdir, "store_scale") as folder:
        measure(trials, evaluations, optuna_trials, read, None, folder, result)
    return result.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--optuna", type=int, default=5000, help="Optuna's trials (0: skip)")
    parser.add_argument("--read", default="10000,30000,100000", help="sizes to read back (empty: skip)")
    parser.add_argument("--postgres", help="a PostgreSQL URL: plant there too (a new database beside it)")
    parser.add_argument("--keep", type=Path, help="keep the stores in this folder (emptied first)")
    parser.add_argument("--no-sqlite", action="store_true", help="plant on PostgreSQL only (with --postgres)")
    parser.add_argument("--skip-middle", action="store_true", help="PostgreSQL: plant the first and last tenth "
                        "through the API and complete the eight tenths between server-side (a loaded machine)")
    parser.add_argument("--optuna-skip", type=int, default=0, help="PostgreSQL: Optuna runs --optuna trials, then "
                        "this many are written into its tables, then --optuna more (its time at two sizes)")
    parser.add_argument("--optuna-seconds", type=float, help="stop Optuna's study after this long")
    parser.add_argument("--stores", type=Path, help="read back the stores plant-SIZE.db of this folder (planting "
                        "those missing there); with --trials 0 nothing else is planted")
    args = parser.parse_args()
    read = [int(s) for s in args.read.split(",") if s.strip()]
    result = Result("The store at scale", {"trials": args.trials, "evaluations": args.evaluations,
                                            "optuna_trials": args.optuna, "read_sizes": read})
    postgres = _fresh_postgres(args.postgres, "scitune") if args.postgres else None
    if args.optuna_skip and postgres:
        measured = optuna_skipping(_fresh_postgres(args.postgres, "optuna"), args.optuna, args.optuna_skip,
                                   args.optuna, args.evaluations)
        for part in ("before", "after"):
            for key in ("trials", "first_tenth_ms", "last_tenth_ms", "cpu_s", "load_start", "load_end"):
                result.figure(f"optuna_postgres_{part}_{key}", measured[part][key],
                              "ms" if key.endswith("_ms") else "s" if key.endswith("_s") else "")
            result.details[f"optuna_postgres_{part}"] = measured[part]
        mean = {part: statistics.fmean(measured[part]["ms_per_hundred"]) for part in ("before", "after")}
        result.figure("optuna_postgres_ms_per_trial_at_start", mean["before"], "ms")
        result.figure(f"optuna_postgres_ms_per_trial_at_{args.optuna + args.optuna_skip}", mean["after"], "ms")
        result.figure("optuna_postgres_later_over_start", mean["after"] / mean["before"], "x")
        args.optuna = 0
    with scratch(args.keep, "store_scale") as folder:
        measure(args.trials, args.evaluations, args.optuna, read, postgres, folder, result, args.stores,
                not args.no_sqlite, args.optuna_seconds, args.skip_middle)
    result.print_summary()
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
