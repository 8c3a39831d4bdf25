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


class UsageError(ScituneError):
    """A command or Python call was given arguments it cannot use (a bad flag value, a grid that
    is not a grid, a trial that cannot be retrained)."""


class NotAdopted(ScituneError):
    """A launch whose candidate did not beat the incumbent beyond the noise. Exit code 1: the
    command worked, the evidence said no."""

    exit_code = 1


class RefineRefused(ScituneError):
    """An exploration's results do not allow a refined space. ``reasons`` says why, one line each;
    ``hits`` holds the edge findings (:class:`scitune.analysis.boundaries.EdgeHit`), if those were
    the reason."""

    def __init__(self, reasons: list[str], hits: list | None = None, hint: str | None = None) -> None:
        super().__init__("; ".join(reasons), hint)
        self.reasons, self.hits = reasons, list(hits or [])


class DesignRefused(ScituneError):
    """The design review (``scitune check``) found a rule the playbook states as categorical, e.g.
    the step budget tuned as a nuisance hyperparameter. ``issues`` holds the refusals
    (:class:`scitune.analysis.design_review.DesignIssue`). Exit code 2: fix the file, or silence
    the rule in its ``check:`` section."""

    def __init__(self, message: str, issues: list | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.issues = list(issues or [])


# -- how a trial ends: raised inside a worker, recorded by it, never shown as a traceback ----------


class TrialInfeasible(Exception):
    """Raised from :meth:`scitune.run.Trial.report` when the objective or a loss is NaN or infinite:
    training further would waste compute. The trial is recorded as infeasible with the reason."""


class TrialFailed(Exception):
    """A command-mode program ended badly (non-zero exit, killed, timed out). ``detail`` holds its
    stderr tail."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class Interrupted(BaseException):
    """SIGTERM (or the runner) asked this process to stop. A BaseException, like KeyboardInterrupt,
    so that ``except Exception`` in user code does not swallow it."""


class TrialsFailing(ScituneError):
    """A run stopped early because its first trials all failed (or every trial failed): the
    training code is broken, and the rest of the budget would fail the same way. Exit code 1."""

    exit_code = 1


class RunStopped(ScituneError):
    """A run was stopped (Ctrl-C, SIGTERM) before its trials finished; they are marked interrupted
    and the same command resumes them. Exit code 130, as for a shell job stopped by Ctrl-C."""

    exit_code = 130
