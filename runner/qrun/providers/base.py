"""What a provider offers the runner: backends, and a channel (session, batch or plain
jobs) to submit primitive jobs through.

Both providers, the embedded ``local`` one and the ``runtime`` one over
``qiskit_ibm_runtime``, expose this same surface, so the executor never knows which
one it drives.

A channel also declares where the optimisers of concurrent workloads run, its
:attr:`Channel.hosting`. An optimiser is a *task*: it asks for evaluations, each answered
with the result of one job, and returns what it found. The runner's side of a task is an
*evaluator*: it submits the job a request needs through the channel it is handed, and
records the job once it has ended. A task also says what that job is
(:meth:`Task.job`, the very :class:`Submission` its evaluator submits), so a hosting that
runs jobs side by side can compute a request's job while the engine schedules it. Every
channel can host tasks on threads of this process
(:class:`~qrun.providers.hosting.ThreadHosting`); the local provider can host each in a
process of its own that also computes that task's jobs (:mod:`qrun.providers.forked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from qiskit.primitives import PrimitiveResult
    from qiskit.providers import BackendV2
    from qiskit.transpiler import Target

    from qrun.clock import Clock
    from qrun.manifest.model import Backend, ExecutionMode, PrimitiveKind, PrimitiveOptions

__all__ = [
    "Channel",
    "Evaluator",
    "Host",
    "Hosting",
    "Job",
    "Provider",
    "ResolvedBackend",
    "Submission",
    "Task",
    "TaskFailed",
    "TaskStopped",
]

Request = TypeVar("Request")
Request_contra = TypeVar("Request_contra", contravariant=True)
Request_co = TypeVar("Request_co", covariant=True)
Found = TypeVar("Found")
Found_co = TypeVar("Found_co", covariant=True)


@dataclass(frozen=True)
class ResolvedBackend:
    """The backend a manifest runs on, as found by its provider."""

    name: str
    kind: str  # the manifest's backend kind: aer, fake, ibm, least_busy
    provider: str
    transpile_for: BackendV2 | Target  # what circuits are transpiled for
    chosen_by: str | None = None  # "least_busy" when the service picked it
    num_qubits: int | None = None


class Job(Protocol):
    """A submitted primitive job (``RuntimeJobV2`` and the local engine's handle)."""

    def job_id(self) -> str: ...

    def status(self) -> str: ...

    def result(self, timeout: float | None = None) -> PrimitiveResult: ...

    def cancel(self) -> None: ...


@dataclass(frozen=True)
class Submission:
    """What a job is submitted with through a channel: ``channel.submit(kind, pubs, options)``."""

    kind: PrimitiveKind
    pubs: Sequence[object]
    options: PrimitiveOptions


class Task(Protocol[Request, Found_co]):
    """An optimiser as a hosting runs it: called with its ``ask``, it returns what it found."""

    def __call__(self, ask: Callable[[Request], PrimitiveResult]) -> Found_co: ...

    def job(self, request: Request) -> Submission:
        """What the job that evaluates ``request`` is submitted with: exactly what the
        task's evaluator submits for it."""
        ...


class TaskStopped(Exception):
    """The task was told to stop: it asks for nothing more."""


class TaskFailed(Exception):
    """The task failed where it ran, or its process ended without a word."""


class Evaluator(Protocol[Request_contra]):
    """The runner's side of one task: a job for each request, recorded when it ends."""

    def submit(self, request: Request_contra, channel: Channel) -> Job:
        """Submit the job ``request`` needs through ``channel``, without waiting for it."""
        ...

    def complete(self, job: Job) -> None:
        """Record ``job`` (waiting for its end if need be); raises as its ``result()``
        does, which ends the task."""
        ...


class Host(Protocol[Request_co, Found_co]):
    """Where one task runs."""

    def serve(self, evaluator: Evaluator[Request_co]) -> Found_co:
        """Run the task to its end, each of its requests evaluated by ``evaluator``;
        return what it found. Raises what ended it (:class:`TaskFailed` where it ran
        elsewhere and failed there)."""
        ...

    def stop(self) -> None:
        """Make the task give up at its next request (the run is being interrupted)."""
        ...

    def close(self) -> None:
        """Release what the host holds; nothing of it is left running."""
        ...


class Hosting(Protocol):
    """Where a channel runs the tasks of concurrent workloads."""

    def host(self, tasks: Mapping[str, Task[Request, Found]]) -> dict[str, Host[Request, Found]]:
        """A host for each task, by name. A task is called with its ``ask`` function,
        which returns the result of the job that evaluated the request. Called before
        anything is submitted through the channel."""
        ...


class Channel(Protocol):
    """A session, a batch, or plain jobs on one backend."""

    @property
    def mode(self) -> ExecutionMode: ...

    @property
    def session_id(self) -> str | None: ...

    def status(self) -> str | None: ...

    def details(self) -> Mapping[str, object] | None: ...

    def state(self) -> str | None:
        """``details()["state"]`` (open, active, inactive or closed); None in job mode."""
        ...

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> Job: ...

    def close(self) -> None: ...

    def cancel(self) -> None: ...

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        """Ids of the jobs carrying every one of ``tags``: within this session or batch,
        or every job the instance lists in job mode."""
        ...

    @property
    def hosting(self) -> Hosting:
        """Where the optimisers of concurrent workloads run."""
        ...


class Provider(Protocol):
    """Where a manifest runs."""

    @property
    def name(self) -> str: ...

    @property
    def clock(self) -> Clock:
        """The clock runs are timed with."""
        ...

    @property
    def max_ttl(self) -> float | None:
        """The longest a session or batch of this instance may live, in seconds, when it is
        known before one is opened (``None``: the service says so only once one is open,
        in ``details()["max_time"]``)."""
        ...

    @property
    def pricing_plan(self) -> str | None:
        """The instance's pricing plan (``open``, ``premium`` …) where the provider can
        tell it before a run (``None`` otherwise)."""
        ...

    def resolve(self, backend: Backend) -> ResolvedBackend: ...

    def open(
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> Channel: ...

    @property
    def keeps_jobs(self) -> bool:
        """Whether jobs and sessions outlive the process that submitted them, so that
        another process can find them by id (:meth:`job`, :meth:`attach`)."""
        ...

    def attach(
        self, backend: ResolvedBackend, mode: ExecutionMode, session_id: str
    ) -> Channel | None:
        """The session or batch ``session_id`` opened earlier, if it still accepts jobs;
        None when it is closed or unknown, or where sessions end with their process."""
        ...

    def job(self, job_id: str) -> Job:
        """A job submitted earlier, found by its id; raises
        :class:`~qrun.errors.BackendError` when it cannot be found."""
        ...

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        """Ids of the jobs, of any session, that carry every one of ``tags``, newest
        first (none where jobs end with their process)."""
        ...

    def shutdown(self) -> None: ...
