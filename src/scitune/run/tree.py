"""Every process a command-mode trial started, found and ended however its runner dies.

Standard library only: this file is also the *guard*, run as a script between the worker and the
training program (``python -I tree.py -- ARGV...``), so it must import nothing of scitune.

How a trial's processes are found: every process of a trial carries the trial's marker in its
environment (``SCITUNE_TRIAL_DIR``, the trial's own folder, and ``SCITUNE_ATTEMPT``), inherited by
every descendant — wrappers that do not ``exec``, launchers, children that ignore SIGTERM and ones
that called ``setsid`` alike. On Linux, :func:`marked` reads ``/proc/PID/environ`` of this user's
processes to find them; elsewhere only the trial's process group is reached. A process that clears
its own environment before it starts children escapes the marker (nothing short of a cgroup can
follow it).

Who ends them:

- the worker, when a trial ends in any way (finished, failed, timed out, interrupted);
- the guard, a small process in the trial's own session that the kernel tells (parent-death
  signal) when its worker dies, even by SIGKILL of the runner's whole process group;
- the next worker that claims the trial again, before it starts the new attempt (a guard killed by
  SIGKILL itself is the only way to leave processes behind until then).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

TRIAL_VARIABLE = "SCITUNE_TRIAL_DIR"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int) -> None:
    """Ask Linux to send this process ``signum`` when its parent dies (a no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum))
    except (OSError, AttributeError):
        pass


def marked(name: str, value: str) -> list[int]:
    """Pids of this user's live processes whose environment holds ``name=value`` (never this
    process or its parent). Empty where there is no ``/proc``."""
    needle = f"{name}={value}".encode()
    spare = {os.getpid(), os.getppid()}
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) in spare:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or another user's
            continue
        if needle in environ.split(b"\0"):  # a zombie's environment reads empty: never matched
            found.append(int(entry))
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _signal_group(pgid: int | None, signum: int) -> bool:
    if pgid is None:
        return False
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _group_alive(pgid: int | None) -> bool:
    return _signal_group(pgid, 0)


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends (they are delivered then), so a second stop
    signal cannot cut a kill in half: the SIGKILL step always runs."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    except (AttributeError, ValueError, OSError):  # not the main thread's business, or no sigmask
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def end_tree(
    pgid: int | None, marker: str | None, grace: float = 5.0, wait: "subprocess.Popen | None" = None
) -> None:
    """SIGTERM to the process group ``pgid`` and to every process marked with trial folder
    ``marker``; up to ``grace`` seconds for them to go; then SIGKILL to whatever is left, repeated
    until nothing marked is alive (a process may fork while it is being killed)."""
    with stop_signals_held():
        _signal_group(pgid, signal.SIGTERM)
        if marker:
            _signal_all(marked(TRIAL_VARIABLE, marker), signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if wait is not None:
                wait.poll()
            if not _group_alive(pgid) and not (marker and marked(TRIAL_VARIABLE, marker)):
                break
            time.sleep(0.05)
        for _ in range(50):
            _signal_group(pgid, signal.SIGKILL)
            left = marked(TRIAL_VARIABLE, marker) if marker else []
            _signal_all(left, signal.SIGKILL)
            if not left:
                break
            time.sleep(0.02)
        if wait is not None:
            wait.wait()


# -- the guard -------------------------------------------------------------------------------------


def guard(argv: list[str]) -> int:
    """Run ``argv`` as this process's child and end its whole tree when this process is told to
    stop (SIGTERM, SIGINT, SIGHUP) or its parent dies. Returns the child's exit status the way a
    shell reports it, and re-raises a signal that killed the child."""
    marker = os.environ.get(TRIAL_VARIABLE)
    parent = os.getppid()
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent or parent == 1:  # the worker died before the request took effect
        return 128 + signal.SIGTERM

    child: subprocess.Popen | None = None

    def stop(signum: int, _frame: object) -> None:
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        end_tree(os.getpgrp(), marker, wait=child)
        os._exit(128 + signum)

    for s in STOP_SIGNALS:
        signal.signal(s, stop)
    try:
        child = subprocess.Popen(argv)
    except OSError as error:
        print(f"cannot start {argv[0]!r}: {error.strerror or error}", file=sys.stderr)
        return 127
    code = child.wait()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    sys.exit(guard(args))
