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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


def _group_members(pgid: int) -> list[int] | None:
    """Pids in process group ``pgid`` other than this process; None where there is no /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    me, found = os.getpid(), []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def _group_alive(pgid: int | None) -> bool:
    """Whether a process of group ``pgid`` other than this one is alive."""
    if pgid is None:
        return False
    if os.getpgrp() != pgid:
        return _signal_group(pgid, 0)
    members = _group_members(pgid)
    return True if members is None else bool(members)


def _kill_group(pgid: int | None) -> list[int]:
    """SIGKILL to group ``pgid``, sparing this process when it is a member (the guard, which
    must live to finish the job); returns the pids that were signalled one by one."""
    if pgid is None:
        return []
    if os.getpgrp() != pgid:
        _signal_group(pgid, signal.SIGKILL)
        return []
    members = _group_members(pgid) or []
    _signal_all(members, signal.SIGKILL)
    return members


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends (then the first one is delivered
    again, to the handler that was in place), so a second stop signal cannot cut a kill in half:
    the SIGKILL step always runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; it also receives the signals
        return
    pending: list[int] = []
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    held = [s for s, handler in previous.items() if handler is not None]
    for s in held:
        signal.signal(s, lambda signum, _frame: pending.append(signum))
    try:
        yield
    finally:
        for s in held:
            signal.signal(s, previous[s])
        if pending:
            os.kill(os.getpid(), pending[0])


def end_tree(
    pgid: int | None, marker: str | None, grace: float = 5.0, wait: subprocess.Popen | None = None
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
            left = _kill_group(pgid) + (marked(TRIAL_VARIABLE, marker) if marker else [])
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

    def stop(signum: int, _frame: object) -> None:
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        # Not wait=child: this handler may run inside child.wait(), which holds the child's lock.
        end_tree(os.getpgrp(), marker)
        os._exit(128 + signum)

    for s in STOP_SIGNALS:
        signal.signal(s, stop)
    try:
        child = subprocess.Popen(argv)  # in this process's group, which the worker signals
    except OSError as error:
        print(f"cannot start {argv[0]!r}: {error.strerror or error}", file=sys.stderr)
        return 127
    code = child.wait()
    if code < 0:  # die the same way, so the worker reads the same ending
        try:
            signal.signal(-code, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
            pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [-code])
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    sys.exit(guard(args))
