"""Sessions and batches: state, timers, status strings and ``details()``.

States follow the Runtime service: ``open`` (no job has started yet), ``active`` (running,
or waiting within its interactive TTL), ``inactive`` (deactivated; its next job queues like
any other) and ``closed``; ``accepting_jobs`` turns false on ``close()``/``cancel()``. The
status strings are derived exactly as ``qiskit_ibm_runtime.Session.status()`` derives them.

``details()`` reports the instance's interactive TTL for batches too (the service's field is
per instance), although a batch never waits for it; ``active_timeout`` equals ``max_time``.

A handle asks its engine only for what :class:`SessionOwner` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from qrun.clock import iso_time

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from qrun.clock import Timer
    from qrun.engine.instance import Instance
    from qrun.manifest.model import ExecutionMode

__all__ = ["STATUSES", "SessionHandle", "SessionOwner", "SessionState"]

SessionState = Literal["open", "active", "inactive", "closed"]

PENDING = "Pending"
ACCEPTING = "In progress, accepting new jobs"
NOT_ACCEPTING = "In progress, not accepting new jobs"
CLOSED = "Closed"
#: The only strings ``status()`` returns.
STATUSES = (PENDING, ACCEPTING, NOT_ACCEPTING, CLOSED)


class SessionOwner(Protocol):
    """What a session handle needs from the engine that owns it."""

    @property
    def lock(self) -> AbstractContextManager[object]:
        """The lock every change of the session's state is made under."""
        ...

    def usage(self, session: SessionHandle) -> float:
        """Seconds of use of ``session`` so far."""
        ...

    def close_session(self, session: SessionHandle) -> None:
        """Stop ``session`` accepting jobs; it closes once its jobs have ended."""
        ...

    def cancel_session(self, session: SessionHandle) -> None:
        """Close ``session`` now, cancelling its queued jobs."""
        ...


class SessionHandle:
    """A session or batch; reads like ``qiskit_ibm_runtime.Session``.

    The engine alone changes its state, under its lock; the methods here only read, except
    ``close()`` and ``cancel()``, which ask the engine.
    """

    def __init__(
        self,
        owner: SessionOwner,
        session_id: str,
        *,
        backend_name: str,
        instance: Instance,
        mode: ExecutionMode,
        max_ttl: float,
        opened: float,
    ) -> None:
        self._owner = owner
        self.session_id = session_id
        self.backend_name = backend_name
        self.instance = instance
        self.mode: ExecutionMode = mode
        self.max_ttl = max_ttl
        self.interactive_ttl = instance.interactive_ttl
        self.opened = opened
        self.started_at: float | None = None
        self.activated_at: float | None = None
        self.closed_at: float | None = None
        #: When it stopped accepting jobs (a session still running them then drains).
        self.closing_at: float | None = None
        self.last_job_started: float | None = None
        self.last_job_completed: float | None = None
        self.outstanding = 0  # jobs queued or running
        self.timers: dict[str, Timer] = {}
        self.active_since: float | None = None
        self.active_total = 0.0
        self._state: SessionState = "open"
        self._accepting = True
        self.transitions: list[tuple[SessionState, float]] = [("open", opened)]

    def __repr__(self) -> str:
        return (
            f"<SessionHandle {self.session_id} {self.mode} on {self.backend_name}: {self._state}>"
        )

    @property
    def state(self) -> SessionState:
        """open, active, inactive or closed."""
        return self._state

    @property
    def accepting_jobs(self) -> bool:
        """Whether new jobs may still be submitted."""
        return self._accepting

    def status(self) -> str:
        """One of ``Pending``, ``In progress, accepting new jobs``,
        ``In progress, not accepting new jobs`` or ``Closed``."""
        if self._state in ("open", "inactive"):
            return PENDING
        if self._state == "active":
            return ACCEPTING if self._accepting else NOT_ACCEPTING
        return CLOSED

    def usage(self) -> float:
        """Seconds of use, as the client defines it.

        A session is in use from when a job starts until it goes inactive, is closed or its
        last job completes, whichever is last (summed over its active periods). A batch is in
        use while its jobs run.
        """
        return self._owner.usage(self)

    def details(self) -> dict[str, object]:
        """The keys and meanings of ``qiskit_ibm_runtime.Session.details()``."""
        with self._owner.lock:
            return {
                "id": self.session_id,
                "backend_name": self.backend_name,
                "interactive_timeout": self.interactive_ttl,
                "max_time": self.max_ttl,
                "active_timeout": self.max_ttl,
                "state": self._state,
                "accepting_jobs": self._accepting,
                "last_job_started": iso_time(self.last_job_started),
                "last_job_completed": iso_time(self.last_job_completed),
                "started_at": iso_time(self.started_at),
                "closed_at": iso_time(self.closed_at),
                "activated_at": iso_time(self.activated_at),
                "mode": "dedicated" if self.mode == "session" else "batch",
                "usage_time": self._owner.usage(self),
                "timestamps": [
                    {"status": status, "timestamp": iso_time(when)}
                    for status, when in self.transitions
                ],
            }

    def close(self) -> None:
        """Stop accepting jobs; queued and running ones still run (within max TTL), then the
        session closes at once."""
        self._owner.close_session(self)

    def cancel(self) -> None:
        """Close now and cancel every queued job (a job already running finishes)."""
        self._owner.cancel_session(self)

    # Transitions, called by the engine under its lock.
    def set_state(self, state: SessionState, now: float) -> bool:
        """Move to ``state``; whether that changed anything."""
        if state == self._state:
            return False
        self._state = state
        self.transitions.append((state, now))
        return True

    def stop_accepting(self, now: float) -> None:
        if self._accepting:
            self.closing_at = now
        self._accepting = False
