"""Target ``qiskit-local``: the Qiskit Runtime client's own local testing mode.

``qiskit_ibm_runtime.Session`` over a fake backend runs each job at once on a local
simulator and keeps no session on any service: ``status()`` and ``details()`` answer
``None``, there is no clock to move, no queue shared with other users, no plan and no
job listing. The suite runs against it to show, rule by rule, what that mode does and
does not model; it declares no capability, so the scenarios needing one are skipped.
"""

from __future__ import annotations

import itertools
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal, Protocol

from ..target import (
    JobCancelled,
    JobFailed,
    JobState,
    Rejected,
    Unsupported,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import datetime

__all__ = ["QiskitLocalTarget"]


class _Job(Protocol):
    def status(self) -> object: ...

    def result(self) -> object: ...


class _Session(Protocol):
    def status(self) -> str | None: ...

    def details(self) -> Mapping[str, object] | None: ...

    def close(self) -> None: ...

    def cancel(self) -> None: ...

    def __exit__(self, *exc: object) -> None: ...


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the client's deprecation and fake-backend notices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


class QiskitLocalTarget:
    """``qiskit_ibm_runtime`` sessions in local testing mode (no capabilities)."""

    capabilities: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._sessions: dict[str, object] = {}
        self._jobs: dict[str, _Job] = {}
        self._ids = itertools.count(1)

    def _backend(self, name: str) -> object:
        from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

        with _quiet():
            try:
                return QiskitRuntimeLocalService().backend(name)
            except Exception as error:
                raise Rejected(str(error)) from error

    def use_instance(
        self,
        *,
        plan: str = "premium",
        interactive_ttl: float | None = None,
        max_ttl: float | None = None,
    ) -> None:
        raise Unsupported("local testing mode has no instances or plans")

    def open_session(
        self,
        backend: str | None,
        *,
        mode: Literal["session", "batch"] = "session",
        max_time: float | str | None = None,
        block: bool = False,
    ) -> str:
        from qiskit_ibm_runtime import Batch, Session

        kind = Batch if mode == "batch" else Session
        resolved = None if backend is None else self._backend(backend)
        limit = int(max_time) if isinstance(max_time, float) else max_time
        with _quiet():
            try:
                session = kind(backend=resolved, max_time=limit)
            except (ValueError, TypeError) as error:
                raise Rejected(str(error)) from error
            if block:
                session.__enter__()
        ref = f"session-{next(self._ids)}"
        self._sessions[ref] = session
        return ref

    def _session(self, ref: str) -> _Session:
        session: _Session = self._sessions[ref]  # type: ignore[assignment]
        return session

    def leave_block(self, session: str) -> None:
        self._session(session).__exit__(None, None, None)

    def submit(
        self,
        session: str | None,
        *,
        backend: str | None = None,
        duration: float | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        if duration is not None:
            raise Unsupported("local testing mode cannot set how long a job runs")
        if user is not None:
            raise Unsupported("local testing mode has a single user")
        from qiskit import QuantumCircuit
        from qiskit_ibm_runtime import SamplerV2
        from qiskit_ibm_runtime.exceptions import IBMRuntimeError

        mode = self._sessions[session] if session is not None else self._backend(str(backend))
        circuit = QuantumCircuit(1)
        circuit.x(0)
        circuit.measure_all()
        with _quiet():
            sampler = SamplerV2(mode=mode)
            sampler.options.environment.job_tags = list(tags)
            try:
                job: _Job = sampler.run([circuit])
            except IBMRuntimeError as error:
                raise Rejected(str(error)) from error
        ref = f"job-{next(self._ids)}"
        self._jobs[ref] = job
        return ref

    def close(self, session: str) -> None:
        self._session(session).close()

    def cancel(self, session: str) -> None:
        self._session(session).cancel()

    def status(self, session: str) -> str | None:
        return self._session(session).status()

    def details(self, session: str) -> Mapping[str, object] | None:
        return self._session(session).details()

    def job_status(self, job: str) -> JobState:
        status = self._jobs[job].status()
        name = str(getattr(status, "name", status))
        states: dict[str, JobState] = {
            "INITIALIZING": "QUEUED",
            "QUEUED": "QUEUED",
            "VALIDATING": "QUEUED",
            "RUNNING": "RUNNING",
            "DONE": "DONE",
            "ERROR": "ERROR",
            "CANCELLED": "CANCELLED",
        }
        return states[name]

    def job_result(self, job: str) -> object:
        from concurrent.futures import CancelledError

        try:
            return self._jobs[job].result()
        except CancelledError as error:
            raise JobCancelled(str(error) or "cancelled") from error
        except Exception as error:
            raise JobFailed(str(error)) from error

    def session_jobs(self, session: str) -> list[str]:
        raise Unsupported("local testing mode keeps no list of jobs")

    def jobs_by_tag(self, tag: str) -> list[str]:
        raise Unsupported("local testing mode keeps no list of jobs")

    def now(self) -> datetime:
        from datetime import datetime, timezone

        from qrun.clock import SystemClock

        return datetime.fromtimestamp(SystemClock().now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        raise Unsupported("local testing mode runs on the wall clock")

    def teardown(self) -> None:
        for ref in self._sessions:
            self._session(ref).close()
