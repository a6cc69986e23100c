"""The lifecycle engine: one queue per backend, sessions with the documented rules.

The engine decides *when* a job runs; an :class:`~qrun.engine.executor.Executor` decides
*how*. Scheduling on a backend (capacity 1 for a QPU):

* While a session is **active** it has dedicated access: only its jobs start, ahead of
  anything queued earlier by others. With none queued the backend waits for it, until its
  interactive TTL deactivates it or it closes.
* Otherwise the oldest queued job starts. If it belongs to a session that is open or
  inactive, that session becomes active (and, in session mode, takes the backend).
* A closed session still draining its jobs keeps its priority until it is closed, which
  happens the moment its last job ends.
* Batches never take the backend and have no interactive TTL; their jobs queue in order.

Timing: on a clock whose time is real a job takes as long as it computes. On a clock that
declares its time ``modelled`` (a :class:`~qrun.clock.VirtualClock`) a job lasts a modelled
QPU time (the ``duration`` given at submission, or
:func:`~qrun.engine.timing.estimate_duration`), and its result is delivered at that time.

Choices where the guide is silent, following what the client documents:

* ``max_time`` above the instance's max TTL is capped to it ("subject to plan limits").
* ``cancel()`` cancels the *pending* (queued) jobs, as the client's docstring says; a job
  already running finishes and its result can still be read.
* ``job.cancel()`` on a running job cancels it at once; its computation is discarded.
* When max TTL is reached, queued jobs fail with the reason "session max TTL reached".
* An idle session (no job submitted since opening) closes after the instance's
  ``idle_close``; batches follow the same limits but never deactivate.

Every job ends for a declared :class:`~qrun.engine.job.EndReason` (completed, failed, max
TTL, cancelled, session cancelled), set here, next to the words a user reads.

Thread safety: every state change happens under one re-entrant lock; executors and clocks
are called outside it, and waiting on a job never holds it.

Observing: :attr:`Engine.observer`, if set, is called under the lock with the jobs and
sessions whose state changed, once the operation that changed them has finished (a service
persists them there). :meth:`Engine.flush` reports pending changes at once.

Handles and engine: a :class:`~qrun.engine.job.JobHandle` or
:class:`~qrun.engine.session.SessionHandle` holds its state; the engine alone changes it,
here, and notes the change. A handle reaches back only through the small protocols its
module declares (:class:`~qrun.engine.job.JobOwner`,
:class:`~qrun.engine.session.SessionOwner`), so imports run one way: core → job → session.
"""

from __future__ import annotations

import math
import sys
import threading
import uuid
from collections import deque
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from qrun.clock import SystemClock
from qrun.engine.backends import backend_spec, default_capacity
from qrun.engine.executor import ThreadExecutor
from qrun.engine.instance import Instance
from qrun.engine.job import FINAL_STATUSES, EndReason, JobHandle
from qrun.engine.session import SessionHandle
from qrun.engine.timing import estimate_duration
from qrun.engine.work import DEFAULT_PRECISION, DEFAULT_SHOTS, JobOptions, Work
from qrun.errors import (
    BackendError,
    JobError,
    PricingPlanError,
    QrunError,
    SessionClosedError,
    SessionError,
)
from qrun.manifest.duration import DurationError, parse_duration

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from qiskit_ibm_runtime.quantum_program import QuantumProgram

    from qrun.clock import Clock, Timer
    from qrun.engine.backends import BackendSpec
    from qrun.engine.executor import Executor
    from qrun.engine.session import SessionState
    from qrun.engine.work import Outcome, Program, Simulation
    from qrun.manifest.model import ExecutionMode

__all__ = ["DEFAULT_PRECISION", "DEFAULT_SHOTS", "Engine"]


class _Backend:
    """One backend's queue, running set and the session that holds it, if any."""

    def __init__(self, spec: BackendSpec, capacity: int) -> None:
        self.spec = spec
        self.capacity = capacity
        self.waiting: dict[JobHandle, None] = {}  # insertion order = submission order
        self.running: set[JobHandle] = set()
        self.owner: SessionHandle | None = None

    def next_job(self) -> JobHandle | None:
        if self.owner is not None:
            owner = self.owner
            return next((job for job in self.waiting if job.session is owner), None)
        return next(iter(self.waiting), None)


class Engine:
    """Sessions, batches and jobs on simulated backends, following the documented rules."""

    def __init__(
        self,
        clock: Clock | None = None,
        executor: Executor | None = None,
        instances: Iterable[Instance] = (Instance("local"),),
    ) -> None:
        self._own_clock: SystemClock | None = None
        if clock is None:
            # A clock made here is this engine's to stop (its timer thread) on shutdown.
            clock = self._own_clock = SystemClock()
        self.clock: Clock = clock
        self.executor: Executor = executor if executor is not None else ThreadExecutor()
        self.lock = threading.RLock()
        self._modelled = self.clock.modelled
        self._instances = {instance.name: instance for instance in instances}
        self._backends: dict[str, _Backend] = {}
        self._sessions: dict[str, SessionHandle] = {}
        self._jobs: dict[str, JobHandle] = {}
        self._session_jobs: dict[SessionHandle, list[JobHandle]] = {}
        self._local = threading.local()
        #: Told, under the lock, which jobs and sessions changed state (see the module doc).
        self.observer: Callable[[list[JobHandle], list[SessionHandle]], None] | None = None
        self._changed_jobs: dict[JobHandle, None] = {}
        self._changed_sessions: dict[SessionHandle, None] = {}
        # Ended jobs' done callbacks, run by _after outside the lock.
        self._callbacks: list[tuple[Callable[[JobHandle], None], JobHandle]] = []

    @property
    def modelled_time(self) -> bool:
        """Whether jobs last a modelled QPU time (the clock's time is modelled) rather
        than end the moment their computation does."""
        return self._modelled

    # Configuration -------------------------------------------------------------------
    def add_instance(self, instance: Instance) -> Instance:
        """Register (or replace) an instance and its limits."""
        with self.lock:
            self._instances[instance.name] = instance
        return instance

    def add_backend(self, name: str, *, capacity: int | None = None) -> None:
        """Register a backend; ``capacity`` defaults to the CPUs for ``aer``, 1 otherwise."""
        if capacity is not None and capacity < 1:
            raise BackendError(f"backend {name!r}: capacity must be at least 1, got {capacity}")
        spec = backend_spec(name, custom=True)
        with self.lock:
            backend = self._backends.get(name)
            if backend is None:
                self._backends[name] = _Backend(spec, capacity or default_capacity(name))
            elif capacity is not None:
                backend.capacity = capacity

    def capacity(self, name: str) -> int:
        """How many jobs backend ``name`` runs at once."""
        with self.lock:
            return self._backend(name).capacity

    def work(
        self,
        program: Program,
        pubs: Sequence[object],
        *,
        backend: str,
        options: JobOptions,
        simulation: Simulation | None = None,
    ) -> Work:
        """What a job submitted with these arguments computes (see :meth:`submit`)."""
        return replace(_work(program, pubs, backend, options), simulation=simulation)

    def instance(self, name: str) -> Instance:
        """The instance called ``name``."""
        try:
            return self._instances[name]
        except KeyError:
            known = ", ".join(sorted(self._instances)) or "none"
            raise QrunError(f"unknown instance {name!r} (known: {known})") from None

    def backend_spec(self, name: str) -> BackendSpec:
        """What the engine knows about backend ``name`` (created on first use)."""
        with self.lock:
            return self._backend(name).spec

    # Sessions ---------------------------------------------------------------------------
    def open_session(
        self,
        backend: str,
        *,
        instance: str = "local",
        mode: ExecutionMode = "session",
        max_time: float | str | None = None,
    ) -> SessionHandle:
        """Open a session (dedicated access) or a batch on ``backend``."""
        if not backend:
            raise SessionError("a session must be opened on a backend; none was given")
        if mode not in ("session", "batch"):
            raise SessionError(f"mode must be 'session' or 'batch', got {mode!r}")
        limits = self.instance(instance)
        if mode == "session" and not limits.allows_sessions:
            raise PricingPlanError(
                f"instance {limits.name!r} is on the Open Plan, which cannot open sessions; "
                "run the workload in batch mode or job mode instead"
            )
        max_ttl = limits.max_ttl
        if max_time is not None:
            try:
                max_ttl = min(parse_duration(max_time), limits.max_ttl)
            except DurationError as error:
                raise SessionError(f"max_time: {error}") from None
        with self.lock:
            self._backend(backend)
            now = self.clock.now()
            session = SessionHandle(
                self,
                _new_id(),
                backend_name=backend,
                instance=limits,
                mode=mode,
                max_ttl=max_ttl,
                opened=now,
            )
            self._sessions[session.session_id] = session
            session.timers["idle"] = self.clock.call_at(
                now + limits.idle_close, partial(self._on_idle_close, session)
            )
        return session

    def session(self, session_id: str) -> SessionHandle:
        """The session or batch with this id."""
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionError(f"no session with id {session_id!r}") from None

    def sessions(self, *, instance: str | None = None) -> list[SessionHandle]:
        """Every session and batch, in opening order."""
        with self.lock:
            found = list(self._sessions.values())
        return [s for s in found if instance is None or s.instance.name == instance]

    def close_session(self, session: SessionHandle) -> None:
        """Stop accepting jobs; close at once if nothing is queued or running."""
        with self.lock:
            if session.state == "closed":
                return
            self._stop_accepting(session)
            launches = self._close_now(session) if session.outstanding == 0 else []
        self._after(launches)

    def cancel_session(self, session: SessionHandle) -> None:
        """Close now; queued jobs are cancelled, a running job finishes."""
        with self.lock:
            if session.state == "closed":
                return
            self._drop_queued(session, EndReason.SESSION_CANCELLED)
            launches = self._close_now(session)
        self._after(launches)

    def usage(self, session: SessionHandle) -> float:
        """Seconds of use of a session (its active periods) or batch (its jobs' run time)."""
        with self.lock:
            now = self.clock.now()
            if session.mode == "batch":
                return sum(
                    (job.finished if job.finished is not None else now) - job.started
                    for job in self._session_jobs.get(session, ())
                    if job.started is not None
                )
            current = 0.0 if session.active_since is None else now - session.active_since
            return session.active_total + current

    # Jobs ---------------------------------------------------------------------------------
    def submit(
        self,
        program: Program,
        pubs: Sequence[object],
        *,
        backend: str,
        instance: str = "local",
        session_id: str | None = None,
        options: JobOptions | None = None,
        duration: float | None = None,
        place: str | None = None,
        simulation: Simulation | None = None,
    ) -> JobHandle:
        """Queue a job; it starts when the backend's scheduling rules allow.

        ``pubs`` are the PUBs of a ``sampler`` or ``estimator`` job, or the one
        ``QuantumProgram`` of an ``executor`` job; a PUB without shots or precision gets
        them from ``options`` (:meth:`JobOptions.shots`, :meth:`JobOptions.precision`),
        and the job carries ``options.job_tags``. ``place`` names where the executor
        computes it (:attr:`~qrun.engine.work.Work.place`); ``simulation``, how
        (:attr:`~qrun.engine.work.Work.simulation`).
        """
        if duration is not None and not (math.isfinite(duration) and duration >= 0):
            raise QrunError(f"a job's duration must be a non-negative number, got {duration!r}")
        limits = self.instance(instance)
        options = options if options is not None else JobOptions()
        work = _work(program, pubs, backend, options)
        if place is not None or simulation is not None:
            work = replace(work, place=place, simulation=simulation)
        with self.lock:
            queue = self._backend(backend)
            session = None if session_id is None else self.session(session_id)
            if session is not None:
                _check_accepts(session, backend, limits)
            job = JobHandle(
                self,
                _new_id(),
                work,
                instance=limits.name,
                session=session,
                tags=options.job_tags,
                duration=duration,
                created=self.clock.now(),
            )
            self._jobs[job.job_id()] = job
            if session is not None:
                self._session_jobs.setdefault(session, []).append(job)
                session.outstanding += 1
                _cancel_timer(session, "idle")
                _cancel_timer(session, "interactive")
            queue.waiting[job] = None
            launches = self._dispatch(queue)
        self._after(launches)
        return job

    def job(self, job_id: str) -> JobHandle:
        """The job with this id."""
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobError(job_id, "no such job") from None

    def jobs(
        self,
        *,
        instance: str | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        backend: str | None = None,
        pending: bool | None = None,
    ) -> list[JobHandle]:
        """Jobs matching every filter given (all ``tags``), in creation order."""
        with self.lock:
            found = list(self._jobs.values())
        wanted = set(tags or ())
        return [
            job
            for job in found
            if (instance is None or job.instance == instance)
            and (session_id is None or job.session_id == session_id)
            and (backend is None or job.backend_name == backend)
            and wanted.issubset(job.job_tags)
            and (pending is None or pending != job.in_final_state())
        ]

    def cancel_job(self, job: JobHandle) -> None:
        """Cancel a queued or running job; an ended job is left as it is."""
        with self.lock:
            if job.status() in FINAL_STATUSES:
                return
            queue = self._backends[job.backend_name]
            if job.status() == "QUEUED":
                del queue.waiting[job]
            else:
                queue.running.discard(job)
                _cancel(job.finish_timer)
            self._end(job, EndReason.CANCELLED, self.clock.now())
            launches = self._job_left(job.session) + self._dispatch(queue)
        self._after(launches)

    def shutdown(self) -> None:
        """Cancel every timer and stop the executor; the engine takes no more work."""
        with self.lock:
            for session in self._sessions.values():
                for timer in session.timers.values():
                    timer.cancel()
                session.timers.clear()
            for job in self._jobs.values():
                _cancel(job.finish_timer)
        self.executor.shutdown()
        if self._own_clock is not None:
            self._own_clock.close()  # its timer thread would otherwise outlive the engine

    def flush(self) -> None:
        """Report the changes noted so far to :attr:`observer`, under the lock."""
        with self.lock:
            if self.observer is None or not (self._changed_jobs or self._changed_sessions):
                return
            jobs = list(self._changed_jobs)
            sessions = list(self._changed_sessions)
            self._changed_jobs.clear()
            self._changed_sessions.clear()
            self.observer(jobs, sessions)

    # State changes (under the lock): each is noted for the observer ---------------------------
    def _mark_running(self, job: JobHandle, now: float) -> None:
        job.mark_running(now)
        if self.observer is not None:
            self._changed_jobs[job] = None

    def _end(
        self, job: JobHandle, reason: EndReason, now: float, *, message: str | None = None
    ) -> None:
        """End ``job``; its done callbacks run once the operation that ended it has finished."""
        callbacks = job.mark_ended(reason, now, message=message)
        self._callbacks.extend((callback, job) for callback in callbacks)
        if self.observer is not None:
            self._changed_jobs[job] = None

    def _set_state(self, session: SessionHandle, state: SessionState, now: float) -> None:
        if session.set_state(state, now) and self.observer is not None:
            self._changed_sessions[session] = None

    def _stop_accepting(self, session: SessionHandle) -> None:
        session.stop_accepting(self.clock.now())
        if self.observer is not None:
            self._changed_sessions[session] = None

    # Scheduling (under the lock) ----------------------------------------------------------
    def _backend(self, name: str) -> _Backend:
        backend = self._backends.get(name)
        if backend is None:
            if not name:
                raise BackendError("no backend named")
            backend = _Backend(backend_spec(name), default_capacity(name))
            self._backends[name] = backend
        return backend

    def _dispatch(self, queue: _Backend) -> list[JobHandle]:
        started: list[JobHandle] = []
        while len(queue.running) < queue.capacity:
            job = queue.next_job()
            if job is None:
                break
            self._start(queue, job)
            started.append(job)
        return started

    def _start(self, queue: _Backend, job: JobHandle) -> None:
        now = self.clock.now()
        del queue.waiting[job]
        queue.running.add(job)
        self._mark_running(job, now)
        session = job.session
        if session is not None:
            if session.started_at is None:
                session.started_at = now
                session.timers["max"] = self.clock.call_at(
                    now + session.max_ttl, partial(self._on_max_ttl, session)
                )
            if session.state != "active":
                self._set_state(session, "active", now)
                session.activated_at = now
                session.active_since = now
            if session.mode == "session":
                queue.owner = session
            session.last_job_started = now
        if self._modelled:
            seconds = job.duration
            if seconds is None:
                seconds = estimate_duration(job.work, queue.spec)
            job.finish_timer = self.clock.call_at(
                now + seconds, partial(self._on_finish_timer, job)
            )

    def _finish(self, job: JobHandle) -> list[JobHandle]:
        if job.status() != "RUNNING" or job.outcome is None:
            return []
        now = self.clock.now()
        queue = self._backends[job.backend_name]
        queue.running.discard(job)
        if job.outcome.error is None:
            self._end(job, EndReason.COMPLETED, now)
        else:
            self._end(job, EndReason.FAILED, now, message=job.outcome.error)
        if job.session is not None:
            job.session.last_job_completed = now
        return self._job_left(job.session) + self._dispatch(queue)

    def _job_left(self, session: SessionHandle | None) -> list[JobHandle]:
        """A session's job ended: close a drained session, or start its interactive TTL."""
        if session is None:
            return []
        session.outstanding -= 1
        if session.outstanding:
            return []
        now = self.clock.now()
        if session.state == "closed":
            _end_active_period(session, now)
            return []
        if not session.accepting_jobs:
            return self._close_now(session)
        if session.mode == "session" and session.state == "active":
            session.timers["interactive"] = self.clock.call_at(
                now + session.interactive_ttl, partial(self._on_interactive_ttl, session)
            )
        return []

    def _drop_queued(self, session: SessionHandle, reason: EndReason) -> None:
        queue = self._backends[session.backend_name]
        now = self.clock.now()
        for job in [job for job in queue.waiting if job.session is session]:
            del queue.waiting[job]
            self._end(job, reason, now)
            session.outstanding -= 1

    def _close_now(self, session: SessionHandle) -> list[JobHandle]:
        now = self.clock.now()
        self._stop_accepting(session)
        for timer in session.timers.values():
            timer.cancel()
        session.timers.clear()
        self._set_state(session, "closed", now)
        session.closed_at = now
        if session.outstanding == 0:
            _end_active_period(session, now)
        queue = self._backends[session.backend_name]
        if queue.owner is session:
            queue.owner = None
        return self._dispatch(queue)

    # Callbacks (clock and executor threads) -----------------------------------------------
    def _after(self, launches: list[JobHandle]) -> None:
        """Hand started jobs to the executor (outside the lock), then wake waiters."""
        pending: deque[JobHandle] | None = getattr(self._local, "pending", None)
        if pending is not None:  # already launching on this thread: no recursion
            pending.extend(launches)
            return
        pending = self._local.pending = deque(launches)
        try:
            while pending:
                job = pending.popleft()
                if job.status() == "RUNNING":
                    self.executor.start(job.work, partial(self._on_computed, job))
        finally:
            self._local.pending = None
        self.flush()
        self.clock.notify()
        if self._callbacks:
            with self.lock:
                callbacks, self._callbacks = self._callbacks, []
            for callback, job in callbacks:
                try:
                    callback(job)
                except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                    sys.excepthook(*sys.exc_info())

    def _on_computed(self, job: JobHandle, outcome: Outcome) -> None:
        job.outcome = outcome
        job.computed.set()
        if not self._modelled:
            with self.lock:
                launches = self._finish(job)
            self._after(launches)

    def _on_finish_timer(self, job: JobHandle) -> None:
        job.computed.wait()
        with self.lock:
            launches = self._finish(job)
        self._after(launches)

    def _on_interactive_ttl(self, session: SessionHandle) -> None:
        with self.lock:
            session.timers.pop("interactive", None)
            if session.state != "active" or session.outstanding or not session.accepting_jobs:
                return
            now = self.clock.now()
            self._set_state(session, "inactive", now)
            _end_active_period(session, now)
            queue = self._backends[session.backend_name]
            if queue.owner is session:
                queue.owner = None
            launches = self._dispatch(queue)
        self._after(launches)

    def _on_max_ttl(self, session: SessionHandle) -> None:
        with self.lock:
            session.timers.pop("max", None)
            if session.state == "closed":
                return
            self._drop_queued(session, EndReason.MAX_TTL)
            launches = self._close_now(session)
        self._after(launches)

    def _on_idle_close(self, session: SessionHandle) -> None:
        with self.lock:
            session.timers.pop("idle", None)
            if session.state != "open" or session in self._session_jobs:
                return
            launches = self._close_now(session)
        self._after(launches)


def _work(program: Program, pubs: Sequence[object], backend: str, options: JobOptions) -> Work:
    """Coerce PUBs now, so a malformed one is refused at submission, not in the queue."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub

    if program not in ("sampler", "estimator", "executor"):
        raise BackendError(f"unknown program {program!r}; use 'sampler', 'estimator' or 'executor'")
    seed = options.seed_simulator
    if program == "executor":
        return Work(program, backend, (_quantum_program(pubs),), seed)
    try:
        if program == "sampler":
            coerced: tuple[SamplerPub, ...] | tuple[EstimatorPub, ...] = tuple(
                SamplerPub.coerce(pub, options.shots()) for pub in pubs
            )
        else:
            coerced = tuple(EstimatorPub.coerce(pub, options.precision()) for pub in pubs)
    except (ValueError, TypeError, IndexError) as error:
        raise BackendError(f"{program} PUBs are invalid: {error}") from None
    return Work(program, backend, coerced, seed)


def _quantum_program(inputs: Sequence[object]) -> QuantumProgram:
    from qiskit_ibm_runtime.quantum_program import QuantumProgram

    if len(inputs) != 1 or not isinstance(inputs[0], QuantumProgram):
        raise BackendError("an executor job takes exactly one QuantumProgram")
    program: QuantumProgram = inputs[0]
    return program


def _check_accepts(session: SessionHandle, backend: str, instance: Instance) -> None:
    if not session.accepting_jobs:
        raise SessionClosedError(
            f"session {session.session_id} no longer accepts jobs ({session.status()}); "
            "open a new session to submit more"
        )
    if session.backend_name != backend:
        raise SessionError(
            f"session {session.session_id} runs on {session.backend_name!r}, not {backend!r}"
        )
    if session.instance.name != instance.name:
        raise SessionError(
            f"session {session.session_id} belongs to instance {session.instance.name!r}, "
            f"not {instance.name!r}"
        )


def _cancel_timer(session: SessionHandle, name: str) -> None:
    _cancel(session.timers.pop(name, None))


def _cancel(timer: Timer | None) -> None:
    if timer is not None:
        timer.cancel()


def _end_active_period(session: SessionHandle, now: float) -> None:
    if session.active_since is not None:
        session.active_total += now - session.active_since
        session.active_since = None


def _new_id() -> str:
    return uuid.uuid4().hex[:20]
