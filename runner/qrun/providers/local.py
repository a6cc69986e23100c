"""The ``local`` provider: ``aer`` and ``fake_*`` backends on qrun's lifecycle engine.

Sessions and batches are the engine's, so their ``status()`` and ``details()`` follow the
documented lifecycle; jobs compute on Aer (with the fake backend's noise for ``fake_*``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.errors import BackendError
from qrun.providers.base import ResolvedBackend

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from qiskit.primitives import PrimitiveResult

    from qrun.clock import Clock
    from qrun.engine import Engine, JobHandle, RoutingExecutor, SessionHandle
    from qrun.manifest.model import Backend, ExecutionMode, PrimitiveKind, PrimitiveOptions, Service

__all__ = ["LocalChannel", "LocalProvider"]


class _LocalJob:
    """An engine job whose ``result()`` waits on the engine's clock."""

    def __init__(self, handle: JobHandle) -> None:
        self._handle = handle

    def job_id(self) -> str:
        return self._handle.job_id()

    def status(self) -> str:
        return self._handle.status()

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        result: PrimitiveResult = self._handle.result(timeout=timeout)
        return result

    def cancel(self) -> None:
        self._handle.cancel()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        self._handle.add_done_callback(lambda _handle: callback())


class LocalChannel:
    """A session or batch on the engine, or plain jobs (``mode="job"``)."""

    def __init__(
        self,
        engine: Engine,
        backend: str,
        instance: str,
        mode: ExecutionMode,
        session: SessionHandle | None,
    ) -> None:
        self._engine = engine
        self._backend = backend
        self._instance = instance
        self._mode: ExecutionMode = mode
        self._session = session

    @property
    def mode(self) -> ExecutionMode:
        return self._mode

    @property
    def session_id(self) -> str | None:
        return None if self._session is None else self._session.session_id

    def status(self) -> str | None:
        return None if self._session is None else self._session.status()

    def details(self) -> Mapping[str, object] | None:
        return None if self._session is None else self._session.details()

    def state(self) -> str | None:
        return None if self._session is None else self._session.state

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> _LocalJob:
        handle = self._engine.submit(
            kind,
            pubs,
            backend=self._backend,
            instance=self._instance,
            session_id=self.session_id,
            options=options,
        )
        return _LocalJob(handle)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        found = self._engine.jobs(instance=self._instance, session_id=self.session_id, tags=tags)
        return [job.job_id() for job in found]

    def cancel(self) -> None:
        if self._session is not None:
            self._session.cancel()
        for job in self._engine.jobs(instance=self._instance, pending=True):
            if job.session_id is None and job.backend_name == self._backend:
                job.cancel()


class LocalProvider:
    """Runs on an :class:`~qrun.engine.Engine`: a new one on the system clock by default,
    or the one given (tests pass an engine on a virtual clock, or with an Open Plan
    instance)."""

    name = "local"

    def __init__(
        self,
        settings: Service | None = None,
        *,
        engine: Engine | None = None,
        instance: str | None = None,
    ) -> None:
        from qrun.engine import Engine

        self._owns_engine = engine is None
        self.engine: Engine = engine if engine is not None else Engine()
        self.instance = instance or "local"
        del settings  # the local engine has no service to connect to

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    def resolve(self, backend: Backend) -> ResolvedBackend:
        if backend.kind not in ("aer", "fake") or backend.name is None:
            raise BackendError(f"the local provider cannot run a {backend.kind!r} backend")
        name = backend.name
        target = self.engine.backend_spec(name).target  # BackendError for an unknown name
        return ResolvedBackend(
            name=name,
            kind=backend.kind,
            provider=self.name,
            transpile_for=target,
            num_qubits=target.num_qubits,
        )

    def open(
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> LocalChannel:
        session = None
        if mode != "job":
            session = self.engine.open_session(
                backend.name, instance=self.instance, mode=mode, max_time=max_time
            )
        return LocalChannel(self.engine, backend.name, self.instance, mode, session)

    def expect_parallel_jobs(self, backend: ResolvedBackend, count: int) -> RoutingExecutor | None:
        """Several workloads will run at once, each optimising in a process of its own
        that also computes its jobs: route those jobs there (the engine still decides
        when each starts, within ``backend``'s capacity). None with an engine given to
        this provider, which keeps its own executor (the workloads then run on threads)."""
        from qrun.engine import RoutingExecutor

        del backend  # the engine applies the backend's capacity itself
        # A workload process reads its answer off the outcome it computed: that is the
        # job's end only where jobs end the moment they are computed.
        if not self._owns_engine or count < 2 or self.engine.modelled_time:
            return None
        executor = self.engine.executor
        if not isinstance(executor, RoutingExecutor):
            executor = RoutingExecutor(executor)
            self.engine.executor = executor
        return executor

    def shutdown(self) -> None:
        if self._owns_engine:
            self.engine.shutdown()
