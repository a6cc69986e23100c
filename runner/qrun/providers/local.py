"""The ``local`` provider: ``aer`` and ``fake_*`` backends on qrun's lifecycle engine.

Sessions and batches are the engine's, so their ``status()`` and ``details()`` follow the
documented lifecycle; jobs compute on Aer (with the fake backend's noise for ``fake_*``).

Every job is computed by a :class:`~qrun.providers.simulation.LocalSimulation`: Aer with
the manifest's ``backend.options`` applied, on the qubits each circuit touches. ``aer``
transpiles for an ideal target without a qubit count, so a circuit keeps its width and
the plan's memory estimate, not the target, decides what fits.

Concurrent workloads run each optimiser in a process of its own that also computes its
jobs (:mod:`qrun.providers.forked`), where the provider builds its own engine on the
system clock: there a job ends the moment it is computed. On a backend that runs several
jobs at once (``aer``) each process computes its job while the engine schedules it. An
engine given to the provider keeps its executor, and the optimisers run on threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from qrun.engine.backends import fake_backend_names
from qrun.errors import BackendError
from qrun.providers.base import ResolvedBackend
from qrun.providers.simulation import LocalSimulation
from qrun.providers.simulator import METHODS, SimulatorSettings, available, method_operations

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from qiskit.primitives import PrimitiveResult
    from qiskit.transpiler import Target

    from qrun.clock import Clock
    from qrun.compute import Compute
    from qrun.engine import Engine, JobHandle, PlacingExecutor, SessionHandle
    from qrun.engine.work import Work
    from qrun.manifest.model import Backend, ExecutionMode, PrimitiveKind, PrimitiveOptions, Service
    from qrun.providers.base import Hosting, Job, Submission
    from qrun.providers.forked import Forks

__all__ = ["LocalBackend", "LocalChannel", "LocalProvider"]


@dataclass(frozen=True)
class LocalBackend(ResolvedBackend):
    """A backend of the local provider, with the simulator settings its jobs run with."""

    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)

    @property
    def simulation(self) -> LocalSimulation:
        """How this backend's jobs are computed."""
        if self.kind == "fake":
            return LocalSimulation(self.name, self.simulator, noisy=True)
        noise = self.simulator.noise_model
        return LocalSimulation(self.name, self.simulator, noisy=noise is not None, noise_from=noise)


@cache
def _ideal_target(method: str) -> Target:
    """Aer's ideal target for ``method`` (the operations that method simulates) without a
    qubit count: a circuit transpiled for it keeps its own width."""
    from qiskit.transpiler import Target
    from qiskit_aer import AerSimulator

    aer = AerSimulator().target
    simulated = method_operations(method)
    target = Target(description=f"aer ({method})", num_qubits=None)
    for name in aer.operation_names:
        if name in simulated:
            target.add_instruction(aer.operation_from_name(name), name=name)
    return target


def _noise_device(engine: Engine, name: str | None) -> Target | None:
    """The target of the fake device whose noise ``aer`` simulates with; None for none, or
    for a name that is no fake device (planning reports it at its place)."""
    if name is None or name not in fake_backend_names():
        return None
    return engine.backend_spec(name).target


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
        *,
        hosting: Callable[[LocalChannel], Hosting] | None = None,
        place: str | None = None,
        ended: Callable[[Job], None] | None = None,
        simulation: LocalSimulation | None = None,
    ) -> None:
        self._engine = engine
        self._simulation = simulation  # how its jobs are computed (None: the engine's way)
        self._backend = backend
        self._instance = instance
        self._mode: ExecutionMode = mode
        self._session = session
        self._hosting = hosting  # the provider's, where it offers one
        self._place = place  # where this channel's jobs are computed (None: anywhere)
        self._ended = ended  # told of each of its jobs' end

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
            place=self._place,
            simulation=self._simulation,
        )
        job = _LocalJob(handle)
        ended = self._ended
        if ended is not None:
            handle.add_done_callback(lambda _handle: ended(job))
        return job

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

    @property
    def hosting(self) -> Hosting:
        """A process for each optimiser where the provider forks them, else threads."""
        if self._hosting is not None:
            return self._hosting(self)
        from qrun.providers.hosting import ThreadHosting

        return ThreadHosting(self)

    def placed(self, place: str, ended: Callable[[Job], None]) -> LocalChannel:
        """This channel, with its jobs computed at ``place``, and ``ended`` told of each
        of its jobs' end (on whichever thread ended it)."""
        return LocalChannel(
            self._engine,
            self._backend,
            self._instance,
            self._mode,
            self._session,
            place=place,
            ended=ended,
            simulation=self._simulation,
        )

    @property
    def runs_side_by_side(self) -> bool:
        """Whether the backend runs several jobs at once (``aer``), not one at a time."""
        return self._engine.capacity(self._backend) > 1

    def work(self, submission: Submission) -> Work:
        """What a job submitted through this channel with ``submission`` computes."""
        return self._engine.work(
            submission.kind,
            submission.pubs,
            backend=self._backend,
            options=submission.options,
            simulation=self._simulation,
        )


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
        compute: Compute | None = None,
    ) -> None:
        from qrun.compute import Compute, executor_for
        from qrun.compute.tasks import RayExecutor
        from qrun.engine import Engine, PlacingExecutor

        self._owns_engine = engine is None
        # Its own engine runs on the system clock, where a job ends the moment it is
        # computed: there it can place the jobs of each workload in that workload's process.
        self._placing: PlacingExecutor | None = None
        self._forks: Forks | None = None
        #: Where its own engine's jobs compute (None: an engine given keeps its executor).
        self.compute: Compute | None = None
        if engine is None:
            self.compute = compute or Compute("local")
            default = executor_for(self.compute, workers=None)
            self._placing = PlacingExecutor(default)
            engine = Engine(executor=self._placing)
            if isinstance(default, RayExecutor):  # aer runs as many jobs as the cluster can
                engine.add_backend("aer", capacity=max(default.slots, engine.capacity("aer")))
        self.engine: Engine = engine
        self.instance = instance or "local"
        del settings  # the local engine has no service to connect to

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    @property
    def max_ttl(self) -> float:
        return self.engine.instance(self.instance).max_ttl

    @property
    def pricing_plan(self) -> str:
        return self.engine.instance(self.instance).plan

    def resolve(self, backend: Backend) -> ResolvedBackend:
        if backend.kind not in ("aer", "fake") or backend.name is None:
            raise BackendError(f"the local provider cannot run a {backend.kind!r} backend")
        name = backend.name
        target = self.engine.backend_spec(name).target  # BackendError for an unknown name
        settings = SimulatorSettings.from_options(backend.options)
        if backend.kind == "aer":
            method = settings.method
            if method not in METHODS or method not in ("automatic", *available()[0]):
                method = "automatic"  # planning reports the method as unavailable
            target = _ideal_target(method)
            device = _noise_device(self.engine, settings.noise_model)
            if device is not None:  # the device's noise applies to its own qubits and gates
                target = device
        return LocalBackend(
            name=name,
            kind=backend.kind,
            provider=self.name,
            transpile_for=target,
            num_qubits=target.num_qubits,
            simulator=settings,
        )

    def open(
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> LocalChannel:
        session = None
        if mode != "job":
            session = self.engine.open_session(
                backend.name, instance=self.instance, mode=mode, max_time=max_time
            )
        simulation = backend.simulation if isinstance(backend, LocalBackend) else None
        if simulation is not None:
            simulation.prime()
        return LocalChannel(
            self.engine,
            backend.name,
            self.instance,
            mode,
            session,
            hosting=self._hosting,
            simulation=simulation,
        )

    #: Jobs and sessions live in this process's engine and end with it.
    keeps_jobs = False

    def attach(
        self, backend: ResolvedBackend, mode: ExecutionMode, session_id: str
    ) -> LocalChannel | None:
        """None: a session of another process ended with it."""
        del backend, mode, session_id
        return None

    def job(self, job_id: str) -> Job:
        raise BackendError(f"job {job_id} ended with the process that ran it")

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        del tags
        return []

    def _hosting(self, channel: LocalChannel) -> Hosting:
        """Each optimiser in a process of its own where this provider places jobs and
        can fork (Linux), else on threads. On Ray, optimisers run on threads, so their jobs
        are Ray tasks as ``--compute`` says, not computed in a forked process."""
        from qrun.providers.hosting import ThreadHosting

        if self._placing is None or (self.compute is not None and self.compute.kind == "ray"):
            return ThreadHosting(channel)
        if self._forks is None:
            from qrun.providers.forked import Forks, fork_available

            if not fork_available():
                return ThreadHosting(channel)
            self._forks = Forks(self._placing)
        # Where the backend runs jobs side by side, each process computes its job ahead.
        ahead = channel.work if channel.runs_side_by_side else None
        return self._forks.hosting(channel.placed, ahead)

    def shutdown(self) -> None:
        if self._forks is not None:
            self._forks.reap()
        if self._owns_engine:
            self.engine.shutdown()
