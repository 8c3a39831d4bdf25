"""Command-mode trials: any program, any framework, run as an argv list (never through a shell).

The program learns its trial from placeholders in its argv and from environment variables, and
reports by appending one JSON object per line to its metrics file::

    {"step": 100, "train_loss": 0.31, "val_error": 0.042}
    {"step": 100, "checkpoint": "ckpt-100.pt"}

scitune reads new complete lines while the program runs (so status and the progress bar move) and
feeds them to the same trial handle Python trials use: batching, best-step tracking and the
infeasible rule are shared. A malformed line is noted with its line number and skipped; a last line
left half-written by a dying program is ignored.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from scitune.errors import TrialFailed
from scitune.run import tree
from scitune.run.checkpoints import inside
from scitune.run.trial import Trial

ENV_PREFIX = "SCITUNE_"
STDERR_TAIL_LINES = 8


GUARD = Path(tree.__file__).resolve()
MAX_STEP = 2**63 - 1  # the store's integers; a larger step could never be written
MAX_NOTES = 50  # a program that writes a million bad lines gets a count, not a million notes


def kill_group(proc: subprocess.Popen, grace: float = 5.0, marker: str | None = None) -> None:
    """Stop the program and everything it started: SIGTERM to its process group and to every
    process carrying the trial's marker, then SIGKILL to whatever is left (see scitune.run.tree).
    Ctrl-C and SIGTERM are held meanwhile, so the SIGKILL step always runs."""
    tree.end_tree(proc.pid, marker, grace=grace, wait=proc)


def can_start(program: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Why ``program`` cannot be started, or None when it can."""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program) if Path(program).is_absolute() else cwd / program
        if not path.is_file():
            return "No such file or directory"
        return None if os.access(path, os.X_OK) else "Permission denied"
    return None if shutil.which(program, path=env.get("PATH")) else "No such file or directory"


class MetricsReader:
    """Reads the complete lines appended to a metrics file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.lineno = 0

    def read(self) -> Iterator[tuple[int, str]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # no newline yet: maybe still being written
        for raw in lines:
            self.lineno += 1
            yield self.lineno, raw.decode("utf-8", errors="replace")

    @property
    def unfinished(self) -> bool:
        return bool(self._partial.strip())


def parse_line(text: str) -> tuple[int, dict[str, float], str | None]:
    """``(step, metrics, checkpoint)`` of one metrics line; ValueError says what is wrong."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    except (ValueError, RecursionError) as err:  # a 5,000-digit number, [[[[...]]]] nested too deep
        raise ValueError(f"not a usable JSON line ({str(err).split(':')[0] or type(err).__name__})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    step = record.pop("step", None)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"'step' must be a non-negative integer, got {_short(step)}")
    if step > MAX_STEP:
        raise ValueError(f"'step' {_short(step)} is beyond the largest step the store can hold (2^63 - 1)")
    checkpoint = record.pop("checkpoint", None)
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise ValueError("'checkpoint' must be a file name")
    values = {}
    for name, value in record.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"metric {_short(name)} must be a number, got {_short(value)}")
        try:
            values[name] = float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise ValueError(f"metric {_short(name)} is too large for a float: {_short(value)}") from None
    if not values and checkpoint is None:
        raise ValueError("no metric and no checkpoint")
    return step, values, checkpoint


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (notes quote what a program wrote)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 4000 else "a huge integer"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CommandProgram:
    """Runs one trial as ``argv`` (placeholders filled) in ``cwd``, with an optional timeout."""

    def __init__(self, argv: list[str], cwd: Path, timeout: float | None = None, poll_seconds: float = 0.1) -> None:
        self.argv, self.cwd, self.timeout, self.poll_seconds = argv, cwd, timeout, poll_seconds

    def environment(self, trial: Trial, metrics_file: Path) -> dict[str, str]:
        env = {
            "HPARAMS": json.dumps(trial.params),
            "TRIAL_DIR": str(trial.directory),  # also the marker every process of the trial carries
            "ATTEMPT": str(trial.attempt),
            "METRICS_FILE": str(metrics_file),
            "SEED": str(trial.seed),
            "MAX_TRAIN_STEPS": str(trial.max_train_steps),
            "EVAL_EVERY": str(trial.eval_every),
            "OBJECTIVE": trial.objective.metric,
            "OBJECTIVE_MODE": trial.objective.mode,
            "STUDY": trial.study,
            "TRIAL": str(trial.number),
        }
        resume = trial.resume_point
        if resume is not None:
            env.update(RESUME_STEP=str(resume[0]), RESUME_CHECKPOINT=resume[1])
        return {**os.environ, **{ENV_PREFIX + k: v for k, v in env.items()}}

    def fill(self, trial: Trial, metrics_file: Path) -> list[str]:
        fields: dict[str, Any] = {
            **trial.params,
            "trial_dir": trial.directory,
            "metrics_file": metrics_file,
            "seed": trial.seed,
            "max_train_steps": trial.max_train_steps,
            "eval_every": trial.eval_every,
            "study": trial.study,
            "trial": trial.number,
        }
        argv = [part.format_map(fields) for part in self.argv]
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable  # the interpreter running scitune, not whatever PATH finds first
        return argv

    def __call__(self, trial: Trial) -> None:
        directory = trial.directory
        marker = str(directory)
        # A process left by an earlier attempt (its runner was SIGKILLed with its guard) ends first.
        tree.end_tree(None, marker, grace=2.0)
        # Each attempt reads only its own file: a stale writer can never add points to this one.
        metrics_file = directory / f"metrics-{trial.attempt}.jsonl"
        metrics_file.write_bytes(b"")
        argv = self.fill(trial, metrics_file)
        env = self.environment(trial, metrics_file)
        why = can_start(argv[0], self.cwd, env)
        if why is not None:
            raise TrialFailed(f"cannot start {argv[0]!r}: {why}")
        stderr_path = directory / "stderr.log"
        with open(directory / "stdout.log", "ab") as out, open(stderr_path, "ab") as err:
            try:
                # The guard sits in the trial's own session and ends the whole tree if this worker dies.
                proc = subprocess.Popen(
                    [sys.executable, "-I", str(GUARD), "--", *argv], cwd=self.cwd, env=env,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                )
            except OSError as error:
                raise TrialFailed(f"cannot start {argv[0]!r}: {error.strerror or error}") from None
            reader = MetricsReader(metrics_file)
            started = time.monotonic()
            try:
                while True:
                    finished = proc.poll() is not None
                    self._ingest(trial, reader, directory)
                    if finished:
                        break
                    if self.timeout is not None and time.monotonic() - started > self.timeout:
                        kill_group(proc, marker=marker)
                        raise TrialFailed(f"timeout: killed after {self.timeout:g} s", _tail(stderr_path))
                    time.sleep(self.poll_seconds)
            except BaseException:
                kill_group(proc, marker=marker)  # interrupted, infeasible, or timed out: nothing may outlive the trial
                raise
            kill_group(proc, grace=0, marker=marker)  # the program is done; anything it left running is not
        if reader.unfinished:
            trial.notes.append(f"line {reader.lineno + 1} of the metrics file was left unfinished and ignored")
        if proc.returncode != 0:
            code = proc.returncode
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            tail = _tail(stderr_path)
            last = tail.strip().splitlines()[-1] if tail.strip() else "no output on stderr"
            raise TrialFailed(f"{how}: {last}", tail)

    def _note(self, trial: Trial, text: str) -> None:
        if len(trial.notes) < MAX_NOTES:
            trial.notes.append(text)
        elif len(trial.notes) == MAX_NOTES:
            trial.notes.append("more metrics lines were skipped; only the first notes are kept")

    def _ingest(self, trial: Trial, reader: MetricsReader, directory: Path) -> None:
        for lineno, text in reader.read():
            if not text.strip():
                continue
            try:
                step, values, checkpoint = parse_line(text)
            except ValueError as err:
                self._note(trial, f"metrics line {lineno} skipped: {err}")
                continue
            if step > trial.max_train_steps:
                self._note(trial, f"metrics line {lineno} skipped: step {step} is beyond max_train_steps "
                                  f"({trial.max_train_steps})")
                continue
            if values:
                trial.report(step, **values)
            if checkpoint is not None:
                path = Path(checkpoint) if Path(checkpoint).is_absolute() else directory / checkpoint
                if not inside(path, directory):
                    self._note(trial, f"metrics line {lineno}: checkpoint {_short(checkpoint)} is outside the "
                                      "trial folder, refused")
                elif path.is_file():
                    trial.adopt_checkpoint(step, path)
                else:
                    self._note(trial, f"metrics line {lineno}: checkpoint {_short(checkpoint)} not found, ignored")


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
