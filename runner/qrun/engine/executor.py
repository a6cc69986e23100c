"""Executors decide *how* a started job is computed; the engine decides *when*.

An executor takes a :class:`~qrun.engine.work.Work` and later calls ``done`` with its
:class:`~qrun.engine.work.Outcome`, from any thread. ``start`` must not block on the
computation. Three are provided:

* :class:`ThreadExecutor` — Aer on a thread pool (the default; Aer releases the GIL).
* :class:`ProcessExecutor` — Aer in worker processes, for services and CPU-heavy loads;
  a worker keeps no socket it inherited (:func:`~qrun.engine.lifetime.start_worker`).
* :class:`NullExecutor` — computes nothing and answers at once with an empty result; for
  tests of scheduling and lifecycle, where only *when* matters.
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import TYPE_CHECKING, Protocol

from qrun.engine.lifetime import start_worker
from qrun.engine.simulation import run_work
from qrun.engine.work import Outcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine.work import Work

__all__ = ["Executor", "NullExecutor", "ProcessExecutor", "ThreadExecutor"]


class Executor(Protocol):
    """Runs a job's work off the caller's thread and reports its outcome."""

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        """Begin computing ``work``; call ``done`` exactly once when it ends."""
        ...

    def shutdown(self) -> None:
        """Stop taking work and release workers."""
        ...


class ThreadExecutor:
    """Computes jobs with Aer on a pool of threads."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="qrun-job"
        )

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        self._pool.submit(lambda: done(run_work(work)))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ProcessExecutor:
    """Computes jobs with Aer in worker processes (each caches its own simulators)."""

    def __init__(self, max_workers: int | None = None) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=max_workers, initializer=start_worker, initargs=(os.getpid(),)
        )
        # A worker ends with the *thread* that forked it (PR_SET_PDEATHSIG follows the
        # thread): fork the workers now, from the thread that owns the executor, not on
        # demand from a request's pool thread, which ends once it has been idle a while.
        starting = [self._pool.submit(int) for _ in range(max_workers or os.cpu_count() or 1)]
        concurrent.futures.wait(starting)

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        future = self._pool.submit(run_work, work)
        future.add_done_callback(lambda f: done(_outcome_of(f)))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _outcome_of(future: concurrent.futures.Future[Outcome]) -> Outcome:
    if future.cancelled():
        return Outcome(error="the executor shut down before the job ran")
    error = future.exception()
    if error is not None:
        return Outcome(error=f"the worker process failed: {type(error).__name__}: {error}")
    return future.result()


class NullExecutor:
    """Answers every job at once, on the caller's thread, with an empty result."""

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        from qiskit.primitives import PrimitiveResult

        done(Outcome(result=PrimitiveResult([], metadata={"executor": "null"})))

    def shutdown(self) -> None:
        """Nothing to release."""
