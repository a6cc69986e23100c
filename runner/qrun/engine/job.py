"""Jobs: one primitive call's PUBs, queued on a backend, maybe inside a session.

A job ends for one :class:`EndReason`, declared by the engine when it ends the job; the
handle carries it next to the human-readable reason (:meth:`JobHandle.error_message`).
A handle asks its engine only for what :class:`JobOwner` names.
"""

from __future__ import annotations

import enum
import threading
from typing import TYPE_CHECKING, Literal, Protocol

from qrun.errors import JobCancelledError, JobError, JobFailedError

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from qiskit.primitives import PrimitiveResult
    from qiskit_ibm_runtime.results import QuantumProgramResult

    from qrun.clock import Clock, Timer
    from qrun.engine.session import SessionHandle
    from qrun.engine.work import Outcome, Program, Work

__all__ = ["FINAL_STATUSES", "EndReason", "JobHandle", "JobOwner", "JobStatus"]

JobStatus = Literal["QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED"]
FINAL_STATUSES: frozenset[JobStatus] = frozenset({"DONE", "ERROR", "CANCELLED"})


class EndReason(enum.Enum):
    """Why a job ended; the status it ended in follows from it."""

    #: It ran and has a result (DONE).
    COMPLETED = "completed"
    #: Its computation failed; the message says how (ERROR).
    FAILED = "failed"
    #: Its session's max TTL ran out while it was still queued (ERROR).
    MAX_TTL = "max-ttl"
    #: Its user cancelled it (CANCELLED).
    CANCELLED = "cancelled"
    #: Its session was cancelled while it was still queued (CANCELLED).
    SESSION_CANCELLED = "session-cancelled"

    @property
    def status(self) -> JobStatus:
        """The final status of a job that ended for this reason."""
        return _STATUS[self]

    @property
    def message(self) -> str | None:
        """The human-readable reason, where the reason alone says it (None otherwise)."""
        return _MESSAGES.get(self)


_STATUS: dict[EndReason, JobStatus] = {
    EndReason.COMPLETED: "DONE",
    EndReason.FAILED: "ERROR",
    EndReason.MAX_TTL: "ERROR",
    EndReason.CANCELLED: "CANCELLED",
    EndReason.SESSION_CANCELLED: "CANCELLED",
}
_MESSAGES = {
    EndReason.MAX_TTL: (
        "session max TTL reached: the job was still queued when the session's time ran out"
    ),
    EndReason.CANCELLED: "cancelled by the user",
    EndReason.SESSION_CANCELLED: "the session was cancelled while the job was queued",
}


class JobOwner(Protocol):
    """What a job handle needs from the engine that owns it."""

    @property
    def clock(self) -> Clock:
        """The clock a wait for the job's end runs on."""
        ...

    @property
    def lock(self) -> AbstractContextManager[object]:
        """The lock every change of the job's state is made under."""
        ...

    def cancel_job(self, job: JobHandle) -> None:
        """Cancel ``job`` if it has not ended."""
        ...


class JobHandle:
    """A job as its submitter sees it; reads like ``qiskit_ibm_runtime.RuntimeJobV2``.

    Times (``created``, ``started``, ``finished``) are clock seconds; the engine alone
    changes a job's state, under its lock.
    """

    def __init__(
        self,
        owner: JobOwner,
        job_id: str,
        work: Work,
        *,
        instance: str,
        session: SessionHandle | None,
        tags: tuple[str, ...],
        duration: float | None,
        created: float,
    ) -> None:
        self._owner = owner
        self._id = job_id
        self.work = work
        self.program: Program = work.program
        self.backend_name = work.backend
        self.instance = instance
        self.session = session
        self.job_tags = list(tags)
        self.duration = duration
        self.created = created
        self.started: float | None = None
        self.finished: float | None = None
        self._status: JobStatus = "QUEUED"
        self._result: PrimitiveResult[object] | None = None
        self._error: str | None = None
        self._end_reason: EndReason | None = None
        # Execution bookkeeping, owned by the engine.
        self.computed = threading.Event()
        self.outcome: Outcome | None = None
        self.finish_timer: Timer | None = None
        self._callbacks: list[Callable[[JobHandle], None]] = []

    def __repr__(self) -> str:
        return f"<JobHandle {self._id} {self.program} on {self.backend_name}: {self._status}>"

    @property
    def session_id(self) -> str | None:
        """The id of the session or batch the job belongs to, if any."""
        return None if self.session is None else self.session.session_id

    def job_id(self) -> str:
        """This job's id."""
        return self._id

    def status(self) -> JobStatus:
        """QUEUED, RUNNING, DONE, ERROR or CANCELLED."""
        return self._status

    def done(self) -> bool:
        """Whether the job finished with a result."""
        return self._status == "DONE"

    def running(self) -> bool:
        """Whether the job is executing now."""
        return self._status == "RUNNING"

    def in_final_state(self) -> bool:
        """Whether the job is DONE, ERROR or CANCELLED."""
        return self._status in FINAL_STATUSES

    def error_message(self) -> str | None:
        """Why the job failed or was cancelled, in words (None otherwise)."""
        return self._error

    @property
    def end_reason(self) -> EndReason | None:
        """Why the job ended (None while it is queued or running)."""
        return self._end_reason

    def result(self, timeout: float | None = None) -> PrimitiveResult[object]:
        """Wait for the job to end and return its result.

        Raises ``JobFailedError`` or ``JobCancelledError`` (with the reason) when it has none,
        and ``JobError`` when ``timeout`` clock seconds pass first.
        """
        if self.program == "executor":
            raise JobError(self._id, "an executor job's result is read with program_result()")
        self._wait_for_end(timeout)
        if self._status == "ERROR" or self._result is None:
            raise JobFailedError(self._id, self._error or "failed without a reason")
        return self._result

    def program_result(self, timeout: float | None = None) -> QuantumProgramResult:
        """Wait for an ``executor`` job to end and return its quantum program's result.

        Raises as :meth:`result` does, and ``JobError`` for a job of another program.
        """
        if self.program != "executor":
            raise JobError(self._id, f"a {self.program} job's result is read with result()")
        self._wait_for_end(timeout)
        outcome = self.outcome
        if self._status == "ERROR" or outcome is None or outcome.program_result is None:
            raise JobFailedError(self._id, self._error or "failed without a reason")
        return outcome.program_result

    def _wait_for_end(self, timeout: float | None) -> None:
        if not self._owner.clock.wait_for(self.in_final_state, timeout):
            raise JobError(self._id, f"still {self._status} after waiting {timeout} s")
        if self._status == "CANCELLED":
            raise JobCancelledError(self._id, self._error or "cancelled")

    def cancel(self) -> None:
        """Cancel the job if it has not ended (a running job stops counting at once)."""
        self._owner.cancel_job(self)

    def add_done_callback(self, callback: Callable[[JobHandle], None]) -> None:
        """Call ``callback(job)`` once the job is DONE, ERROR or CANCELLED (at once if it
        already is), from whichever thread ended it, never under the engine's lock.

        Waiting this way costs nothing while the job runs: no thread blocks on it.
        """
        with self._owner.lock:
            if not self.in_final_state():
                self._callbacks.append(callback)
                return
        callback(self)

    # Transitions, called by the engine under its lock.
    def mark_running(self, now: float) -> None:
        self._status = "RUNNING"
        self.started = now

    def mark_ended(
        self, reason: EndReason, now: float, *, message: str | None = None
    ) -> list[Callable[[JobHandle], None]]:
        """End the job; returns the done callbacks, for the engine to run outside its lock."""
        self.finished = now
        self._end_reason = reason
        self._error = message if message is not None else reason.message
        if reason is EndReason.COMPLETED and self.outcome is not None:
            self._result = self.outcome.result
        self._status = reason.status
        callbacks, self._callbacks = self._callbacks, []
        return callbacks
