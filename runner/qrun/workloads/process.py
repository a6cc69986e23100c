"""A concurrent workload's own process: its optimiser and its simulations run there.

Optimisers are Python, and so is much of a small Aer estimator call, so workloads on
threads of one process share one interpreter lock. A *workload process* is forked for
each concurrent workload instead. Its cost function does not simulate: it sends the
parameters to the parent over the workload's pipe and waits. In the parent, each request
becomes an ordinary job in the session (same tags, same history) and the engine starts
it when its rules allow; the engine's :class:`~qrun.engine.routing.RoutingExecutor` then
hands the started job back to the waiting process, which computes it with its own
simulator. So the parent only schedules and records, and every job is still one of the
session's.

The protocol, per evaluation: the process sends :class:`Ask`; the parent submits the job
and, when the engine starts it, sends it to be computed; the process computes it, sends
the outcome and reads its answer from that same outcome. The last step needs no message
back because the engine this runs on ends a job the moment its outcome arrives (a
system clock: nothing models a QPU's duration); the outcome arrives before the process's
next message on the one pipe, so the parent has ended and recorded the job before it
reads the next request. Should the engine not end the job with that outcome (the job was
cancelled meanwhile, or it failed), the parent tells the process to stop and ignores
anything it sent after the outcome.

In the parent, one reader thread per pipe does all of an evaluation's work as its
messages arrive: a request is submitted at once, an outcome ends its job, and the job's
end (a callback from the engine, on the thread that ended it) records the evaluation. No
other thread is woken on an evaluation's path; each workload's own thread only waits for
its optimiser to end. (One thread reading every pipe was tried: it costs less CPU, but
each workload then waits for the other's messages to be handled, and the runs were
slower.)
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from qrun.engine.lifetime import end_with_parent
from qrun.engine.simulation import run_work
from qrun.engine.work import Outcome
from qrun.engine.workers import WorkDecoder, WorkEncoder, prime_workers, worker_context
from qrun.workloads.context import WorkloadStopped
from qrun.workloads.cost import read_evaluation

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

    from numpy.typing import NDArray

    from qrun.engine.routing import RoutingExecutor
    from qrun.engine.work import Work
    from qrun.workloads.history import OptimizerResult

__all__ = [
    "Ask",
    "Failed",
    "Finished",
    "Lost",
    "RemoteCost",
    "WorkloadFailed",
    "WorkloadProcess",
    "WorkloadProcesses",
    "fork_available",
]

#: How long a finished or stopped workload process may take to exit before it is killed.
EXIT_GRACE = 5.0


class WorkloadFailed(Exception):
    """The workload process reported a failure, or ended without a word."""


# Messages from the workload process ---------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """The cost (or its parameter-shift gradient) at ``x``: the parent runs one job.

    ``iterations`` is how many iterations the optimiser finished since its previous
    request: they are told with the next request rather than each in a message of its
    own, which would cost the parent a wake-up per iteration for nothing it must act on
    before then.
    """

    kind: Literal["cost", "gradient"]
    x: NDArray[np.float64]
    iterations: int = 0


@dataclass(frozen=True)
class Finished:
    """The optimiser returned."""

    result: OptimizerResult
    iterations: int = 0


@dataclass(frozen=True)
class Failed:
    """The optimiser raised."""

    error: str


@dataclass(frozen=True)
class Lost:
    """The process ended (or its pipe broke) without finishing (parent side only)."""

    reason: str


@dataclass(frozen=True)
class _Computed:
    token: int
    outcome: Outcome


@dataclass(frozen=True)
class _Raised:
    """The parent's side of an evaluation failed (parent side only)."""

    error: BaseException


#: How a workload process's optimisation can end, as the parent sees it.
Ended = Finished | Failed | Lost | _Raised


# Messages from the parent -------------------------------------------------------------


@dataclass(frozen=True)
class _Compute:
    token: int
    reset: bool
    new: dict[int, object]
    payload: bytes


@dataclass(frozen=True)
class _Stop:
    pass


# The workload process -----------------------------------------------------------------


class RemoteCost:
    """The cost as the optimiser in a workload process sees it: each call asks the parent
    for a job, computes it when the parent sends it, and reads the answer off it."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._decoder = WorkDecoder()
        self.iterations = 0  # finished since the last request

    def value(self, x: NDArray[np.float64]) -> float:
        return float(self._ask("cost", x))

    def gradient(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self._ask("gradient", x), dtype=float)

    def next_iteration(self) -> None:
        self.iterations += 1

    def _ask(
        self, kind: Literal["cost", "gradient"], x: NDArray[np.float64]
    ) -> float | NDArray[np.float64]:
        point = np.array(x, dtype=float)
        self._connection.send(Ask(kind, point, self.iterations))
        self.iterations = 0
        while True:
            message = self._connection.recv()
            if not isinstance(message, _Compute):
                raise WorkloadStopped
            outcome = self._compute(message)
            if outcome.result is not None:
                answer, _, _ = read_evaluation(kind, point.size, outcome.result)
                return answer
            # The job failed: the parent records why and tells this process to stop.

    def _compute(self, message: _Compute) -> Outcome:
        try:
            work = self._decoder.decode(message.reset, message.new, message.payload)
            outcome = run_work(work)
        except Exception as error:  # noqa: BLE001 - reported as the job's failure
            outcome = Outcome(error=f"the workload process could not read the job: {error}")
        try:
            self._connection.send(_Computed(message.token, outcome))
        except Exception as error:  # noqa: BLE001 - e.g. a result that does not pickle
            outcome = Outcome(error=f"the workload process could not send the result: {error}")
            self._connection.send(_Computed(message.token, outcome))
        return outcome


def _main(
    connection: Connection, optimizer: Callable[[RemoteCost], OptimizerResult], parent: int
) -> None:
    """The workload process: optimise, report how it ended (nothing once stopped), exit.

    It leaves with ``os._exit``: it is a fork of the parent, with the parent's exit
    handlers and its simulator's idle threads, and has nothing of its own to clean up.
    """
    end_with_parent(parent)
    # The parent takes the keyboard interrupt and stops its workloads itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cost = RemoteCost(connection)
    message: Finished | Failed | None = None
    try:
        message = Finished(optimizer(cost), cost.iterations)
    except (WorkloadStopped, EOFError, OSError):
        pass
    except Exception as failure:  # noqa: BLE001 - the workload's recorded failure
        message = Failed(f"{type(failure).__name__}: {failure}")
    if message is not None:
        with contextlib.suppress(OSError):
            connection.send(message)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


# The parent's side --------------------------------------------------------------------


class WorkloadProcess:
    """The parent's side of one workload process; an executor for that workload's jobs."""

    def __init__(
        self,
        name: str,
        optimizer: Callable[[RemoteCost], OptimizerResult],
        context: BaseContext,
    ) -> None:
        parent, child = context.Pipe()
        self.name = name
        self._connection = parent
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._encoder = WorkEncoder()
        self._tokens = itertools.count()
        self._pending: dict[int, Callable[[Outcome], None]] = {}
        self._ended: queue.SimpleQueue[Ended] = queue.SimpleQueue()
        self._evaluate: Callable[[Ask], None] | None = None
        self._over = False  # ended or failed: later requests are ignored
        self._lost: str | None = None
        self._closed = False
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_main,
            args=(child, optimizer, os.getpid()),
            name=f"qrun-workload-{name}",
            daemon=True,
        )
        self.process.start()
        child.close()
        # Requests wait in the pipe until serve() says who evaluates them.
        self._reader = threading.Thread(
            target=self._read, name=f"qrun-workload-reader-{name}", daemon=True
        )

    # The runner's side.
    def serve(self, evaluate: Callable[[Ask], None]) -> Finished:
        """Serve the process's requests until its optimiser ends; return how it ended.

        ``evaluate`` is called on the reader thread for each request; it must submit the
        job without waiting for it, and call :meth:`fail` if the evaluation fails (an
        error it raises is handled the same way). Raises :class:`WorkloadFailed` when
        the optimiser raised or the process ended first, and the error given to
        :meth:`fail`. Requests wait in the pipe until this is called.
        """
        self._evaluate = evaluate
        self._reader.start()
        ended = self._ended.get()
        if isinstance(ended, Finished):
            return ended
        if isinstance(ended, Failed):
            raise WorkloadFailed(ended.error)
        if isinstance(ended, Lost):
            raise WorkloadFailed(ended.reason)
        raise ended.error

    def fail(self, error: BaseException) -> None:
        """End the workload with ``error`` (raised by :meth:`serve`); the process is told
        to stop, and whatever it sends from now on is ignored."""
        with self._lock:
            if self._over:
                return
            self._over = True
        self._ended.put(_Raised(error))
        self.stop()

    def stop(self) -> None:
        """Tell the process to give up at its next request (it then exits quietly)."""
        with contextlib.suppress(OSError, ValueError), self._send_lock:
            self._connection.send(_Stop())

    def close(self) -> None:
        """Wait for the process to exit (killing it if it does not), release the pipe."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self.process.join(EXIT_GRACE)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        if self._reader.is_alive():
            self._reader.join()
        self._connection.close()

    # The engine's side: an executor for this workload's jobs.
    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        with self._lock:
            lost = self._lost
            token = next(self._tokens)
            if lost is None:
                self._pending[token] = done
        if lost is not None:
            done(Outcome(error=lost))
            return
        try:
            with self._send_lock:
                reset, new, payload = self._encoder.encode(work)
                self._connection.send(_Compute(token, reset, new, payload))
        except Exception as error:  # noqa: BLE001 - the job fails, the run goes on
            with self._lock:
                waiting = self._pending.pop(token, None)
            if waiting is not None:
                waiting(Outcome(error=f"the job could not be sent to its workload: {error}"))

    def shutdown(self) -> None:
        """Nothing: :meth:`close` ends the process when its workload ends."""

    # The reader's side.
    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                break
            self._handle(message)
        self._lose()

    def _handle(self, message: object) -> None:
        if isinstance(message, _Computed):
            with self._lock:
                done = self._pending.pop(message.token, None)
            if done is not None:
                done(message.outcome)
        elif self._over:
            return
        elif isinstance(message, Ask):
            evaluate = self._evaluate
            assert evaluate is not None  # set by serve() before the reader starts
            try:
                evaluate(message)
            except BaseException as error:  # noqa: BLE001 - ends this workload only
                self.fail(error)
        elif isinstance(message, (Finished, Failed)):
            with self._lock:
                self._over = True
            self._ended.put(message)

    def _lose(self) -> None:
        """The pipe closed: fail the jobs the process was computing, wake the runner."""
        self.process.join(EXIT_GRACE)
        code = self.process.exitcode
        reason = "the workload process ended" + (
            f" unexpectedly (exit code {code})" if code else " before the job finished"
        )
        with self._lock:
            self._lost = reason
            pending = list(self._pending.values())
            self._pending.clear()
        for done in pending:
            done(Outcome(error=reason))
        self._ended.put(Lost(reason))


def fork_available() -> bool:
    """Whether workload processes can be used here (they are forked: Linux only)."""
    return worker_context().get_start_method() == "fork"


class WorkloadProcesses:
    """One workload process per concurrent workload, and the router that feeds them."""

    def __init__(
        self,
        optimizers: Mapping[str, Callable[[RemoteCost], OptimizerResult]],
        router: RoutingExecutor,
    ) -> None:
        prime_workers()
        context = worker_context()
        self.router = router
        self._processes: dict[str, WorkloadProcess] = {}
        try:
            for name, optimizer in optimizers.items():
                self._processes[name] = WorkloadProcess(name, optimizer, context)
        except BaseException:
            self.close()
            raise

    def get(self, name: str) -> WorkloadProcess | None:
        """The process of workload ``name``, if it has one."""
        return self._processes.get(name)

    @property
    def processes(self) -> tuple[WorkloadProcess, ...]:
        return tuple(self._processes.values())

    def stop(self) -> None:
        """Tell every process to give up (the run is being interrupted)."""
        for process in self._processes.values():
            process.stop()

    def close(self) -> None:
        """End every process; none is left behind."""
        for process in self._processes.values():
            process.close()
