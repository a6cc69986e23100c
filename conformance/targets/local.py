"""Target ``local``: qrun's own lifecycle engine on a virtual clock.

Every scenario runs against a fresh :class:`~qrun.engine.Engine` whose clock moves only
when a step says time passes, so an eight-hour TTL is checked in milliseconds. Jobs are
a one-qubit circuit run by the engine's executor; a step may fix how long a job keeps
the QPU. Subclass it and override :meth:`LocalTarget.make_engine` to check a changed
engine against the same features.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, Literal

from qrun.clock import VirtualClock
from qrun.engine import Engine, Instance
from qrun.errors import JobCancelledError, JobFailedError, QrunError
from qrun.manifest.model import JobOptions

from ..capabilities import CAPABILITIES
from ..target import JobCancelled, JobFailed, Rejected

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from qrun.engine import JobHandle, SessionHandle
    from qrun.testing import Session

    from ..target import JobState

__all__ = ["LocalTarget"]

_PROGRAM: Final = "sampler"


def _circuit() -> object:
    """A one-qubit job every backend runs as it is (``x`` is a native gate)."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(1)
    circuit.x(0)
    circuit.measure_all()
    return circuit


class LocalTarget:
    """qrun's engine and local session surface, on a virtual clock."""

    capabilities: frozenset[str] = frozenset(CAPABILITIES)

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.engine = self.make_engine(self.clock)
        self._instance = "local"
        self._names = itertools.count(1)
        self._blocks: dict[str, Session] = {}
        self._sessions: dict[str, SessionHandle] = {}
        self._jobs: dict[str, JobHandle] = {}
        self._users: set[str] = set()
        self._circuit = _circuit()

    def make_engine(self, clock: VirtualClock) -> Engine:
        """The engine the scenario runs on (a fresh one per scenario)."""
        return Engine(clock=clock)

    def use_instance(
        self,
        *,
        plan: str = "premium",
        interactive_ttl: float | None = None,
        max_ttl: float | None = None,
    ) -> None:
        defaults = Instance("defaults")
        instance = Instance(
            f"instance-{next(self._names)}",
            plan=plan,  # type: ignore[arg-type]
            interactive_ttl=defaults.interactive_ttl
            if interactive_ttl is None
            else interactive_ttl,
            max_ttl=defaults.max_ttl if max_ttl is None else max_ttl,
        )
        self._instance = self.engine.add_instance(instance).name

    def open_session(
        self,
        backend: str | None,
        *,
        mode: Literal["session", "batch"] = "session",
        max_time: float | str | None = None,
        block: bool = False,
    ) -> str:
        try:
            if block:
                return self._open_block(backend, mode, max_time)
            handle = self.engine.open_session(
                backend or "", instance=self._instance, mode=mode, max_time=max_time
            )
        except QrunError as error:
            raise Rejected(str(error)) from error
        self._sessions[handle.session_id] = handle
        return handle.session_id

    def _open_block(
        self, backend: str | None, mode: Literal["session", "batch"], max_time: float | str | None
    ) -> str:
        from qrun.testing import Batch, LocalService, Session

        service = LocalService(self.engine, instance=self._instance)
        kind = Batch if mode == "batch" else Session
        resolved = service.backend(backend) if backend else None
        session = kind(backend=resolved, max_time=max_time, service=service)
        session.__enter__()
        ref = str(session.session_id)
        self._blocks[ref] = session
        self._sessions[ref] = self.engine.session(ref)
        return ref

    def leave_block(self, session: str) -> None:
        self._blocks.pop(session).__exit__(None, None, None)

    def submit(
        self,
        session: str | None,
        *,
        backend: str | None = None,
        duration: float | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        instance = self._instance if user is None else self._user_instance(user)
        if session is not None:
            backend = str(self._sessions[session].details()["backend_name"])
        try:
            job = self.engine.submit(
                _PROGRAM,
                [(self._circuit,)],
                backend=backend or "",
                instance=instance,
                session_id=session,
                options=JobOptions(job_tags=tuple(tags)),
                duration=duration,
            )
        except QrunError as error:
            raise Rejected(str(error)) from error
        self._jobs[job.job_id()] = job
        return job.job_id()

    def _user_instance(self, user: str) -> str:
        name = f"user-{user}"
        if name not in self._users:
            self.engine.add_instance(Instance(name))
            self._users.add(name)
        return name

    def close(self, session: str) -> None:
        self._sessions[session].close()

    def cancel(self, session: str) -> None:
        self._sessions[session].cancel()

    def status(self, session: str) -> str | None:
        return self._sessions[session].status()

    def details(self, session: str) -> Mapping[str, object] | None:
        return self._sessions[session].details()

    def job_status(self, job: str) -> JobState:
        return self._jobs[job].status()

    def job_result(self, job: str) -> object:
        try:
            return self._jobs[job].result()
        except JobFailedError as error:
            raise JobFailed(error.reason) from error
        except JobCancelledError as error:
            raise JobCancelled(error.reason) from error

    def session_jobs(self, session: str) -> list[str]:
        return [job.job_id() for job in self.engine.jobs(session_id=session)]

    def jobs_by_tag(self, tag: str) -> list[str]:
        return [job.job_id() for job in self.engine.jobs(tags=[tag])]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def teardown(self) -> None:
        self.engine.shutdown()
