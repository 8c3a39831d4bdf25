"""Riding out a lost store connection.

A database server restarting or a network blip must not kill a run that has trained for hours.
Every Store method is one transaction, so a method whose transaction failed on a lost connection
can simply run again: the failed connection is dropped, the pool reconnects and the work is redone. After a
growing series of waits (the total is ``$SCITUNE_STORE_RETRY_SECONDS``, default 60 s) the error
becomes one clear StoreError instead of a driver traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any, Callable, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

from scitune.errors import StoreError

log = logging.getLogger("scitune.store")
RETRY_ENV = "SCITUNE_STORE_RETRY_SECONDS"
F = TypeVar("F", bound=Callable[..., Any])


def _budget() -> float:
    try:
        return max(0.0, float(os.environ.get(RETRY_ENV, "60")))
    except ValueError:
        return 60.0


# SQLite's words for a store that cannot take writes: a full disk (or file-size limit), a read-only file.
_CANNOT_WRITE = ("disk is full", "disk i/o error", "readonly database", "no space left")


def retrying(method: F) -> F:
    """Run a Store method again, with backoff, when its connection was lost mid-transaction."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        budget, waited, delay, tries = _budget(), 0.0, 0.1, 0
        while True:
            tries += 1
            try:
                return method(self, *args, **kwargs)
            except (OperationalError, InterfaceError) as err:
                cause = str(getattr(err, "orig", err)).strip()
                if any(sign in cause.lower() for sign in _CANNOT_WRITE):  # waiting will not help
                    raise StoreError(
                        f"store {self.safe_url} cannot be written ({cause})",
                        hint="free disk space, or make the store writable; then run the same command to resume",
                    ) from None
                if waited >= budget:
                    raise StoreError(
                        f"lost the connection to the store {self.safe_url} and it did not come back "
                        f"({tries} tries over {waited:.0f} s): {str(getattr(err, 'orig', err)).strip()}",
                        hint=f"check that the database is up; ${RETRY_ENV} sets how long to keep trying",
                    ) from None
                delay = min(delay * 2, 5.0, max(budget - waited, 0.0))
                log.warning("store connection problem (%s); retrying in %.1f s", getattr(err, "orig", err), delay)
                time.sleep(delay)
                waited += delay

    return wrapper  # type: ignore[return-value]
