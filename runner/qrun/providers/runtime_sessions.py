"""Open sessions of a Runtime account, found and closed through qiskit-ibm-runtime.

The client has no call that lists sessions: they are found through the jobs the
instance lists (the newest ``recent`` of them, the client's ``service.jobs``), one session
per distinct ``session_id``, each then asked for its details (the request
``Session.details()`` and ``Session.from_id`` make) and kept unless it is closed. A
session in which no job was ever submitted is therefore not found. Closing uses the
client's own requests for ``Session.close()`` (no more jobs; those queued still run) and
``Session.cancel()`` (queued jobs cancelled, closed at once), so any session or batch
can be closed by id, whatever its mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qrun.errors import BackendError
from qrun.providers.runtime import service_message

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from qiskit_ibm_runtime import QiskitRuntimeService

__all__ = ["OpenSession", "close_session", "describe", "open_sessions"]

#: Jobs listed to find sessions: the newest ones of the instance.
RECENT_JOBS = 200
_PENDING = ("QUEUED", "RUNNING", "INITIALIZING", "VALIDATING")


@dataclass(frozen=True)
class OpenSession:
    """One session (or batch) that is not closed."""

    id: str
    backend: str | None
    mode: str | None  # "dedicated" (a session) or "batch"
    state: str | None  # open, active or inactive
    accepting_jobs: bool | None
    since: float | None  # when it started, else when its first listed job was created
    jobs: int  # its jobs
    pending: int  # of them, queued or running

    def to_json(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "backend": self.backend,
            "mode": self.mode,
            "state": self.state,
            "accepting_jobs": self.accepting_jobs,
            "age_seconds": None if self.since is None else round(max(0.0, now - self.since), 3),
            "jobs": self.jobs,
            "pending": self.pending,
        }


def _seconds(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _details(service: QiskitRuntimeService, session_id: str) -> Mapping[str, object] | None:
    try:
        # The request Session.details() makes, without a Session object of a known mode.
        found: Mapping[str, object] = service._get_api_client().session_details(session_id)
    except Exception:  # noqa: BLE001 - gone, or of an instance not in use: not listed
        return None
    return found


def open_sessions(service: QiskitRuntimeService, *, recent: int = RECENT_JOBS) -> list[OpenSession]:
    """The sessions of the newest ``recent`` jobs that are not closed, newest first."""
    try:
        jobs = service.jobs(limit=recent)
    except Exception as error:  # noqa: BLE001 - the client raises many kinds
        raise BackendError(f"cannot list the instance's jobs: {service_message(error)}") from None
    ids = list(dict.fromkeys(str(job.session_id) for job in jobs if job.session_id))
    found = []
    for session_id in ids:
        details = _details(service, session_id)
        if details is None or details.get("state") == "closed":
            continue
        try:
            own = service.jobs(session_id=session_id, limit=None)
        except Exception:  # noqa: BLE001 - listed above, so counted from that list
            own = [job for job in jobs if job.session_id == session_id]
        statuses = [str(job.status()) for job in own]
        created = [_seconds(job.creation_date) for job in own]
        firsts = [moment for moment in created if moment is not None]
        since = _seconds(details.get("started_at")) or (min(firsts) if firsts else None)
        accepting = details.get("accepting_jobs")
        found.append(
            OpenSession(
                id=session_id,
                backend=_text(details.get("backend_name")),
                mode=_text(details.get("mode")),
                state=_text(details.get("state")),
                accepting_jobs=accepting if isinstance(accepting, bool) else None,
                since=since,
                jobs=len(own),
                pending=sum(status in _PENDING for status in statuses),
            )
        )
    return found


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def close_session(service: QiskitRuntimeService, session_id: str, *, cancel: bool) -> None:
    """Close ``session_id`` (its queued jobs still run), or with ``cancel`` cancel it (its
    queued jobs are cancelled). Raises :class:`BackendError` with what the service said."""
    client = service._get_api_client()  # the requests Session.close() and cancel() make
    if _details(service, session_id) is None:
        raise BackendError(f"session {session_id} is not known to the service")
    try:
        if cancel:
            client.cancel_session(session_id)
        else:
            client.close_session(session_id)
    except Exception as error:  # noqa: BLE001 - the client raises many kinds
        raise BackendError(f"session {session_id}: {service_message(error)}") from None


def describe(sessions: Sequence[OpenSession], now: float) -> str:
    """A table of ``sessions``: id, backend, mode, state, age, jobs (pending)."""
    if not sessions:
        return "no open sessions"
    rows = [("ID", "BACKEND", "MODE", "STATE", "AGE", "JOBS")]
    for found in sessions:
        age = "?" if found.since is None else _age(max(0.0, now - found.since))
        state = found.state or "?"
        if found.accepting_jobs is False:
            state += " (closing)"
        rows.append(
            (
                found.id,
                found.backend or "?",
                found.mode or "?",
                state,
                age,
                f"{found.jobs} ({found.pending} pending)",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _age(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minute:02d}m"
    if minute:
        return f"{minute}m{second:02d}s"
    return f"{second}s"
