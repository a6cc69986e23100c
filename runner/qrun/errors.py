"""Every error qrun reports on purpose, and the exit code it means.

The hierarchy::

    QrunError                     exit 1: the user's input or a backend said no
    ├── UsageError                exit 2: the command line itself is wrong
    ├── ManifestError             a manifest is invalid; carries every Issue found, not the first
    │                             (defined beside the Issue, in :mod:`qrun.manifest.diagnostics`)
    ├── BackendError              a backend cannot be resolved, or refuses the work
    ├── SessionError              the session lifecycle refuses an action
    │   ├── SessionClosedError    submitting to a session that no longer accepts jobs
    │   └── PricingPlanError      the instance's pricing plan does not allow the execution mode
    └── JobError                  a job ended without a result; ``result()`` raises it
        ├── JobFailedError        the job failed (its reason says why, e.g. max TTL reached)
        └── JobCancelledError     the job was cancelled

Anything else that escapes is a bug in qrun (exit 3, traceback shown); a keyboard
interrupt exits 130. ``qrun.cli`` is the one place that turns these into exit codes.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_USER",
    "BackendError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "PricingPlanError",
    "QrunError",
    "SessionClosedError",
    "SessionError",
    "UsageError",
    "about",
]

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class QrunError(Exception):
    """An error the user can act on; shown as one message, never as a traceback.

    ``subject`` is what the error is about (the manifest a command was working on); it
    is shown first, so that the user of several manifests knows which one failed.
    """

    exit_code = EXIT_USER
    subject: str | None = None

    def __str__(self) -> str:
        message = super().__str__()
        return message if self.subject is None else f"{self.subject}: {message}"


@contextmanager
def about(subject: str) -> Iterator[None]:
    """Errors raised inside name ``subject`` (unless they already name one)."""
    try:
        yield
    except QrunError as error:
        if error.subject is None and not str(error).startswith(subject):
            error.subject = subject
        raise


class UsageError(QrunError):
    """The command line is wrong (unknown flag, missing file argument, …)."""

    exit_code = EXIT_USAGE


class BackendError(QrunError):
    """A backend could not be resolved, or it cannot run the work."""


class SessionError(QrunError):
    """The session lifecycle refused an action."""


class SessionClosedError(SessionError):
    """A job was submitted to a session that is no longer accepting jobs."""


class PricingPlanError(SessionError):
    """The instance's pricing plan does not allow this execution mode (Open Plan: no
    sessions). Not to be confused with a run's plan (:mod:`qrun.run.plan`)."""


class JobError(QrunError):
    """A job ended without a result."""

    def __init__(self, job_id: str, reason: str) -> None:
        self.job_id = job_id
        self.reason = reason
        super().__init__(f"job {job_id}: {reason}")


class JobFailedError(JobError):
    """The job failed; ``reason`` says why."""


class JobCancelledError(JobError):
    """The job was cancelled before it produced a result."""
