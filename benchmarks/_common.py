"""What every benchmark shares: the result record, the search space both tools tune over, timing,
store file sizes, and the facts about the machine a figure was measured on.

Only the standard library is imported at the top, so ``python -m benchmarks.X`` helper processes
start fast and measure their own imports.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST_OWNER = "bench:harness:0:0"  # the owner scitune records for trials the harness claims itself


@dataclass
class Result:
    """One benchmark's record: the sizes it ran at, its figures (plain numbers, each with a unit),
    and its goals. ``met`` is None for a goal that is recorded but not judged."""

    title: str
    sizes: dict[str, Any]
    figures: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    goals: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str, value: float | None, unit: str) -> float:
        self.figures[name] = float("nan") if value is None else float(value)
        self.units[name] = unit
        return self.figures[name]

    def goal(self, goal: str, measured: float, target: float, comparison: str) -> None:
        """``comparison``: '<=' or '>=' — how ``measured`` must stand to ``target``."""
        if math.isnan(measured):
            met = None
        else:
            met = measured <= target if comparison == "<=" else measured >= target
        self.goals.append({"goal": goal, "measured": measured, "target": target, "comparison": comparison, "met": met})

    def print_summary(self, stream: Any = None) -> None:
        """A line per figure and per goal, for a benchmark run as its own command (stderr by default)."""
        stream = stream or sys.stderr
        for figure, value in self.figures.items():
            print(f"{figure:45s} {value:12.4g} {self.units[figure]}", file=stream)
        for goal in self.goals:
            print(f"goal {goal['goal']}: {goal['measured']:.4g} {goal['comparison']} {goal['target']} -> {goal['met']}",
                  file=stream)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title, "sizes": self.sizes, "figures": self.figures, "units": self.units,
            "goals": self.goals, "notes": self.notes, "details": self.details,
        }


def stop_processes_naming(folder: Path) -> None:
    """Stop, by pid, every process of a Ray cluster started with ``folder`` as its temp folder (a
    benchmark's or a test's own): those whose command line names it or whose environment holds
    ``RAY_TMPDIR=folder``, and their descendants. Ray's agents (dashboard, runtime env, client
    server) rewrite their command lines, and outlive their raylet when it is killed. Never
    ``ray stop``, which would stop every Ray of this machine."""
    from scitune.run.tree import marked
    from scitune.run.worker import pid_alive

    mine, parent = set(marked("RAY_TMPDIR", str(folder))), {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if str(folder).encode() in (proc / "cmdline").read_bytes():
                    mine.add(int(proc.name))
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
                parent[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    while more := {pid for pid, ppid in parent.items() if ppid in mine and pid not in mine}:
        mine |= more
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        for _ in range(20):  # up to 1 s for them to end
            if not any(pid_alive(pid) for pid in mine):
                return
            time.sleep(0.05)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@contextmanager
def scratch(workdir: Path | None, name: str) -> Iterator[Path]:
    """A folder for one benchmark's stores: ``workdir/name`` (emptied first, kept afterwards) or,
    without ``workdir``, a temporary folder removed afterwards."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix=f"scitune-bench-{name}-") as tmp:
            yield Path(tmp)
        return
    path = Path(workdir).resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    yield path


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """``with timed() as t: ...`` then ``t["s"]`` is the wall time in seconds."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - start


# -- the 6-dimensional space of the overhead benchmark: log, linear, int, int-log, categorical ---

SPACE_YAML = """\
    learning_rate: {low: 1.0e-4, high: 1.0e-1, scale: log}
    momentum:      {low: 0.0, high: 0.99}
    weight_decay:  {low: 1.0e-6, high: 1.0e-2, scale: log}
    layers:        {low: 1, high: 8, type: int}
    width:         {low: 16, high: 1024, type: int, scale: log}
    activation:    [relu, gelu, tanh]
"""


def experiment_yaml(name: str, *, train: str, trials: int, steps: int, eval_every: int,
                    nuisance: str = SPACE_YAML) -> str:
    """An experiment file with one study (no scientific hyperparameter) over ``nuisance``."""
    return (
        textwrap.dedent(
            f"""\
            experiment: {name}
            goal: Benchmark {name}.
            train: {train}
            objective: {{metric: val_error, mode: min}}
            budget: {{trials_per_study: {trials}, max_train_steps: {steps}, eval_every: {eval_every}}}
            search: {{algorithm: quasi_random, seed: 0}}
            hyperparameters:
              nuisance:
            """
        )
        + nuisance
    )


def optuna_space(trial: Any) -> dict[str, Any]:
    """The same six parameters through Optuna's define-by-run API."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "momentum": trial.suggest_float("momentum", 0.0, 0.99),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "layers": trial.suggest_int("layers", 1, 8),
        "width": trial.suggest_int("width", 16, 1024, log=True),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "tanh"]),
    }


def preload(*modules: str) -> None:
    """Import now what the timed code would import on first use (scitune loads scipy.stats, most
    of a second, when it first draws Halton points), so that no clock measures an import and the
    order the benchmarks run in does not matter."""
    import importlib

    for module in modules:
        importlib.import_module(module)


def quiet_optuna() -> Any:
    """Import optuna with its per-trial log lines and experimental-API warnings off."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def sqlite_bytes(path: Path) -> int:
    """Bytes on disk of a SQLite file after folding its WAL back in: file + (now empty) WAL.
    Every other connection to the file must be closed first."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


# -- helper processes ---------------------------------------------------------------------------


def run_helper(module: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run ``python -m benchmarks.MODULE ARGS...`` from the repository root and return the JSON
    object it prints on its last stdout line."""
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmarks.{module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB: ``VmHWM`` of /proc/self/status, the high-water
    mark of this process image's own memory. (``getrusage(RUSAGE_SELF).ru_maxrss`` would do on its
    own but Linux carries it over ``fork`` + ``exec``: a helper started by a 200 MiB parent reports at
    least 200 MiB.) Falls back to ``ru_maxrss`` where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return children_peak_rss_mb(self=True)


def children_peak_rss_mb(self: bool = False) -> float:
    """The largest peak resident set size in MiB among this process's waited-for children
    (``getrusage(RUSAGE_CHILDREN).ru_maxrss``; KiB on Linux, bytes on macOS). Start the children
    from a small process: each inherits its parent's resident size as a floor."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF if self else resource.RUSAGE_CHILDREN)
    return usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024


# -- the machine ------------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus_usable": cpus,
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": {d: _version(d) for d in ("scitune", "optuna", "SQLAlchemy", "pandas", "numpy", "scipy", "plotly", "torch")},
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "src")),
    }
