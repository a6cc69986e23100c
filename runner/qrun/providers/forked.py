"""Tasks in processes of their own: the local provider's hosting of concurrent workloads.

Optimisers are Python, and so is much of a small Aer estimator call, so tasks on threads
of one process share one interpreter lock. :class:`ForkedHosting` forks a process for each
task instead. The task's ``ask`` there does not simulate: it sends the request to the
parent over the task's pipe and waits. In the parent, the evaluator submits the request's
job through a channel whose jobs are *placed* at that process; the engine starts the job
when its rules allow, and its :class:`~qrun.engine.placement.PlacingExecutor` hands the
started job back to the waiting process, which computes it with its own simulator. So the
parent only schedules and records, and every job is still one of the session's.

The protocol, per request, where the backend runs several jobs at once (``aer``): the
process sends the request and at once computes the job the parent will submit for it
(the task's :meth:`~qrun.providers.base.Task.job`, turned into work by the channel the
way the engine turns a submission into work: the same PUBs, shots or precision and
simulator seed). Meanwhile the parent submits the job, and when the engine starts it,
sends a short "started" token. The process then sends the outcome it computed and reads
its answer from that same outcome. So the parent is off each evaluation's path, while
the engine still decides when every job runs: nothing reaches the optimiser before the
engine has started its job, and the outcome of a job the engine ends without starting it
(cancelled, dropped at the session's max TTL) is never read: the parent tells the process
to stop instead. Where the backend runs one job at a time (``fake_*``), the process
computes nothing ahead: the parent sends the started job's work, pickled, and the process
computes it then, so computing follows the engine's one-at-a-time order.

The outcome needs no message back because this hosting is offered only where a job ends
the moment its outcome arrives (a system clock: nothing models a QPU's duration): the
parent ends the job, and records it, as it reads the outcome, before it reads the
process's next message on the one pipe. Should the engine not end the job with that
outcome (it was cancelled meanwhile, or it failed), or end it without starting it (the
placed channel reports every job's end), the evaluator's record raises, the parent tells
the process to stop, and ignores anything it sent after.

In the parent, one reader thread per pipe does all of a request's work as its messages
arrive. No other thread is woken on an evaluation's path; the thread serving each task
only waits for its end.

While any task process is open, the objects that existed when it was forked are frozen
out of the garbage collector (:func:`gc.freeze`, as Python's documentation advises before
a fork): a process's collections then never walk, and so never copy, the heap it shares
with the parent, and the parent's own full collections, which would hold the interpreter
lock for tens of milliseconds while every task waits for it, skip that heap too. The
last host to close unfreezes them.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import queue
import signal
import sys
import threading
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Generic, TypeVar

from qrun.engine.lifetime import end_with_parent
from qrun.engine.simulation import run_work
from qrun.engine.work import Outcome
from qrun.engine.workers import WorkDecoder, WorkEncoder, prime_workers, worker_context
from qrun.providers.base import TaskFailed, TaskStopped

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext

    from qiskit.primitives import PrimitiveResult

    from qrun.engine.placement import PlacingExecutor
    from qrun.engine.work import Work
    from qrun.providers.base import Channel, Evaluator, Host, Job, Submission, Task

    #: What a request's job computes, as the channel would submit it (None: not ahead).
    Ahead = Callable[[Submission], Work]
    #: The channel that places its jobs at a place and reports each job's end.
    Placed = Callable[[str, Callable[[Job], None]], Channel]

__all__ = ["ForkedHosting", "Forks", "fork_available"]

#: How long a finished or stopped task process may take to exit before it is killed.
EXIT_GRACE = 5.0

Request = TypeVar("Request")
Found = TypeVar("Found")


def fork_available() -> bool:
    """Whether tasks can be forked here (Linux only)."""
    return worker_context().get_start_method() == "fork"


_freeze_lock = threading.Lock()
_freeze_holders = 0


def _freeze() -> None:
    """Freeze the objects alive now out of the collector, until :func:`_thaw`."""
    global _freeze_holders  # noqa: PLW0603 - one count for the process's one collector
    with _freeze_lock:
        if _freeze_holders == 0:
            gc.freeze()
        _freeze_holders += 1


def _thaw() -> None:
    """One holder fewer; the last gives the frozen objects back to the collector."""
    global _freeze_holders  # noqa: PLW0603 - one count for the process's one collector
    with _freeze_lock:
        _freeze_holders -= 1
        if _freeze_holders == 0:
            gc.unfreeze()


# Messages from the task's process -----------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    request: object


@dataclass(frozen=True)
class _Computed:
    token: int
    outcome: Outcome


@dataclass(frozen=True)
class _Finished:
    found: object


@dataclass(frozen=True)
class _Failed:
    error: str


@dataclass(frozen=True)
class _Lost:
    """The process ended (or its pipe broke) without finishing (parent side only)."""

    reason: str


@dataclass(frozen=True)
class _Raised:
    """The parent's side of a request failed (parent side only)."""

    error: BaseException


# Messages from the parent ---------------------------------------------------------------


@dataclass(frozen=True)
class _Compute:
    token: int
    reset: bool
    new: dict[int, object]
    payload: bytes


@dataclass(frozen=True)
class _Started:
    """The job was started: send the outcome computed ahead."""

    token: int


@dataclass(frozen=True)
class _Stop:
    pass


# The task's process ---------------------------------------------------------------------


class _Asker:
    """``ask`` as a task in its own process sees it: the parent submits the job, this
    process computes it (ahead, or when the engine starts it), and the answer is read off
    it once the engine has started it."""

    def __init__(
        self, connection: Connection, task: Task[object, object], ahead: Ahead | None
    ) -> None:
        self._connection = connection
        self._task = task
        self._ahead = ahead
        self._decoder = WorkDecoder()

    def ask(self, request: object) -> PrimitiveResult:
        self._connection.send(_Asked(request))
        computed = None if self._ahead is None else self._compute_ahead(self._ahead, request)
        while True:
            message = self._connection.recv()
            if isinstance(message, _Started) and computed is not None:
                outcome, computed = computed, None
            elif isinstance(message, _Compute):
                outcome = self._compute(message)
            else:
                raise TaskStopped
            outcome = self._send(message.token, outcome)
            if outcome.result is not None:
                result: PrimitiveResult = outcome.result
                return result
            # The job failed: the parent records why and tells this process to stop.

    def _compute_ahead(self, ahead: Ahead, request: object) -> Outcome:
        try:
            work = ahead(self._task.job(request))
        except Exception as error:  # noqa: BLE001 - the parent's submission fails the same way
            return Outcome(error=f"the workload process could not build the job: {error}")
        return run_work(work)

    def _compute(self, message: _Compute) -> Outcome:
        try:
            work = self._decoder.decode(message.reset, message.new, message.payload)
        except Exception as error:  # noqa: BLE001 - reported as the job's failure
            return Outcome(error=f"the workload process could not read the job: {error}")
        return run_work(work)

    def _send(self, token: int, outcome: Outcome) -> Outcome:
        """Send ``outcome`` as the job's; returns what was sent."""
        try:
            self._connection.send(_Computed(token, outcome))
        except Exception as error:  # noqa: BLE001 - e.g. a result that does not pickle
            outcome = Outcome(error=f"the workload process could not send the result: {error}")
            self._connection.send(_Computed(token, outcome))
        return outcome


def _main(
    connection: Connection, task: Task[object, object], ahead: Ahead | None, parent: int
) -> None:
    """The task's process: run the task, report how it ended (nothing once stopped), exit.

    It leaves with ``os._exit``: it is a fork of the parent, with the parent's exit
    handlers and its simulator's idle threads, and has nothing of its own to clean up.
    """
    end_with_parent(parent)
    # The parent takes the keyboard interrupt and stops its tasks itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    message: _Finished | _Failed | None = None
    try:
        message = _Finished(task(_Asker(connection, task, ahead).ask))
    except (TaskStopped, EOFError, OSError):
        pass
    except Exception as failure:  # noqa: BLE001 - the task's recorded failure
        message = _Failed(f"{type(failure).__name__}: {failure}")
    if message is not None:
        with contextlib.suppress(OSError):
            connection.send(message)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


# The parent's side ----------------------------------------------------------------------


class _ForkedHost(Generic[Request, Found]):
    """The parent's side of one task's process; the executor of the jobs placed there."""

    def __init__(
        self,
        name: str,
        task: Task[Request, Found],
        placed: Callable[[Callable[[Job], None]], Channel],
        ahead: Ahead | None,
        context: BaseContext,
    ) -> None:
        parent, child = context.Pipe()
        self.name = name
        self._channel = placed(self._ended_job)
        self._ahead = ahead is not None
        self._connection = parent
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._submitting = False  # the reader is in the evaluator's submit()
        self._early: Job | None = None  # a job that ended before its submit() returned
        self._started = False  # the current job was handed to the process
        self._encoder = WorkEncoder()
        self._tokens = itertools.count()
        self._pending: dict[int, Callable[[Outcome], None]] = {}
        self._ended: queue.SimpleQueue[_Finished | _Failed | _Lost | _Raised] = queue.SimpleQueue()
        self._evaluator: Evaluator[Request] | None = None
        self._job: Job | None = None  # the job of the request being evaluated
        self._over = False  # ended or failed: later requests are ignored
        self._lost: str | None = None
        self._closed = False
        self.leave: Callable[[], None] | None = None  # called when closed: jobs go no more here
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_main,
            args=(child, task, ahead, os.getpid()),
            name=f"qrun-workload-{name}",
            daemon=True,
        )
        _freeze()
        try:
            self.process.start()
        except BaseException:
            _thaw()
            raise
        child.close()
        # Requests wait in the pipe until serve() says who evaluates them.
        self._reader = threading.Thread(
            target=self._read, name=f"qrun-workload-reader-{name}", daemon=True
        )

    # The serving thread's side.
    def serve(self, evaluator: Evaluator[Request]) -> Found:
        self._evaluator = evaluator
        self._reader.start()
        ended = self._ended.get()
        if isinstance(ended, _Finished):
            found: Found = ended.found  # type: ignore[assignment]
            return found
        if isinstance(ended, _Failed):
            raise TaskFailed(ended.error)
        if isinstance(ended, _Lost):
            raise TaskFailed(ended.reason)
        raise ended.error

    def _fail(self, error: BaseException) -> None:
        """End the task with ``error`` (raised by :meth:`serve`); the process is told to
        stop, and whatever it sends from now on is ignored."""
        with self._lock:
            if self._over:
                return
            self._over = True
        self._ended.put(_Raised(error))
        self.stop()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError), self._send_lock:
            self._connection.send(_Stop())

    def close(self) -> None:
        """No more jobs go to the process, and it is told to stop (it exits by itself
        once its task has ended); :meth:`reap` waits for it."""
        if self._closed:
            return
        self._closed = True
        if self.leave is not None:
            self.leave()
        self.stop()
        _thaw()

    def reap(self) -> None:
        """Wait for the process to exit (killing it if it does not), release the pipe."""
        self.close()
        self.process.join(EXIT_GRACE)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        if self._reader.is_alive():
            self._reader.join()
        self._connection.close()

    # The engine's side: the executor of this task's jobs.
    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        with self._lock:
            lost = self._lost
            token = next(self._tokens)
            if lost is None:
                self._pending[token] = done
            self._started = True
        if lost is not None:
            done(Outcome(error=lost))
            return
        try:
            with self._send_lock:
                if self._ahead:
                    self._connection.send(_Started(token))
                else:
                    reset, new, payload = self._encoder.encode(work)
                    self._connection.send(_Compute(token, reset, new, payload))
        except Exception as error:  # noqa: BLE001 - the job fails, the run goes on
            with self._lock:
                waiting = self._pending.pop(token, None)
            if waiting is not None:
                waiting(Outcome(error=f"the job could not be sent to its workload: {error}"))

    def shutdown(self) -> None:
        """Nothing: :meth:`close` ends the process when its task ends."""

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
                done(message.outcome)  # the engine ends the job here, on this thread
                with self._lock:
                    job, self._job = self._job, None
                if job is not None:
                    self._complete(job)
        elif self._over:
            return
        elif isinstance(message, _Asked):
            self._submit(message.request)  # type: ignore[arg-type]
        elif isinstance(message, (_Finished, _Failed)):
            with self._lock:
                self._over = True
            self._ended.put(message)

    def _submit(self, request: Request) -> None:
        """Submit the request's job; record it at once if it has already ended."""
        evaluator = self._evaluator
        assert evaluator is not None  # set by serve() before the reader starts
        with self._lock:
            if self._over:
                return
            self._begin_submit()
        try:
            job = evaluator.submit(request, self._channel)
        except BaseException as error:  # noqa: BLE001 - ends this task only
            with self._lock:
                self._submitting = False
            self._fail(error)
            return
        with self._lock:
            self._submitting = False
            ended = self._early is job
            self._early = None
            if not ended:
                self._job = job
        if ended:
            self._complete(job)

    def _begin_submit(self) -> None:
        """A new request's job is about to be submitted: nothing of it is known yet."""
        self._started, self._early, self._submitting, self._job = False, None, True, None

    def _ended_job(self, job: Job) -> None:
        """The placed channel reports that ``job`` ended, on whichever thread ended it.

        A job handed to the process is recorded by the reader as its outcome is read; one
        the engine ended without starting it is recorded here (which fails the task, and
        the process, waiting for its start, is told to stop). Meanwhile the reader is idle:
        the process sends nothing before its job starts. Only the host's own short lock
        is taken here, never while the engine or the evaluator is called, so a thread
        ending the jobs of several hosts never waits for one of them.
        """
        with self._lock:
            if self._submitting:  # it ended before its submit() returned
                self._early = job
                return
            if job is not self._job or self._started:
                return
            self._job = None
        self._complete(job)

    def _complete(self, job: Job) -> None:
        """The job of the current request has ended: record it, or end the task."""
        evaluator = self._evaluator
        if evaluator is None or self._over:
            return
        try:
            evaluator.complete(job)
        except BaseException as error:  # noqa: BLE001 - ends this task, recorded by its runner
            self._fail(error)

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
            self._over = True  # the runner hears of the loss, not of the failed job
        for done in pending:
            done(Outcome(error=reason))
        self._ended.put(_Lost(reason))


class Forks:
    """The task processes forked for one engine, whose executor places their jobs.

    A closed host's process exits by itself once its task has ended; :meth:`reap`, when
    the provider shuts down, waits for every one (the run's record is written meanwhile).
    """

    def __init__(self, placing: PlacingExecutor) -> None:
        self._placing = placing
        self._places = itertools.count(1)
        self._lock = threading.Lock()
        self._hosts: list[_ForkedHost[object, object]] = []

    def hosting(self, placed: Placed, ahead: Ahead | None) -> ForkedHosting:
        """A hosting for the channel that ``placed`` places at a given place; ``ahead``
        (where the backend runs several jobs at once) turns a request's submission into
        the work its process computes while the job is scheduled."""
        return ForkedHosting(self, placed, ahead)

    def fork(
        self,
        name: str,
        task: Task[Request, Found],
        placed: Placed,
        ahead: Ahead | None,
        context: BaseContext,
    ) -> _ForkedHost[Request, Found]:
        with self._lock:
            place = f"{name}#{next(self._places)}"
            ended = [host for host in self._hosts if not host.process.is_alive()]
            self._hosts = [host for host in self._hosts if host not in ended]
        for old in ended:  # a provider that runs many manifests keeps no ended process
            old.reap()
        host = _ForkedHost(name, task, partial(placed, place), ahead, context)
        with self._lock:
            self._hosts.append(host)  # type: ignore[arg-type]
        host.leave = partial(self._placing.remove, place)
        self._placing.add(place, host)
        return host

    def reap(self) -> None:
        """Wait for every process to exit; none is left behind."""
        with self._lock:
            hosts, self._hosts = self._hosts, []
        for host in hosts:
            host.reap()


class ForkedHosting:
    """Forks a process for each task; the jobs it asks for are placed there."""

    def __init__(self, forks: Forks, placed: Placed, ahead: Ahead | None) -> None:
        self._forks = forks
        self._placed = placed
        self._ahead = ahead

    def host(self, tasks: Mapping[str, Task[Request, Found]]) -> dict[str, Host[Request, Found]]:
        prime_workers()
        context = worker_context()
        hosts: dict[str, Host[Request, Found]] = {}
        try:
            for name, task in tasks.items():
                hosts[name] = self._forks.fork(name, task, self._placed, self._ahead, context)
        except BaseException:
            for started in hosts.values():
                started.close()
            raise
        return hosts
