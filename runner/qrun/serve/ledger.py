"""The service's books: every job and session it knows, live or from an earlier process.

Live jobs and sessions belong to the engine; the ledger reads them as
:class:`~qrun.serve.store.JobRecord` / :class:`~qrun.serve.store.SessionRecord` values, the
same shape the store keeps, so a handler treats a job from before a restart exactly like one
running now. With a store, the ledger is the engine's observer: every change is written as
it happens, and a completed job's result is encoded and kept once.

Private jobs (``private: true``): their params are never returned and their result is
served once, then forgotten (in the store too). Usage: the quantum seconds of a deleted job
stay counted for its instance (:meth:`Ledger.spent`).

Reason codes: a job that failed because its session's max TTL ran out (its
:class:`~qrun.engine.job.EndReason` is ``MAX_TTL``) carries ``reason_code`` 1305 (the
client then raises ``RuntimeJobMaxTimeoutError``); other failures carry none.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

from qrun.engine.job import EndReason
from qrun.engine.timing import estimate_duration
from qrun.errors import QrunError
from qrun.serve.encoding import encode_result
from qrun.serve.estimator_metadata import estimator_metadata
from qrun.serve.quantum_program import encode_program_result
from qrun.serve.store import JobRecord, SessionRecord

if TYPE_CHECKING:
    from collections.abc import Iterable

    from qrun.engine import Engine, JobHandle, SessionHandle
    from qrun.serve.store import Store
    from qrun.serve.timing import RealTiming

__all__ = ["MAX_TIME_REASON_CODE", "Ledger", "quantum_seconds"]

#: The Runtime API's code for "ran out of time" (the client maps it to a timeout error).
MAX_TIME_REASON_CODE = 1305


class Ledger:
    """Jobs, sessions, params and results, whether the engine or the store holds them."""

    def __init__(
        self, engine: Engine, store: Store | None = None, timing: RealTiming | None = None
    ) -> None:
        self.engine = engine
        self.store = store
        #: Realistic timing on the real clock: a started job shows as queued a while.
        self.timing = timing if timing is not None and not engine.clock.modelled else None
        self._lock = threading.Lock()
        self._params: dict[str, dict[str, object]] = {}
        self._results: dict[str, str] = {}
        self._estimates: dict[str, float] = {}
        self._deleted: set[str] = set()
        self._private: set[str] = set()
        self._read: set[str] = set()
        self._circuits: dict[str, dict[str, object]] = {}
        self._failures: dict[str, tuple[int, str]] = {}
        self._spent: dict[str, float] = {}
        self._stored_final: set[str] = set()
        self.archived_jobs: dict[str, JobRecord] = {}
        self.archived_sessions: dict[str, SessionRecord] = {}
        if store is not None:
            store.recover(engine.clock.now())
            self.archived_jobs = {job.id: job for job in store.jobs()}
            self.archived_sessions = {session.id: session for session in store.sessions()}
            self._stored_final = set(self.archived_jobs)
            self._spent = store.spent()
            engine.observer = self._observe

    # Jobs -----------------------------------------------------------------------------------
    def submitted(
        self,
        job: JobHandle,
        params: dict[str, object],
        *,
        private: bool = False,
        failure: tuple[int, str] | None = None,
    ) -> None:
        """Record a job just accepted, with its ``params`` as sent; ``failure`` (a reason
        code and reason, an injected fault) fails it where it would have completed."""
        try:
            estimate = estimate_duration(job.work, self.engine.backend_spec(job.backend_name))
        except (QrunError, ValueError, TypeError):
            estimate = None
        circuits = _circuits(job)
        with self._lock:
            self._params[job.job_id()] = params
            self._circuits[job.job_id()] = circuits
            if private:
                self._private.add(job.job_id())
            if failure is not None:
                self._failures[job.job_id()] = failure
            if estimate is not None:
                self._estimates[job.job_id()] = estimate
        if self.store is not None:
            with self.engine.lock:
                self.store.put_job(self.record(job), params)

    def record(self, job: JobHandle) -> JobRecord:
        """A live job as a record."""
        with self.engine.lock:
            status = job.status()
            reason = job.error_message() if status in ("ERROR", "CANCELLED") else None
            code = MAX_TIME_REASON_CODE if job.end_reason is EndReason.MAX_TTL else None
            failure = self._failures.get(job.job_id())
            if status == "DONE" and failure is not None:
                status = "ERROR"
                code, reason = failure
            duration = job.duration
            started = job.started
            if self.timing is not None:
                status, started = self.timing.reported(status, started, self.engine.clock.now())
            return JobRecord(
                id=job.job_id(),
                instance=job.instance,
                backend=job.backend_name,
                program=job.program,
                session_id=job.session_id,
                status=status,
                created=job.created,
                started=started,
                finished=job.finished,
                reason=reason,
                reason_code=code,
                tags=list(job.job_tags),
                estimated_seconds=duration
                if duration is not None
                else self._estimates.get(job.job_id()),
                private=job.job_id() in self._private,
                result_read=job.job_id() in self._read,
                circuits=self._circuits.get(job.job_id(), {}),
            )

    def job(self, job_id: str) -> tuple[JobHandle | None, JobRecord | None]:
        """The live handle (if any) and the record of a job; (None, None) if unknown."""
        if job_id in self._deleted:
            return None, None
        try:
            handle = self.engine.job(job_id)
        except QrunError:
            return None, self.archived_jobs.get(job_id)
        record = self.record(handle)
        if record.final and self.store is not None and job_id not in self._stored_final:
            self.engine.flush()  # what a client sees as final is on disk first
        return handle, record

    def jobs(self, instance: str) -> list[JobRecord]:
        """Every job of an instance, oldest first."""
        live = [self.record(job) for job in self.engine.jobs(instance=instance)]
        archived = [job for job in self.archived_jobs.values() if job.instance == instance]
        found = [job for job in archived + live if job.id not in self._deleted]
        found.sort(key=lambda job: job.created)
        return found

    def params(self, job_id: str) -> dict[str, object]:
        """A job's ``params`` as submitted (``{}`` if none are kept)."""
        with self._lock:
            params = self._params.get(job_id)
        if params is None and self.store is not None:
            params = self.store.params(job_id)
        return params or {}

    def result(self, handle: JobHandle | None, job_id: str) -> str | None:
        """A completed job's encoded result document, built once."""
        with self._lock:
            cached = self._results.get(job_id)
            if job_id in self._read:  # a private result, read once already
                return None
        if cached is not None:
            return cached
        if handle is None:
            return None if self.store is None else self.store.result(job_id)
        # The outcome, not handle.result(): that may wait on the clock, which must not
        # happen under the engine's lock (a virtual clock's timers take it too).
        outcome = handle.outcome
        if handle.status() != "DONE" or outcome is None:
            return None
        if outcome.program_result is not None:
            document = encode_program_result(outcome.program_result)
        elif outcome.result is not None and handle.program == "estimator":
            described = estimator_metadata(outcome.result, self.params(job_id))
            document = json.dumps(encode_result(described))
        elif outcome.result is not None:
            document = json.dumps(encode_result(outcome.result))
        else:
            return None
        with self._lock:
            self._results[job_id] = document
        return document

    def read_result(self, handle: JobHandle | None, record: JobRecord) -> str | None:
        """A completed job's result for a client; a private job's only once (then it is
        forgotten, and None from then on)."""
        if record.result_read:
            return None
        document = self.result(handle, record.id)
        if document is None or not record.private:
            return document
        with self.engine.lock:
            with self._lock:
                self._read.add(record.id)
                self._results.pop(record.id, None)
            if handle is None:
                record.result_read = True
                current = record
            else:
                current = self.record(handle)
            if self.store is not None:
                self.store.delete_result(record.id)
                self.store.put_job(current)
        return document

    def spent(self, instance: str) -> float:
        """Quantum seconds that deleted jobs of ``instance`` consumed."""
        with self._lock:
            return self._spent.get(instance, 0.0)

    def set_tags(self, handle: JobHandle | None, record: JobRecord, tags: list[str]) -> None:
        """Replace a job's tags."""
        with self.engine.lock:
            if handle is not None:
                handle.job_tags[:] = tags
                record = self.record(handle)
            else:
                record.tags = list(tags)
            if self.store is not None:
                self.store.put_job(record)

    def delete(self, job_id: str) -> None:
        """Forget an ended job: it is no longer found or listed (its quantum seconds stay
        counted in its instance's usage)."""
        _handle, record = self.job(job_id)
        seconds = quantum_seconds(record) if record is not None else 0.0
        with self._lock:
            if record is not None and seconds:
                self._spent[record.instance] = self._spent.get(record.instance, 0.0) + seconds
            self._deleted.add(job_id)
            self._params.pop(job_id, None)
            self._results.pop(job_id, None)
        self.archived_jobs.pop(job_id, None)
        if self.store is not None:
            self.store.delete_job(job_id)
            if record is not None and seconds:
                self.store.add_spent(record.instance, seconds)

    # Sessions -------------------------------------------------------------------------------
    def opened(self, session: SessionHandle) -> None:
        """Record a session just opened."""
        if self.store is not None:
            with self.engine.lock:
                self.store.put_session(_session_record(session))

    # Observer (under the engine's lock) ----------------------------------------------------
    def _observe(self, jobs: Iterable[JobHandle], sessions: Iterable[SessionHandle]) -> None:
        assert self.store is not None
        for job in jobs:
            record = self.record(job)
            if record.status == "DONE":
                document = self.result(job, record.id)
                if document is not None:
                    self.store.put_result(record.id, document)
            self.store.put_job(record)
            if record.final:
                self._stored_final.add(record.id)
        for session in sessions:
            self.store.put_session(_session_record(session))


def quantum_seconds(job: JobRecord) -> float:
    """The quantum seconds an ended job consumed (0 until it ends)."""
    if not job.final or job.started is None or job.finished is None:
        return 0.0
    return job.finished - job.started


def _circuits(job: JobHandle) -> dict[str, object]:
    """What a job's metrics say of its circuits: how many, their widths and depths."""
    circuits = []
    for pub in job.work.pubs:
        circuit = getattr(pub, "circuit", None)
        if circuit is not None:
            circuits.append(circuit)
        for item in getattr(pub, "items", ()):
            inner = getattr(item, "circuit", None)
            if inner is not None:
                circuits.append(inner)
    return {
        "num_circuits": len(circuits),
        "num_qubits": [int(circuit.num_qubits) for circuit in circuits],
        "circuit_depths": [int(circuit.depth()) for circuit in circuits],
    }


def _session_record(session: SessionHandle) -> SessionRecord:
    return SessionRecord(session.session_id, session.instance.name, session.details())
