"""The report's checks at 100,000 trials, before and after, side by side (issue 16 part 6, issue 18 goal 2).

``python benchmarks/checks_scale.py --store SQLITE_FILE --name EXPERIMENT [--before SRC] [--repeat 1]
[--what checks,report,status,csv]``

Each measurement is one fresh process (interpreter start and imports included), started by a small
launcher whose children's peak resident set is the command's own; wall seconds, CPU seconds (user +
system) and that peak, with the 1-minute load average when it started:

- ``checks``: what the dashboard's checks process runs for an experiment's page
  (:func:`scitune.dashboard.views.checked`: read the experiment, the report's checks, every plot's
  figure as JSON), and the JSON's size;
- ``report``: ``scitune report NAME --no-png``;
- ``status``: ``scitune status NAME``; ``csv``: ``scitune trials NAME --format csv``;
- ``findings``: the review's findings, passed checks, importance, budget verdicts (the curves'
  bootstrap bands left out: they are the plot's), edges and infeasible regions as JSON; with
  ``--before``, ``same`` says whether both sides' JSON is identical.

``--before SRC`` (another checkout's ``src``, e.g. ``git archive BASE src | tar -x -C /tmp/base``)
runs each measurement with that scitune too, alternating with this checkout's, on the same store in
the same minutes. The stores: ``benchmarks/dashboard_scale.py --keep DIR`` (100,000 trials, all
finished, 20 evaluations x 3 metrics) and ``python -m benchmarks.store_scale --read ... --stores DIR``
(8% finished). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"s": wall, "rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "rc": proc.returncode, "out": proc.stdout[-300:], "stderr": proc.stderr[-1500:]}))
"""
CHECKS = r"""
import sys
from scitune.dashboard.views import checked
result = checked(sys.argv[1], sys.argv[2], (0,))
print(len(result.plots), len(result.findings), result.answer["title"])
"""


FINDINGS = r"""
import json, sys
from scitune.analysis.review import review
from scitune.steps.report import load
from scitune.store.readonly import ReadOnlyStore
data = load(ReadOnlyStore(sys.argv[1]), sys.argv[2])
result = review(data.experiment, data.trials, data.metrics, data.studies, data.retrain)
bands = ("median", "q25", "q75", "q05", "q95")
print(json.dumps({"findings": [f.to_dict() for f in result.findings], "passed": result.passed,
                  "importance": [i.as_record() for i in result.importances],
                  "budgets": [{k: v for k, v in vars(c).items() if k not in bands} for c in result.budgets],
                  "edges": [vars(e) for e in result.edges], "regions": [vars(r) for r in result.regions]},
                 default=str, sort_keys=True))
"""


def one(src: str, args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    env.pop("SCITUNE_STORE", None)
    load = Path("/proc/loadavg").read_text().split()[0]
    if args[1:3] == ["-c", FINDINGS]:
        out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=True)
        return {"json": out.stdout.strip().splitlines()[-1], "s": 0.0, "cpu_s": 0.0, "rss_mb": 0.0,
                "load_1m": float(load)}
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *args], capture_output=True, text=True, env=env,
                         cwd=tempfile.gettempdir(), check=True)
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    if measured["rc"] != 0:
        raise RuntimeError(f"{args} failed: {measured['stderr']}")
    measured["load_1m"] = float(load)
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in measured.items() if k != "stderr"}


def commands(what: str, url: str, name: str, out: Path) -> list[str]:
    cli = [sys.executable, "-m", "scitune"]
    return {
        "checks": [sys.executable, "-c", CHECKS, url, name],
        "findings": [sys.executable, "-c", FINDINGS, url, name],
        "report": [*cli, "report", name, "--store", url, "--no-png", "--out", str(out)],
        "status": [*cli, "status", name, "--store", url],
        "csv": [*cli, "trials", name, "--store", url, "--format", "csv"],
    }[what]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a SQLite store file")
    parser.add_argument("--name", required=True, help="the experiment")
    parser.add_argument("--before", help="another checkout's src folder, measured alternately")
    parser.add_argument("--what", default="checks,report,status,csv")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    url = f"sqlite:///{args.store.resolve()}"
    sides = {"after": str(REPO / "src")} | ({"before": args.before} if args.before else {})
    result: dict = {"store": str(args.store), "experiment": args.name, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for what in args.what.split(","):
            for i in range(args.repeat):
                for side, src in (sides.items() if i % 2 == 0 else reversed(sides.items())):
                    measured = one(src, commands(what, url, args.name, Path(tmp) / f"{side}-{what}"))
                    result["runs"].setdefault(f"{what} {side}", []).append(measured)
                    if what == "findings":
                        continue
                    print(f"{what:6s} {side:6s} {measured['s']:7.2f} s wall {measured['cpu_s']:6.2f} s CPU "
                          f"{measured['rss_mb']:6.0f} MiB  load {measured['load_1m']}", file=sys.stderr, flush=True)
    found = {side: runs[0].pop("json") for key, runs in result["runs"].items() if key.startswith("findings ")
             for side in [key.split()[1]]}
    if found:
        result["findings"] = json.loads(found["after"])
        if "before" in found:
            result["same"] = found["before"] == found["after"]
            print(f"findings before and after: {'identical' if result['same'] else 'DIFFERENT'}", file=sys.stderr)
        for key in [k for k in result["runs"] if k.startswith("findings ")]:
            del result["runs"][key]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
