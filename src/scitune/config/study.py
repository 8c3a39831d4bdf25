"""A study of an experiment, as plain data (no pydantic: what the store's records build on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StudySpec:
    """One study of an experiment: its name and the scientific values it holds."""

    name: str
    scientific: dict[str, Any]
