"""scitune's own exceptions.

Every mistake a user can make (a bad experiment file, a bad flag, a store from another version) is
one of these. The CLI catches them once and prints one line; the Python API lets them propagate.
"""

from __future__ import annotations


class ScituneError(Exception):
    """Base of every error scitune raises on purpose. ``hint`` says what to do about it."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(ScituneError):
    """The experiment file is invalid. The message names the file, the key path and the rule."""


class SpaceError(ScituneError):
    """A search space cannot be built or sampled as asked. ``param`` names the parameter at fault."""

    def __init__(self, message: str, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.param = param


class StoreError(ScituneError):
    """The store cannot be opened or does not hold what was asked for."""


class SchemaVersionError(StoreError):
    """The store was written by a scitune with an incompatible schema."""


class NotFoundError(StoreError):
    """An experiment, study or trial named by the user is not in the store."""


class ExperimentChangedError(StoreError):
    """The experiment file no longer matches the experiment of the same name in the store."""
