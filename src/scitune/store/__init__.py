"""The store: experiments, studies, trials, every metric point and every decision, in SQLite or
PostgreSQL. The only state that runners, workers and commands share."""

from scitune.store.records import (
    ClaimedTrial,
    ExperimentRecord,
    LaunchRecord,
    NoteRecord,
    StudyRecord,
    TestResultRecord,
    TrialLocation,
)
from scitune.store.schema import DEFAULT_URL, SCHEMA_VERSION, STORE_ENV, display_url, resolve_url
from scitune.store.store import Store

__all__ = [
    "Store", "ClaimedTrial", "ExperimentRecord", "StudyRecord", "LaunchRecord", "NoteRecord", "TestResultRecord",
    "TrialLocation", "resolve_url", "display_url", "DEFAULT_URL", "STORE_ENV", "SCHEMA_VERSION",
]
