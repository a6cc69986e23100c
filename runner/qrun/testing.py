"""A session surface that reads like ``qiskit_ibm_runtime``, over the local engine.

Code written against ``QiskitRuntimeService``, ``Session``, ``Batch``, ``SamplerV2`` and
``EstimatorV2`` runs here by changing imports::

    service = LocalService()
    backend = service.backend("fake_manila")
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    with Session(backend=backend, max_time="25m") as session:
        sampler = SamplerV2()                  # uses the session of the ``with`` block
        result = sampler.run([isa]).result()

Unlike the client's local testing mode, sessions here follow the documented lifecycle
(status, details, TTLs, close and cancel). Nothing imports ``qiskit_ibm_runtime`` unless a
``fake_*`` backend is asked for.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, ClassVar

from qiskit.providers import BackendV2, Options

from qrun.engine import Engine
from qrun.errors import BackendError, QrunError, SessionError
from qrun.manifest.model import JobOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from qiskit.transpiler import Target

    from qrun.engine import JobHandle, Program
    from qrun.manifest.model import ExecutionMode

__all__ = [
    "Batch",
    "EnvironmentOptions",
    "EstimatorOptions",
    "EstimatorV2",
    "LocalBackend",
    "LocalService",
    "SamplerOptions",
    "SamplerV2",
    "Session",
    "SimulatorOptions",
]

_current_session: ContextVar[Session | None] = ContextVar("qrun_local_session", default=None)
_default_service: LocalService | None = None
_default_lock = threading.Lock()


class LocalBackend(BackendV2):  # type: ignore[misc]
    """A backend of the local engine; transpile to it as to any Qiskit backend."""

    def __init__(self, service: LocalService, name: str) -> None:
        super().__init__(name=name, description=f"{name} on the qrun local engine")
        self.service = service
        self._spec = service.engine.backend_spec(name)

    @property
    def target(self) -> Target:
        """The fake backend's target, or an ideal one generous enough for any circuit."""
        return self._spec.target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input: object, **options: object) -> None:
        raise BackendError(
            f"{self.name}: run work through SamplerV2 or EstimatorV2 (job, batch or session "
            "mode), as on Qiskit Runtime"
        )


class LocalService:
    """Like ``QiskitRuntimeService``, over an :class:`~qrun.engine.Engine`."""

    def __init__(self, engine: Engine | None = None, *, instance: str = "local") -> None:
        self.engine = engine if engine is not None else Engine()
        self.instance = instance
        self.engine.instance(instance)  # fail early on an unknown instance
        self._backends: dict[str, LocalBackend] = {}

    def backend(self, name: str) -> LocalBackend:
        """The backend called ``name`` (``aer`` or a ``fake_*`` snapshot)."""
        backend = self._backends.get(name)
        if backend is None:
            backend = self._backends[name] = LocalBackend(self, name)
        return backend

    def backends(self) -> list[LocalBackend]:
        """``aer`` and every fake backend snapshot."""
        from qrun.engine.backends import fake_backend_names

        return [self.backend(name) for name in ("aer", *fake_backend_names())]

    def job(self, job_id: str) -> JobHandle:
        """The job with this id."""
        return self.engine.job(job_id)

    def jobs(
        self,
        *,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        pending: bool | None = None,
        limit: int | None = None,
    ) -> list[JobHandle]:
        """This instance's jobs matching every filter, in creation order (first ``limit``)."""
        found = self.engine.jobs(
            instance=self.instance, session_id=session_id, tags=tags, pending=pending
        )
        return found if limit is None else found[:limit]


def default_service() -> LocalService:
    """The process-wide service used when a backend is named by a string."""
    global _default_service  # noqa: PLW0603 - created once, on first use
    with _default_lock:
        if _default_service is None:
            _default_service = LocalService()
        return _default_service


class Session:
    """Like ``qiskit_ibm_runtime.Session``: dedicated access to one backend."""

    _mode: ClassVar[ExecutionMode] = "session"

    def __init__(
        self,
        backend: LocalBackend | str | None = None,
        max_time: float | str | None = None,
        *,
        service: LocalService | None = None,
    ) -> None:
        if backend is None or backend == "":
            raise SessionError("a session must be opened on a backend; none was given")
        if isinstance(backend, str):
            backend = (service or default_service()).backend(backend)
        self.service = service or backend.service
        self._backend = backend
        self._handle = self.service.engine.open_session(
            backend.name, instance=self.service.instance, mode=self._mode, max_time=max_time
        )
        self._tokens: list[Token[Session | None]] = []

    @property
    def session_id(self) -> str:
        """This session's id."""
        return self._handle.session_id

    def backend(self) -> str:
        """The name of the session's backend."""
        return str(self._backend.name)

    def status(self) -> str:
        """One of the four documented status strings."""
        return self._handle.status()

    def details(self) -> dict[str, object]:
        """The session's details, with the client's keys."""
        return self._handle.details()

    def usage(self) -> float:
        """Seconds of use so far."""
        return self._handle.usage()

    def close(self) -> None:
        """Stop accepting jobs; submitted ones still run, then the session closes."""
        self._handle.close()

    def cancel(self) -> None:
        """Close now and cancel every queued job."""
        self._handle.cancel()

    def __enter__(self) -> Session:
        self._tokens.append(_current_session.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _current_session.reset(self._tokens.pop())
        self.close()

    def submit(self, program: Program, pubs: Sequence[object], options: JobOptions) -> JobHandle:
        """Submit a primitive's job into this session."""
        return self.service.engine.submit(
            program,
            pubs,
            backend=self._backend.name,
            instance=self.service.instance,
            session_id=self.session_id,
            options=options,
        )


class Batch(Session):
    """Like ``qiskit_ibm_runtime.Batch``: jobs queue in order, without dedicated access."""

    _mode: ClassVar[ExecutionMode] = "batch"


@dataclass
class EnvironmentOptions:
    """``options.environment``: tags set on every job the primitive submits."""

    job_tags: list[str] = field(default_factory=list)


@dataclass
class SimulatorOptions:
    """``options.simulator``: the simulator's seed, for reproducible results."""

    seed_simulator: int | None = None


@dataclass
class SamplerOptions:
    """The Sampler options qrun honours."""

    default_shots: int | None = None
    environment: EnvironmentOptions = field(default_factory=EnvironmentOptions)
    simulator: SimulatorOptions = field(default_factory=SimulatorOptions)


@dataclass
class EstimatorOptions:
    """The Estimator options qrun honours."""

    default_precision: float | None = None
    default_shots: int | None = None
    environment: EnvironmentOptions = field(default_factory=EnvironmentOptions)
    simulator: SimulatorOptions = field(default_factory=SimulatorOptions)


def _fill(target: object, values: Mapping[str, object], where: str) -> None:
    """Set ``values`` (nested mappings for nested options) on an options dataclass."""
    known = {f.name for f in fields(target)}  # type: ignore[arg-type]
    for key, value in values.items():
        if key not in known:
            raise QrunError(f"{where}: unknown option {key!r} (known: {', '.join(sorted(known))})")
        current = getattr(target, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise QrunError(f"{where}.{key} must be a mapping, got {value!r}")
            _fill(current, value, f"{where}.{key}")
        else:
            setattr(target, key, value)


def _whole(value: object, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QrunError(f"option {key!r} must be a whole number, got {value!r}")
    return value


def _number(value: object, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise QrunError(f"option {key!r} must be a positive number, got {value!r}")
    return float(value)


def _job_options(options: SamplerOptions | EstimatorOptions) -> JobOptions:
    """The options set on a primitive (as attributes or a mapping), checked and typed."""
    precision = options.default_precision if isinstance(options, EstimatorOptions) else None
    return JobOptions(
        default_shots=_whole(options.default_shots, "default_shots"),
        default_precision=_number(precision, "default_precision"),
        seed_simulator=_whole(options.simulator.seed_simulator, "seed_simulator"),
        job_tags=tuple(str(tag) for tag in options.environment.job_tags),
    )


def _coerced(
    program: Program, pubs: Sequence[object], coerce: Callable[[object], object]
) -> list[object]:
    """``pubs`` given a ``run()`` argument, as the client does before it submits."""
    try:
        return [coerce(pub) for pub in pubs]
    except (ValueError, TypeError, IndexError) as error:
        raise BackendError(f"{program} PUBs are invalid: {error}") from None


class _Primitive:
    program: ClassVar[Program]

    def __init__(self, mode: Session | LocalBackend | None) -> None:
        if mode is None:
            mode = _current_session.get()
        if mode is None:
            raise SessionError(
                "no execution mode: pass mode=Session(...), Batch(...) or a backend, or create "
                "the primitive inside a `with Session(...)` block"
            )
        self.mode = mode

    def _submit(self, pubs: Sequence[object], options: JobOptions) -> JobHandle:
        if isinstance(self.mode, Session):
            return self.mode.submit(self.program, pubs, options)
        service = self.mode.service
        return service.engine.submit(
            self.program, pubs, backend=self.mode.name, instance=service.instance, options=options
        )


class SamplerV2(_Primitive):
    """Like ``qiskit_ibm_runtime.SamplerV2`` in job, batch or session mode."""

    program: ClassVar[Program] = "sampler"

    def __init__(
        self,
        mode: Session | LocalBackend | None = None,
        options: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(mode)
        self.options = SamplerOptions()
        _fill(self.options, options or {}, "options")

    def run(self, pubs: Sequence[object], *, shots: int | None = None) -> JobHandle:
        """Submit one job with ``pubs``; ``shots`` is for every PUB that does not set its
        own (instead of ``options.default_shots``)."""
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        options = _job_options(self.options)
        if shots is not None:
            pubs = _coerced(self.program, pubs, lambda pub: SamplerPub.coerce(pub, shots))
        return self._submit(pubs, options)


class EstimatorV2(_Primitive):
    """Like ``qiskit_ibm_runtime.EstimatorV2`` in job, batch or session mode."""

    program: ClassVar[Program] = "estimator"

    def __init__(
        self,
        mode: Session | LocalBackend | None = None,
        options: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(mode)
        self.options = EstimatorOptions()
        _fill(self.options, options or {}, "options")

    def run(self, pubs: Sequence[object], *, precision: float | None = None) -> JobHandle:
        """Submit one job; ``precision`` is for every PUB that does not set its own
        (instead of the options' ``default_shots`` or ``default_precision``)."""
        from qiskit.primitives.containers.estimator_pub import EstimatorPub

        options = _job_options(self.options)
        if precision is not None:
            wanted = _number(precision, "precision")
            pubs = _coerced(self.program, pubs, lambda pub: EstimatorPub.coerce(pub, wanted))
        return self._submit(pubs, options)
