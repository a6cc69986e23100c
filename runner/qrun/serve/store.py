"""What a ``qrun serve`` process keeps across restarts: sessions, jobs and results in SQLite.

With ``--data-dir DIR`` the service writes ``DIR/serve.sqlite3`` (stdlib ``sqlite3``, WAL
journal). Every change of a job or session is written as it happens: a job row on
submission (with its ``params``), again on every status change, and its encoded result when
it completes; a session row when it opens and on every change of state. A private job's
result is deleted once read; the quantum seconds of deleted jobs stay counted in their
instance's usage (table ``spent``); injected faults are kept with the count each has left
(table ``faults``), so a restart does not fire them again.

When a service starts on an existing directory, nothing is left half-done: jobs that were
queued or running when the previous process stopped are marked failed with the reason
:data:`RESTART_REASON`, and sessions still open are closed with :data:`SESSION_RESTART_REASON`.
Everything else — finished jobs, their results, closed sessions — is served as before.

The rows are plain values (:class:`JobRecord`, :class:`SessionRecord`); the store knows
nothing about the engine.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from qrun.clock import iso_time
from qrun.errors import QrunError

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.engine.job import JobStatus

__all__ = [
    "RESTART_REASON",
    "SESSION_RESTART_REASON",
    "JobRecord",
    "SessionRecord",
    "Store",
    "StoreError",
]

RESTART_REASON = "the service restarted before the job finished"
SESSION_RESTART_REASON = "the service restarted while the session was open"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    record TEXT NOT NULL,
    params TEXT
);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spent (
    instance TEXT PRIMARY KEY,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    record TEXT NOT NULL
);
"""


class StoreError(QrunError):
    """The data directory cannot be used (unwritable, or not a store of this service)."""


@dataclass
class JobRecord:
    """A job as the API reports it (status in the engine's words: QUEUED … CANCELLED)."""

    id: str
    instance: str
    backend: str
    program: str
    session_id: str | None
    status: JobStatus
    created: float
    started: float | None = None
    finished: float | None = None
    reason: str | None = None
    reason_code: int | None = None
    tags: list[str] = field(default_factory=list)
    estimated_seconds: float | None = None
    #: Submitted with ``private: true``: params never returned, result readable once.
    private: bool = False
    #: A private job's result has been read (and is no longer kept).
    result_read: bool = False
    #: What the job's metrics report of its circuits (``num_circuits``, ``num_qubits`` …).
    circuits: dict[str, object] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        """Whether the job has ended (DONE, ERROR or CANCELLED)."""
        return self.status in ("DONE", "ERROR", "CANCELLED")


@dataclass
class SessionRecord:
    """A session or batch: its ``details()`` document, and why it closed if not by request."""

    id: str
    instance: str
    details: dict[str, object]
    reason: str | None = None

    @property
    def closed(self) -> bool:
        """Whether the session has closed."""
        return self.details.get("state") == "closed"


def _job_from(text: str) -> JobRecord:
    return JobRecord(**json.loads(text))


class Store:
    """A SQLite file holding every job, result and session of one service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"{path}: cannot use it as the service's store: {error}") from None

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    # Start-up ------------------------------------------------------------------------------
    def recover(self, now: float) -> tuple[int, int]:
        """End what the previous process left unfinished; returns (jobs failed, sessions closed)."""
        failed = 0
        closed = 0
        with self._lock, self._transaction():
            for (text,) in self._db.execute("SELECT record FROM jobs").fetchall():
                job = _job_from(text)
                if job.final:
                    continue
                job.status = "ERROR"
                job.finished = now
                job.reason = RESTART_REASON
                self._write_job(job)
                failed += 1
            for (text,) in self._db.execute("SELECT record FROM sessions").fetchall():
                session = _session_from(text)
                if session.closed:
                    continue
                session.details.update(
                    state="closed",
                    accepting_jobs=False,
                    closed_at=iso_time(now),
                )
                timestamps = session.details.get("timestamps")
                if isinstance(timestamps, list):
                    timestamps.append({"status": "closed", "timestamp": iso_time(now)})
                session.reason = SESSION_RESTART_REASON
                self._write_session(session)
                closed += 1
        return failed, closed

    def jobs(self) -> list[JobRecord]:
        """Every stored job, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT record FROM jobs").fetchall()
        found = [_job_from(text) for (text,) in rows]
        found.sort(key=lambda job: job.created)
        return found

    def sessions(self) -> list[SessionRecord]:
        """Every stored session."""
        with self._lock:
            rows = self._db.execute("SELECT record FROM sessions").fetchall()
        return [_session_from(text) for (text,) in rows]

    # Writes --------------------------------------------------------------------------------
    def put_job(self, job: JobRecord, params: dict[str, object] | None = None) -> None:
        """Insert or update a job (its ``params`` are kept once given)."""
        with self._lock:
            self._write_job(job)
            if params is not None:
                self._db.execute(
                    "UPDATE jobs SET params = ? WHERE id = ?", (json.dumps(params), job.id)
                )

    def put_result(self, job_id: str, document: str) -> None:
        """Keep a finished job's encoded result."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO results (id, document) VALUES (?, ?)", (job_id, document)
            )

    def put_session(self, session: SessionRecord) -> None:
        """Insert or update a session."""
        with self._lock:
            self._write_session(session)

    def delete_job(self, job_id: str) -> None:
        """Forget a job, its params and its result."""
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            self._db.execute("DELETE FROM results WHERE id = ?", (job_id,))

    def delete_result(self, job_id: str) -> None:
        """Forget a job's result (a private job's, once read)."""
        with self._lock:
            self._db.execute("DELETE FROM results WHERE id = ?", (job_id,))

    def add_spent(self, instance: str, seconds: float) -> None:
        """Add the quantum seconds of a deleted job to its instance's usage."""
        with self._lock:
            self._db.execute(
                "INSERT INTO spent (instance, seconds) VALUES (?, ?) "
                "ON CONFLICT(instance) DO UPDATE SET seconds = seconds + excluded.seconds",
                (instance, seconds),
            )

    def put_faults(self, faults: list[dict[str, object]]) -> None:
        """Keep the injected faults as they stand (counts left)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO faults (id, document) VALUES (1, ?)", (json.dumps(faults),)
            )

    def faults(self) -> list[dict[str, object]] | None:
        """The faults as last kept; None if none were ever kept."""
        with self._lock:
            row = self._db.execute("SELECT document FROM faults WHERE id = 1").fetchone()
        return None if row is None else cast("list[dict[str, object]]", json.loads(row[0]))

    def spent(self) -> dict[str, float]:
        """Quantum seconds of deleted jobs, per instance."""
        with self._lock:
            rows = self._db.execute("SELECT instance, seconds FROM spent").fetchall()
        return {str(instance): float(seconds) for instance, seconds in rows}

    # Reads ---------------------------------------------------------------------------------
    def params(self, job_id: str) -> dict[str, object] | None:
        """A job's ``params`` as submitted."""
        with self._lock:
            row = self._db.execute("SELECT params FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return cast("dict[str, object]", json.loads(row[0]))

    def result(self, job_id: str) -> str | None:
        """A finished job's encoded result document."""
        with self._lock:
            row = self._db.execute(
                "SELECT document FROM results WHERE id = ?", (job_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    # Internals (under the lock) ------------------------------------------------------------
    def _write_job(self, job: JobRecord) -> None:
        self._db.execute(
            "INSERT INTO jobs (id, instance, record) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET record = excluded.record",
            (job.id, job.instance, json.dumps(job.__dict__)),
        )

    def _write_session(self, session: SessionRecord) -> None:
        self._db.execute(
            "INSERT INTO sessions (id, instance, record) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET record = excluded.record",
            (session.id, session.instance, json.dumps(session.__dict__)),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


def _session_from(text: str) -> SessionRecord:
    return SessionRecord(**json.loads(text))


class _Transaction:
    """``BEGIN`` … ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
