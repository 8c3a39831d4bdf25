"""The Ray runner's pieces that need no Ray: how a task's error reaches the user, and the stop signal."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy.exc import OperationalError

from scitune.errors import ConfigError, Interrupted, ScituneError, StoreError
from scitune.run.ray_executor import _StopRequest, _task_error


class _TaskError(Exception):
    """Stands in for Ray's RayTaskError, which carries what the task raised as ``cause``."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__("ray task error\ntraceback lines")
        self.cause = cause


def test_a_tasks_own_error_is_one_line_for_the_user() -> None:
    mine = ConfigError("train: module 'gone' cannot be imported on this node")
    assert _task_error(_TaskError(mine)) is mine
    store = _task_error(_TaskError(OperationalError("INSERT", {}, Exception("disk I/O error"))))
    assert isinstance(store, StoreError) and "could not be written" in str(store)
    other = _task_error(_TaskError(ValueError("bad value")))
    assert isinstance(other, ScituneError) and "ValueError: bad value" in str(other)
    assert "\n" not in str(_task_error(_TaskError(None)))


def test_a_stop_signal_is_noted_then_raised_where_the_driver_checks() -> None:
    stop = _StopRequest()
    stop.check()  # nothing noted: nothing raised
    stop(signal.SIGTERM, None)
    with pytest.raises(Interrupted, match="SIGTERM"):
        stop.check()
