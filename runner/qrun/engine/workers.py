"""Worker processes that compute jobs, for backends that run several jobs at once.

The optimisers of concurrent workloads are Python, and so is most of a small Aer
estimator call, so threads in one process cannot overlap them (one interpreter lock).
:class:`WorkerExecutor` computes each job in a long-lived worker process instead, while
the engine in the parent still decides when every job starts: one job per idle worker,
the rest wait in order.

A job's circuits and observables arrays are usually the same objects from one job to
the next (an optimiser only changes the parameter values), so each worker is sent such
an object once and afterwards only a reference to it; the parent keeps the objects it
has sent alive, so a reference is never reused for a different object.

Backend affinity: each backend the executor is told of has a home worker (the backends
are dealt round-robin over the workers), and its jobs go to that worker whenever it is
idle, to another idle worker only when it is not. A worker builds a backend's simulator
and noise model on first use, which costs far more than a small job: with homes, each
backend is built in one worker, not in every one. A worker primes its home backends as
soon as it starts (``prime()`` of what it is given), and the executor waits for them all
(at most :data:`PRIME_SECONDS`) before it takes work: a service is ready when it says so.

Workers compute at a lower scheduling priority (:data:`NICENESS`) than the process that
started them: when the CPUs are all busy computing, the parent, which answers requests and
decides what runs next, is still scheduled at once.

Workers are forked on Linux (they start at once and share the parent's imports) and
spawned elsewhere; a spawned worker imports the parent's main module, which must then
guard its code with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from qrun.engine.lifetime import c_library, end_with_parent
from qrun.engine.simulation import run_work
from qrun.engine.work import Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

    from qrun.engine.work import Work

__all__ = [
    "NICENESS",
    "Primer",
    "SharingPickler",
    "SharingUnpickler",
    "WorkDecoder",
    "WorkEncoder",
    "WorkerExecutor",
    "prime_workers",
    "shared_types",
    "worker_context",
]

#: Objects a worker keeps at most before it is told to forget them all.
MAX_SHARED = 256
#: How much lower than its parent's a worker's scheduling priority is (``nice``).
NICENESS = 5
#: The longest the executor waits for its workers to prime their backends.
PRIME_SECONDS = 120.0
_types: tuple[type, ...] | None = None


def shared_types() -> tuple[type, ...]:
    """The types a job shares with the jobs before it, so sent once per worker
    (imported on first use: Qiskit is heavy)."""
    global _types  # noqa: PLW0603 - a process-wide cache, filled once
    if _types is None:
        from qiskit.circuit import QuantumCircuit
        from qiskit.primitives.containers.observables_array import ObservablesArray

        _types = (QuantumCircuit, ObservablesArray)
    return _types


def worker_context() -> BaseContext:
    """``fork`` where it is safe to use (Linux), else ``spawn``.

    A forked worker starts at once, inherits the parent's imports and never re-imports
    the parent's main module. The worker only computes work it is sent, and the simulator
    state it uses is built in the parent before forking (see :func:`prime_workers`).
    """
    if sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def prime_workers() -> None:
    """Import and find what a worker uses, so a forked worker needs no search of its own."""
    import qiskit_aer.primitives  # noqa: F401

    shared_types()
    c_library()


def _shared_object(key: object) -> object:
    """Stands, in a payload, for a shared object the worker was sent (never called: the
    worker's unpickler resolves it)."""
    raise pickle.UnpicklingError(f"shared object {key} read without its worker's objects")


class SharingPickler(pickle.Pickler):
    """Pickles shared objects (:func:`shared_types`) as references, each named by
    ``key_of``, which also notes the objects it is asked about.

    ``reducer_override`` rather than ``persistent_id``: pickle asks the former only about
    objects that are not plain numbers, strings and containers, the latter about every
    object, and a job's parameter values are mostly such plain objects.
    """

    def __init__(self, file: io.BytesIO, key_of: Callable[[object], Hashable]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._key_of = key_of
        self._types = shared_types()

    def reducer_override(self, obj: object) -> Any:
        if type(obj) in self._types:
            return _shared_object, (self._key_of(obj),)
        return NotImplemented


class SharingUnpickler(pickle.Unpickler):
    """Resolves the references of a :class:`SharingPickler` against ``known`` objects."""

    def __init__(self, file: io.BytesIO, known: Mapping[Any, object]) -> None:
        super().__init__(file)
        self._known = known

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == _shared_object.__name__:
            return self._known.__getitem__
        return super().find_class(module, name)


def _noted(met: dict[int, object], obj: object) -> int:
    """``obj``'s key (its identity), noting it among the objects ``met``."""
    met[id(obj)] = obj
    return id(obj)


class WorkEncoder:
    """The sending side: pickles work, each shared object only the first time it is met.

    Not thread-safe: the caller serialises ``encode`` with its sends.
    """

    def __init__(self) -> None:
        self.sent: dict[int, object] = {}

    def encode(self, work: Work) -> tuple[bool, dict[int, object], bytes]:
        """``(reset, new shared objects, payload)`` for a :class:`WorkDecoder`."""
        met: dict[int, object] = {}
        buffer = io.BytesIO()
        SharingPickler(buffer, partial(_noted, met)).dump(work)
        reset = len(self.sent) + len(met) > MAX_SHARED
        if reset:
            self.sent.clear()
        new = {key: obj for key, obj in met.items() if key not in self.sent}
        self.sent.update(new)
        return reset, new, buffer.getvalue()


class WorkDecoder:
    """The receiving side: rebuilds work from what a :class:`WorkEncoder` sent."""

    def __init__(self) -> None:
        self._known: dict[int, object] = {}

    def decode(self, reset: bool, new: dict[int, object], payload: bytes) -> Work:
        if reset:
            self._known.clear()
        self._known.update(new)
        work: Work = SharingUnpickler(io.BytesIO(payload), self._known).load()
        return work


class Primer(Protocol):
    """What builds a backend's simulation state ahead of its first job (it must pickle)."""

    def prime(self) -> None: ...


@dataclass(frozen=True)
class _Prime:
    """A message to a worker: build these backends' state now, then answer :class:`_Primed`."""

    primers: tuple[Primer, ...]


@dataclass(frozen=True)
class _Primed:
    """A worker's answer once it has primed what it was told to."""


def _prime(message: _Prime) -> None:
    for primer in message.primers:
        try:
            primer.prime()
        except Exception:  # noqa: BLE001 - the first job builds it, or reports why not
            continue


def _serve(connection: Connection, parent: int) -> None:
    """A worker's loop: receive work, compute it, send back its outcome; None ends it."""
    end_with_parent(parent)
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(NICENESS)
    decoder = WorkDecoder()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if isinstance(message, _Prime):
            _prime(message)
            connection.send(_Primed())
            continue
        try:
            outcome = run_work(decoder.decode(*message))
        except Exception as error:  # noqa: BLE001 - reported as the job's failure
            outcome = Outcome(error=f"the worker could not read the job: {error}")
        try:
            connection.send(outcome)
        except Exception as error:  # noqa: BLE001 - e.g. a result that does not pickle
            connection.send(Outcome(error=f"the worker could not send the result: {error}"))


class _Worker:
    """The parent's side of one worker process."""

    def __init__(self, context: BaseContext, index: int) -> None:
        parent, child = context.Pipe()
        self.connection = parent
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child, os.getpid()), name=f"qrun-worker-{index}", daemon=True
        )
        self.process.start()
        child.close()
        self.encoder = WorkEncoder()
        self.done: Callable[[Outcome], None] | None = None

    def send(self, work: Work, done: Callable[[Outcome], None]) -> None:
        message = self.encoder.encode(work)
        self.done = done
        self.connection.send(message)


class WorkerExecutor:
    """Computes jobs with Aer in ``workers`` worker processes, one job per worker.

    ``backends`` names the backends to give a home worker now, each with what primes its
    simulation there (None: nothing to prime); a backend first met in a job gets the
    worker with the fewest homes.
    """

    def __init__(
        self,
        workers: int,
        context: BaseContext | None = None,
        *,
        backends: Mapping[str, Primer | None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"a worker executor needs at least one worker, got {workers}")
        chosen = context or worker_context()
        prime_workers()
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._backlog: deque[tuple[Work, Callable[[Outcome], None]]] = deque()
        self._closed = False
        self._workers = [_Worker(chosen, index) for index in range(workers)]
        self._alive = set(self._workers)
        self._homes: dict[str, _Worker] = {}
        primers: dict[_Worker, list[Primer]] = {}
        for name, primer in (backends or {}).items():
            home = self._home(name)
            if primer is not None:
                primers.setdefault(home, []).append(primer)
        priming = []
        for worker, items in primers.items():
            with contextlib.suppress(Exception):  # unprimed, the first job builds it
                worker.connection.send(_Prime(tuple(items)))
                priming.append(worker)
        until = time.monotonic() + PRIME_SECONDS
        for worker in priming:  # in parallel: every worker was told before any is waited for
            with contextlib.suppress(Exception):  # a late answer is skipped by its reader
                if worker.connection.poll(max(0.0, until - time.monotonic())):
                    worker.connection.recv()
        for worker in self._workers:
            self._idle.append(worker)
            threading.Thread(
                target=self._read, args=(worker,), name="qrun-worker-reader", daemon=True
            ).start()

    def _home(self, backend: str) -> _Worker:
        """The worker a backend's jobs prefer (under the lock once workers run)."""
        home = self._homes.get(backend)
        if home is None:
            counts = {worker: 0 for worker in self._workers if worker in self._alive}
            for worker in self._homes.values():
                counts[worker] = counts.get(worker, 0) + 1
            home = min(counts or self._workers, key=lambda worker: counts.get(worker, 0))
            self._homes[backend] = home
        return home

    @property
    def workers(self) -> int:
        """How many worker processes compute jobs."""
        return len(self._workers)

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        with self._lock:
            if self._closed or not self._alive:
                worker = None
            elif self._idle:
                worker = self._take_idle(work.backend)
            else:
                self._backlog.append((work, done))
                return
        if worker is None:
            done(Outcome(error="no worker process is left to run the job"))
            return
        self._send(worker, work, done)

    def _take_idle(self, backend: str) -> _Worker:
        """An idle worker for a job on ``backend``: its home if idle (under the lock)."""
        home = self._home(backend)
        if home in self._idle:
            self._idle.remove(home)
            return home
        return self._idle.pop()

    def _next_for(self, worker: _Worker) -> tuple[Work, Callable[[Outcome], None]] | None:
        """The waiting job ``worker`` should take: the first one whose home it is, else
        the first one (under the lock)."""
        if not self._backlog:
            return None
        for index, waiting in enumerate(self._backlog):
            if self._home(waiting[0].backend) is worker:
                del self._backlog[index]
                return waiting
        return self._backlog.popleft()

    def _send(self, worker: _Worker, work: Work, done: Callable[[Outcome], None]) -> None:
        try:
            worker.send(work, done)
        except Exception as error:  # noqa: BLE001 - the job fails, the executor goes on
            worker.done = None
            with self._lock:
                self._idle.append(worker)
            done(Outcome(error=f"the job could not be sent to a worker: {error}"))

    def _read(self, worker: _Worker) -> None:
        while True:
            try:
                outcome: Outcome = worker.connection.recv()
            except (EOFError, OSError):
                self._lost(worker)
                return
            if isinstance(outcome, _Primed):  # primed later than the executor waited
                continue
            done, worker.done = worker.done, None
            with self._lock:
                following = self._next_for(worker)
                if following is None:
                    self._idle.append(worker)
            if following is not None:
                self._send(worker, *following)
            if done is not None:
                done(outcome)

    def _lost(self, worker: _Worker) -> None:
        """A worker's pipe closed: fail its job, and the waiting ones if none is left."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
            self._alive.discard(worker)
            self._homes = {name: home for name, home in self._homes.items() if home is not worker}
            orphans = [] if self._alive else list(self._backlog)
            self._backlog.clear() if orphans else None
        done, worker.done = worker.done, None
        reason = "the worker process ended before the job finished"
        if done is not None:
            done(Outcome(error=reason))
        for _, waiting in orphans:
            waiting(Outcome(error=reason))

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            backlog = list(self._backlog)
            self._backlog.clear()
        for _, done in backlog:
            done(Outcome(error="the executor shut down before the job ran"))
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.connection.send(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
            worker.connection.close()
