"""Many runners on one experiment (issue 18, goal 5): ``scitune run`` processes sharing one store.

``python -m benchmarks.many_runners [--trials 2000] [--postgres URL] [--runners 8] [--sqlite-runners 4]
[--workers 2]``

Every run is whole ``scitune run exp.yaml --store URL --workers 2`` processes started at once on one
experiment of short trials (a few reported evaluations, a few milliseconds of sleep each): on
PostgreSQL (a loopback database of its own, created and dropped here) ``--runners`` of them, on
one SQLite file ``--sqlite-runners``; and beside each, on a fresh store of the same kind, ONE
runner with the same workers per runner on the same workload. Checked for every run: each trial
started exactly once (the train function logs its starts), every trial completed, every runner
exited 0, and no runner printed a lock error or a traceback.

Figures: wall seconds per trial of the whole experiment (first start to last exit), CPU seconds
per trial of every scitune process (runners and their workers; the database server's own are not
counted), and the overhead per trial in worker-seconds beyond the trial's own work
(``wall x workers / trials - work``); many against one as ratios. On a machine with fewer cores
than workers the many-runner wall time measures the CPU they share, not the store: the CPU
column is the steadier one.

The quick mode (the CI smoke run) is a few trials, two runners and no single runner beside them, on
SQLite, and on PostgreSQL only when ``$SCITUNE_TEST_POSTGRES_URL`` names a server (``--postgres``
for this command).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, Result, scratch, sqlite_url

START_LOG_ENV = "SCITUNE_BENCH_START_LOG"
STEP_SECONDS = 0.002
EVALUATIONS = 4
WORK_S = STEP_SECONDS * EVALUATIONS  # the trial's own work
ERROR_SIGNS = ("locked", "Traceback", "deadlock", "could not serialize", "UniqueViolation", "IntegrityError")
LAUNCHER = r"""
import json, resource, subprocess, sys, time
start = time.time()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"start": start, "end": time.time(), "cpu_s": usage.ru_utime + usage.ru_stime,
                  "rc": proc.returncode, "stderr": proc.stderr[-4000:]}))
"""


def short_train(hp: dict, trial: Any) -> None:
    """A short trial: logs its start, then a few evaluations of a few milliseconds each."""
    path = os.environ.get(START_LOG_ENV)
    if path:
        with open(path, "a") as f:  # one short append per line: whole lines even from many processes
            f.write(f"start {trial.study} {trial.number} {os.getpid()}\n")
    for step in range(1, EVALUATIONS + 1):
        time.sleep(STEP_SECONDS)
        loss = (hp["learning_rate"] - 0.01) ** 2 + 1.0 / step
        trial.report(step, val_error=loss, train_loss=loss / 2)


def experiment_text(name: str, trials: int) -> str:
    return f"""\
experiment: {name}
goal: Do many runners on one store run each trial once (goal 5)?
train: benchmarks.many_runners:short_train
objective: {{metric: val_error, mode: min}}
budget: {{trials_per_study: {trials // 2}, max_train_steps: {EVALUATIONS}, eval_every: 1}}
search: {{algorithm: quasi_random, seed: 0}}
hyperparameters:
  scientific: {{width: [64, 128]}}
  nuisance:
    learning_rate: {{low: 1.0e-4, high: 1.0e-1, scale: log}}
"""


def _env(log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SCITUNE_STORE"}
    env[START_LOG_ENV] = str(log)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def one_run(url: str, runners: int, workers: int, trials: int, folder: Path, label: str) -> dict[str, Any]:
    """``runners`` scitune run processes at once on a fresh experiment in ``url``; checked and timed."""
    from scitune.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    name = "many"
    (folder / "exp.yaml").write_text(experiment_text(name, trials))
    log = folder / "starts.log"
    log.write_text("")
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "scitune", "run", "exp.yaml", "--store", url,
               "--workers", str(workers)]
    procs = [subprocess.Popen(command, cwd=folder, env=_env(log), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(runners)]
    measured = []
    for proc in procs:
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0 or not out.strip():
            raise RuntimeError(f"{label}: a launcher failed ({proc.returncode}): {err[-2000:]}")
        measured.append(json.loads(out.strip().splitlines()[-1]))
    starts = Counter(tuple(line.split()[1:3]) for line in log.read_text().splitlines() if line.startswith("start"))
    store = Store(url)
    states = dict(Counter(store.trials(name)["state"]))
    store.close()
    errors = [m["stderr"] for m in measured if any(sign in m["stderr"] for sign in ERROR_SIGNS)]
    wall = max(m["end"] for m in measured) - min(m["start"] for m in measured)
    out = {
        "runners": runners, "workers": workers, "trials": trials, "wall_s": wall,
        "cpu_s": sum(m["cpu_s"] for m in measured),
        "distinct_trials_started": len(starts), "started_more_than_once": sum(1 for c in starts.values() if c > 1),
        "exit_codes": sorted({m["rc"] for m in measured}), "states": states, "runners_with_errors": len(errors),
        "load": _load(),
    }
    out["each_trial_once"] = (out["distinct_trials_started"] == trials and out["started_more_than_once"] == 0
                              and states == {"completed": trials} and out["exit_codes"] == [0] and not errors)
    print(f"{label}: {json.dumps(out)}", file=sys.stderr, flush=True)
    if errors:
        print(f"{label}: first runner error: {errors[0][-1500:]}", file=sys.stderr, flush=True)
    return out


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def compare(kind: str, urls: tuple[str, str], runners: int, workers: int, trials: int, folder: Path,
            result: Result, single_too: bool = True) -> None:
    """One runner (unless not ``single_too``), then ``runners`` runners, each on a fresh store of
    ``kind``; figures and goals."""
    many = one_run(urls[1], runners, workers, trials, folder / f"{kind}-{runners}",
                   f"{kind}, {runners} runners x {workers}")
    result.details[f"{kind}_many"] = many
    name = "PostgreSQL" if kind == "postgres" else "SQLite"
    result.goal(f"{name}, {runners} runners x {workers}: every trial exactly once, no lock error (1 = yes)",
                float(many["each_trial_once"]), 1.0, ">=")
    result.figure(f"{kind}_many_trials_started_twice", many["started_more_than_once"], "trials")
    runs = [(str(runners), many, runners * workers)]
    if single_too:
        single = one_run(urls[0], 1, workers, trials, folder / f"{kind}-1", f"{kind}, 1 runner x {workers}")
        result.details[f"{kind}_single"] = single
        runs.insert(0, ("1", single, workers))
        result.goal(f"{name}, 1 runner x {workers}: every trial exactly once (1 = yes)",
                    float(single["each_trial_once"]), 1.0, ">=")
    for label, run, total_workers in runs:
        prefix = f"{kind}_{label}x{workers}"
        result.figure(f"{prefix}_wall_ms_per_trial", run["wall_s"] / trials * 1000, "ms")
        result.figure(f"{prefix}_cpu_ms_per_trial", run["cpu_s"] / trials * 1000, "ms")
        result.figure(f"{prefix}_overhead_ms_per_trial", (run["wall_s"] * total_workers / trials - WORK_S) * 1000, "ms")
        result.figure(f"{prefix}_load", run["load"], "")
    if single_too:
        result.figure(f"{kind}_many_over_one_wall", many["wall_s"] / single["wall_s"], "x")
        result.figure(f"{kind}_many_over_one_cpu", many["cpu_s"] / single["cpu_s"], "x")
        many_overhead = result.figures[f"{kind}_{runners}x{workers}_overhead_ms_per_trial"]
        result.figure(f"{kind}_many_over_one_overhead", many_overhead / result.figures[
            f"{kind}_1x{workers}_overhead_ms_per_trial"], "x")


def _fresh_postgres(url: str, suffix: str) -> str:
    from benchmarks.store_scale import _fresh_postgres as fresh

    return fresh(url, suffix)


def _drop_postgres(url: str, created: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(created).database}"')
    engine.dispose()


def measure(trials: int, runners: int, sqlite_runners: int, workers: int, postgres: str | None,
            folder: Path, result: Result, single_too: bool = True) -> None:
    if sqlite_runners:
        compare("sqlite", (sqlite_url(folder / "one.db"), sqlite_url(folder / "many.db")), sqlite_runners, workers,
                trials, folder, result, single_too)
    if postgres:
        created = [_fresh_postgres(postgres, f"many_runners_{i}") for i in (1, 2)]
        try:
            compare("postgres", (created[0], created[1]), runners, workers, trials, folder, result, single_too)
        finally:
            for url in created:
                _drop_postgres(postgres, url)
    else:
        result.notes.append("PostgreSQL part skipped: no server configured (--postgres or $SCITUNE_TEST_POSTGRES_URL)")


def run(quick: bool, workdir: Path | None = None) -> dict[str, Any]:
    # Quick (the CI smoke run, <= 10 s): SQLite, 2 runners x 2 workers, 12 trials, no single-runner
    # run beside (each scitune start costs a second or two); PostgreSQL only with a server.
    trials, runners, sqlite_runners = (12, 2, 2) if quick else (2000, 8, 4)
    postgres = os.environ.get("SCITUNE_TEST_POSTGRES_URL")
    result = Result("Many runners on one experiment: each trial once, and the overhead against one runner",
                    {"trials": trials, "runners_postgres": runners, "runners_sqlite": sqlite_runners, "workers": 2,
                     "evaluations": EVALUATIONS, "work_s": WORK_S, "postgres": bool(postgres)})
    with scratch(workdir, "many_runners") as folder:
        measure(trials, runners, sqlite_runners, 2, postgres, folder, result, single_too=not quick)
    return result.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--runners", type=int, default=8, help="scitune run processes on PostgreSQL")
    parser.add_argument("--sqlite-runners", type=int, default=4, help="scitune run processes on SQLite (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", help="a PostgreSQL URL: its server gets two databases of its own, dropped after")
    parser.add_argument("--keep", type=Path, help="keep the stores and logs in this folder (emptied first)")
    args = parser.parse_args()
    result = Result("Many runners on one experiment", {"trials": args.trials, "runners_postgres": args.runners,
                                                       "runners_sqlite": args.sqlite_runners, "workers": args.workers})
    with scratch(args.keep, "many_runners") as folder:
        measure(args.trials, args.runners, args.sqlite_runners, args.workers, args.postgres, folder, result)
    result.print_summary()
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
