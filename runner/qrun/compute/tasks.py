"""Jobs computed as Ray tasks: :class:`RayExecutor`.

Each started job becomes one Ray task that asks for the resources its simulation needs
(one CPU, on which Aer runs one thread; and a GPU where the simulation's device is
``GPU``). Its circuits and observables go to the object store once and are read once per
worker process (:mod:`qrun.compute.sharing`); noise models and simulators are built once
per worker and kept. The task's outcome comes back through the job's ``done`` callback,
on a thread of Ray's.

A worker process or node lost mid-task makes Ray run the task again, up to
:data:`MAX_RETRIES` times; after that, or when the task cannot run at all, the job fails
with the reason Ray gives. A GPU job on a cluster without a GPU fails at once rather than
wait for a GPU that never comes. When the executor shuts down, the tasks still running
are cancelled and their jobs fail with that reason: no job is left running.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Protocol

from qrun.compute.cluster import CPUS_PER_JOB, connect, disconnect, import_ray, local_head
from qrun.compute.sharing import SharedObjects, decode
from qrun.engine.work import Outcome

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable, Mapping

    from ray import ObjectRef

    from qrun.engine.work import Work

__all__ = ["MAX_RETRIES", "RayExecutor"]

#: Times Ray runs a job's task again after its worker process or node was lost.
MAX_RETRIES = 3


class _OnDevice(Protocol):
    """A simulation that says where Aer runs it (``CPU``, ``GPU`` or ``Thrust``)."""

    @property
    def aer_device(self) -> str: ...


def _device(work: Work) -> str:
    simulation: _OnDevice | None = work.simulation  # type: ignore[assignment]
    return "CPU" if simulation is None else getattr(simulation, "aer_device", "CPU")


def _compute(payload: bytes, references: Mapping[str, ObjectRef[object]]) -> Outcome:
    """The task: read the work (shared objects from this worker's cache) and compute it."""
    import ray

    from qrun.engine.simulation import run_work

    try:
        work = decode(payload, references, lambda found: list(ray.get(found)))
    except Exception as error:  # noqa: BLE001 - reported as the job's failure
        return Outcome(error=f"the Ray worker could not read the job: {error}")
    return run_work(work)


def _reason(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"the Ray task failed ({type(error).__name__}): {first}".rstrip(": ")


class RayExecutor:
    """Computes each job as a Ray task on the cluster at ``address`` (None: on a Ray head
    started for this executor on this machine, ended with it)."""

    def __init__(self, address: str | None = None) -> None:
        self._exit = contextlib.ExitStack()
        if address is None:  # both import Ray, the way a loopback cluster needs
            address = self._exit.enter_context(local_head())
        else:
            connect(address)
            self._exit.callback(disconnect)
        self._ray = import_ray()
        self.address = address
        self._task = self._ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_compute)
        self._shared = SharedObjects(self._ray.put)
        self._lock = threading.Lock()
        self._running: dict[int, tuple[object, Callable[[Outcome], None]]] = {}
        self._count = 0
        self._closed = False
        self._gpus: float | None = None

    @property
    def slots(self) -> int:
        """Jobs the cluster computes at once (its CPUs, one per job)."""
        cpus = float(self._ray.cluster_resources().get("CPU", 1))
        return max(1, int(cpus // CPUS_PER_JOB))

    def _has_gpu(self) -> bool:
        if not self._gpus:  # asked again until one is found: a cluster may grow
            self._gpus = float(self._ray.cluster_resources().get("GPU", 0))
        return self._gpus > 0

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        gpu = _device(work) == "GPU"
        if gpu and not self._has_gpu():
            done(Outcome(error=f"the Ray cluster at {self.address} has no GPU for a GPU job"))
            return
        try:
            payload, references = self._shared.encode(work)
            reference = self._task.options(num_cpus=CPUS_PER_JOB, num_gpus=1 if gpu else 0).remote(
                payload, references
            )
        except Exception as error:  # noqa: BLE001 - the job fails, the executor goes on
            done(Outcome(error=f"the job could not be sent to Ray: {error}"))
            return
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._count += 1
                key = self._count
                self._running[key] = (reference, done)
        if closed:
            with contextlib.suppress(Exception):
                self._ray.cancel(reference, force=True)
            done(Outcome(error="the executor shut down before the job ran"))
            return
        future: concurrent.futures.Future[Outcome] = reference.future()
        future.add_done_callback(lambda ended: self._finish(key, ended))

    def _finish(self, key: int, future: concurrent.futures.Future[Outcome]) -> None:
        with self._lock:
            entry = self._running.pop(key, None)
        if entry is None:  # ended by shutdown already
            return
        done = entry[1]
        try:
            outcome = future.result()
        except BaseException as error:  # noqa: BLE001 - any task failure fails the job
            outcome = Outcome(error=_reason(error))
        done(outcome)

    @property
    def started(self) -> int:
        """Jobs handed to Ray so far."""
        with self._lock:
            return self._count

    @property
    def running(self) -> int:
        """Jobs whose tasks have not ended."""
        with self._lock:
            return len(self._running)

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            running = list(self._running.values())
            self._running.clear()
        for reference, done in running:
            with contextlib.suppress(Exception):
                self._ray.cancel(reference, force=True)
            done(Outcome(error="the executor shut down before the job finished"))
        self._exit.close()
