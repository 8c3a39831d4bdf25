"""The store: experiments, studies, trials and every metric point, in SQLite or PostgreSQL."""

from scitune.store.schema import DEFAULT_URL, SCHEMA_VERSION, STORE_ENV, resolve_url
from scitune.store.store import (
    CLAIMABLE,
    COMPLETED,
    FAILED,
    FINISHED,
    INFEASIBLE,
    INTERRUPTED,
    PENDING,
    RUNNING,
    STATES,
    ClaimedTrial,
    Store,
)

__all__ = [
    "Store", "ClaimedTrial", "resolve_url", "DEFAULT_URL", "STORE_ENV", "SCHEMA_VERSION", "STATES", "FINISHED",
    "CLAIMABLE", "PENDING", "RUNNING", "COMPLETED", "INFEASIBLE", "FAILED", "INTERRUPTED",
]
