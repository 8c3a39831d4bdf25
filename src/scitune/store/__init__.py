"""The store: experiments, studies, trials and every metric point, in SQLite or PostgreSQL."""

from scitune.store import decisions  # noqa: F401  (adds the launches and notes tables to the schema)
from scitune.store import testset  # noqa: F401  (adds the test_results table to the schema)
from scitune.store.schema import (
    CLAIMABLE,
    COMPLETED,
    DEFAULT_URL,
    FAILED,
    FINISHED,
    INFEASIBLE,
    INTERRUPTED,
    PENDING,
    RUNNING,
    SCHEMA_VERSION,
    STATES,
    STORE_ENV,
    resolve_url,
)
from scitune.store.store import ClaimedTrial, Store

__all__ = [
    "Store", "ClaimedTrial", "resolve_url", "DEFAULT_URL", "STORE_ENV", "SCHEMA_VERSION", "STATES", "FINISHED",
    "CLAIMABLE", "PENDING", "RUNNING", "COMPLETED", "INFEASIBLE", "FAILED", "INTERRUPTED",
]
