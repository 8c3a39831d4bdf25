"""Curves back at the database's speed: ``Store.metrics`` against the driver's own ``fetchall``
into a DataFrame, on the same table (issue 18, goal 3).

``python -m benchmarks.metrics_read --store URL_OR_PATH [--trials 25000] [--repeat 2]``

Each reader runs in its own fresh process (so neither one's memory is the other's), reading every
metric point of the store's first ``--trials`` trials (by id) with the same query
(``SELECT trial_id, name, step, value FROM metrics WHERE trial_id IN (...) ORDER BY trial_id, name,
step``):

- ``plain``: the driver alone, ``sqlite3`` or ``psycopg``: ``cursor.fetchall()`` then
  ``pandas.DataFrame(rows, columns=...)``;
- ``scitune``: ``Store(url).metrics(ids)``.

Per reader: wall and CPU seconds of the read, the resulting frame's size
(``memory_usage(deep=True)``), and the memory the read added: the process's peak resident set
minus its resident set just before the read (after its imports). The goals: scitune's speed
>= 0.7x the plain read's, its added memory <= 2x its frame. ``STORE_SCALE_SRC=/other/src`` reads
with another checkout's scitune (before and after). Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from benchmarks._common import REPO

READER = r"""
import json, resource, sys, time

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

kind, url, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
import pandas as pd
import sqlalchemy
from scitune.store import Store
store = Store(url, create=False)
with store.engine.connect() as conn:
    ids = [int(r[0]) for r in conn.exec_driver_sql(f"SELECT id FROM trials ORDER BY id LIMIT {trials}")]
query = ("SELECT trial_id, name, step, value FROM metrics WHERE trial_id IN (" + ",".join(map(str, ids)) + ") "
         "ORDER BY trial_id, name, step")
if kind == "plain":
    store.close()
    if url.startswith("postgresql"):
        import psycopg
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    else:
        import sqlite3
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
before = rss_mb()
cpu0, t0 = time.process_time(), time.perf_counter()
if kind == "plain":
    cur = conn.cursor()
    cur.execute(query)
    frame = pd.DataFrame(cur.fetchall(), columns=["trial_id", "name", "step", "value"])
else:
    frame = store.metrics(ids)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": wall, "cpu_s": cpu, "rows": len(frame), "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
                  "before_mb": before, "peak_mb": peak, "added_mb": peak - before,
                  "dtypes": {c: str(t) for c, t in frame.dtypes.items()}}))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = os.environ.get("STORE_SCALE_SRC", str(REPO / "src"))
    env["PYTHONPATH"] = os.pathsep.join([src, str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def read_once(kind: str, url: str, trials: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", READER, kind, url, str(trials)], capture_output=True, text=True,
                          env=_env(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} reader failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(url: str, trials: int, repeat: int) -> dict[str, Any]:
    """Both readers, alternating (plain, scitune, plain, ...), ``repeat`` times each: the best of
    each reader's runs, and the ratios."""
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "scitune": []}
    for _ in range(repeat):
        for kind, done in runs.items():
            got = read_once(kind, url, trials)
            done.append(got)
            print(f"{kind:8s} {got['rows']:>9,} rows  {got['s']:6.2f} s  {got['cpu_s']:6.2f} s CPU  frame "
                  f"{got['frame_mb']:6.1f} MiB  added {got['added_mb']:6.1f} MiB ({got['added_mb'] / got['frame_mb']:.2f}x "
                  f"frame)  load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    best = {kind: min(r, key=lambda g: g["cpu_s"]) for kind, r in runs.items()}
    plain, ours = best["plain"], best["scitune"]
    return {
        "url": url.split("@")[-1], "trials": trials, "rows": ours["rows"], "runs": runs,
        "speed_vs_plain_cpu": plain["cpu_s"] / ours["cpu_s"],
        "speed_vs_plain_wall": min(g["s"] for g in runs["plain"]) / min(g["s"] for g in runs["scitune"]),
        "added_over_frame": ours["added_mb"] / ours["frame_mb"],
        "plain_added_over_frame": plain["added_mb"] / plain["frame_mb"],
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a store's URL (postgresql+psycopg://...) or SQLite path")
    parser.add_argument("--trials", type=int, default=25_000, help="read the points of the first N trials")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    url = args.store if "://" in args.store else f"sqlite:///{os.path.abspath(args.store)}"
    result = measure(url, args.trials, args.repeat)
    print(f"speed vs plain: {result['speed_vs_plain_cpu']:.2f}x (CPU), {result['speed_vs_plain_wall']:.2f}x (wall); "
          f"added memory {result['added_over_frame']:.2f}x the frame (plain: {result['plain_added_over_frame']:.2f}x)",
          file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
