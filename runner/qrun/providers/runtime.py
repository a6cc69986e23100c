"""The ``runtime`` provider: ``ibm_*`` and ``least_busy`` backends through qiskit-ibm-runtime.

Credentials come from the saved account or the ``QISKIT_IBM_TOKEN`` environment variable;
qrun passes the client channel, instance and URL, and the token only to the client. A URL
that is not IBM Quantum's is the base of a Runtime-compatible service (``qrun serve``, say):

- the client's URL resolver would rewrite it into an IBM Cloud host name, so qrun gives
  its own (the Runtime API is ``<url>/api/v1``);
- the client also asks IBM Cloud's IAM, Global Search and Global Catalog at start-up, so
  ``IAM_URL``, ``GLOBAL_SEARCH_URL`` and ``GLOBAL_CATALOG_URL`` point at ``<url>``,
  ``<url>/search`` and ``<url>/catalog`` while the client is built (unless already set);
- the client needs a token with a URL: ``QISKIT_IBM_TOKEN``, or else ``qrun serve``'s
  well-known loopback key.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qrun.errors import BackendError, JobCancelledError, JobFailedError, PricingPlanError
from qrun.manifest.model import Service, to_python
from qrun.providers.base import ResolvedBackend
from qrun.providers.hosting import ThreadHosting

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from qiskit.primitives import PrimitiveResult
    from qiskit_ibm_runtime import QiskitRuntimeService

    from qrun.clock import Clock
    from qrun.manifest.model import Backend, ExecutionMode, PrimitiveKind, PrimitiveOptions

__all__ = [
    "RuntimeProvider",
    "connect_service",
    "custom_url_resolver",
    "is_ibm_url",
    "runtime_options",
    "service_message",
]

_IBM_HOSTS = ("quantum.cloud.ibm.com", "cloud.ibm.com", "quantum.ibm.com")


def is_ibm_url(url: str) -> bool:
    """Whether ``url`` is one of IBM Quantum's own services."""
    host = urlsplit(url).hostname or ""
    return any(host == known or host.endswith("." + known) for known in _IBM_HOSTS)


def custom_url_resolver(
    url: str, instance: str, private_endpoint: bool | None, channel: str
) -> str:
    """The API base for a Runtime-compatible service at ``url`` (``…/api/v1``)."""
    del instance, private_endpoint, channel
    base = url.rstrip("/")
    return base if base.endswith("/api/v1") else f"{base}/api/v1"


def runtime_options(options: PrimitiveOptions) -> dict[str, object]:
    """The manifest's primitive options as qiskit-ibm-runtime's primitives take them."""
    chosen = {key: to_python(value) for key, value in options.raw.items()}
    seed = chosen.pop("seed_simulator", None)
    if seed is not None:
        simulator = chosen.setdefault("simulator", {})
        if isinstance(simulator, dict):
            simulator["seed_simulator"] = seed
    if options.job_tags:
        environment = chosen.setdefault("environment", {})
        if isinstance(environment, dict):
            environment["job_tags"] = list(options.job_tags)
    return chosen


class _RuntimeJob:
    """A ``RuntimeJobV2`` whose failures are qrun's job errors."""

    def __init__(self, job: object) -> None:
        self._job = job

    def job_id(self) -> str:
        return str(self._job.job_id())  # type: ignore[attr-defined]

    def status(self) -> str:
        return str(self._job.status())  # type: ignore[attr-defined]

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        from qiskit_ibm_runtime.exceptions import RuntimeInvalidStateError, RuntimeJobFailureError

        try:
            result: PrimitiveResult = self._job.result(timeout=timeout)  # type: ignore[attr-defined]
        except RuntimeJobFailureError as error:
            raise JobFailedError(self.job_id(), str(error)) from error
        except RuntimeInvalidStateError as error:
            raise JobCancelledError(self.job_id(), str(error)) from error
        return result

    def cancel(self) -> None:
        self._job.cancel()  # type: ignore[attr-defined]


class RuntimeChannel:
    """A ``Session``, a ``Batch``, or the backend itself (job mode)."""

    def __init__(
        self, mode: ExecutionMode, target: object, backend: object, service: object = None
    ) -> None:
        self._mode: ExecutionMode = mode
        self._target = target  # what primitives take as ``mode=``
        self._backend = backend
        self._service = service  # QiskitRuntimeService, to list jobs by tag

    @property
    def mode(self) -> ExecutionMode:
        return self._mode

    @property
    def session_id(self) -> str | None:
        if self._mode == "job":
            return None
        found = getattr(self._target, "session_id", None)
        return None if found is None else str(found)

    def status(self) -> str | None:
        if self._mode == "job":
            return None
        found = self._target.status()  # type: ignore[attr-defined]
        return None if found is None else str(found)

    def details(self) -> Mapping[str, object] | None:
        if self._mode == "job":
            return None
        found: Mapping[str, object] | None = self._target.details()  # type: ignore[attr-defined]
        return found

    def state(self) -> str | None:
        found = self.details()
        state = None if found is None else found.get("state")
        return None if state is None else str(state)

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> _RuntimeJob:
        from qiskit_ibm_runtime import EstimatorV2, SamplerV2

        primitive_class = SamplerV2 if kind == "sampler" else EstimatorV2
        primitive = primitive_class(mode=self._target, options=runtime_options(options))
        try:
            return _RuntimeJob(primitive.run(list(pubs)))
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            said = service_message(error)
            raise BackendError(f"the service did not take a job: {said}") from None

    def close(self) -> None:
        if self._mode != "job":
            self._target.close()  # type: ignore[attr-defined]

    def cancel(self) -> None:
        if self._mode != "job":
            self._target.cancel()  # type: ignore[attr-defined]

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        if self._service is None:
            return []
        jobs = self._service.jobs(  # type: ignore[attr-defined]
            job_tags=list(tags), session_id=self.session_id, limit=None
        )
        return [str(job.job_id()) for job in jobs]

    @property
    def hosting(self) -> ThreadHosting:
        """The optimisers of concurrent workloads run on threads here."""
        return ThreadHosting(self)


def service_message(error: BaseException) -> str:
    """What the service said: the messages of an IBM-style error body inside the client's
    exception text (``{"errors": [{"message": …}]}``), or else the whole text."""
    text = str(error)
    start = text.find("{")
    if start >= 0:
        try:
            body, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list):
            said = [
                str(item["message"])
                for item in errors
                if isinstance(item, dict) and "message" in item
            ]
            if said:
                return "; ".join(said)
    return text or type(error).__name__


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set the variables not already set, for the duration of the block only."""
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def connect_service(settings: Service, *, token: str | None = None) -> QiskitRuntimeService:
    """A ``QiskitRuntimeService`` for ``settings`` (see the module docstring for how a URL
    that is not IBM's is reached). ``token`` overrides the environment's; it is meant for
    the key of a service qrun itself started. Raises :class:`BackendError` when the client
    cannot start; the message never carries the token."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    from qrun.client import DEFAULT_API_KEY, client_environment

    arguments: dict[str, object] = {}
    if settings.channel:
        arguments["channel"] = settings.channel
    if settings.instance:
        arguments["instance"] = settings.instance
    token = token or os.environ.get("QISKIT_IBM_TOKEN") or None
    environment: dict[str, str] = {}
    if settings.url and not is_ibm_url(settings.url):
        arguments.setdefault("channel", "ibm_quantum_platform")
        arguments["url"] = settings.url.rstrip("/")
        arguments["url_resolver"] = custom_url_resolver
        arguments["token"] = token or DEFAULT_API_KEY
        environment = client_environment(settings.url)
    elif settings.url and token:
        arguments["url"] = settings.url
        arguments["token"] = token
    try:
        with _environment(environment):
            return QiskitRuntimeService(**arguments)
    except Exception as error:  # noqa: BLE001 - the client raises many kinds
        where = f" at {settings.url}" if settings.url else ""
        raise BackendError(
            f"cannot connect to Qiskit Runtime{where} ({type(error).__name__}: {error}); save "
            "an account with QiskitRuntimeService.save_account() or set QISKIT_IBM_TOKEN"
        ) from None


class RuntimeProvider:
    """IBM Quantum, or any Runtime-compatible service, through ``QiskitRuntimeService``."""

    name = "runtime"

    def __init__(self, settings: Service | None = None) -> None:
        from qrun.clock import SystemClock

        self.service = connect_service(settings or Service())
        self._clock = SystemClock()

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def max_ttl(self) -> None:
        return None  # the service reports it in a session's details once one is open

    @property
    def pricing_plan(self) -> str | None:
        try:
            active = self.service.active_instance()
            plans = {item.get("crn"): item.get("plan") for item in self.service.instances()}
        except Exception:  # noqa: BLE001 - a plan is still made without knowing it
            return None
        plan = plans.get(active)
        return plan.lower() if isinstance(plan, str) else None

    def resolve(self, backend: Backend) -> ResolvedBackend:
        try:
            if backend.kind == "least_busy":
                filters = backend.least_busy
                found = self.service.least_busy(
                    min_num_qubits=filters.min_num_qubits if filters else None,
                    operational=filters.operational if filters else True,
                    simulator=filters.simulator if filters else False,
                )
                chosen_by: str | None = "least_busy"
            else:
                found = self.service.backend(backend.name)
                chosen_by = None
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            raise BackendError(f"backend {backend.name or 'least_busy'}: {error}") from None
        return ResolvedBackend(
            name=str(found.name),
            kind=backend.kind,
            provider=self.name,
            transpile_for=found,
            chosen_by=chosen_by,
            num_qubits=int(found.num_qubits),
        )

    def open(
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> RuntimeChannel:
        from qiskit_ibm_runtime import Batch, Session

        if mode == "job":
            return RuntimeChannel("job", backend.transpile_for, backend.transpile_for, self.service)
        seconds = None if max_time is None else round(max_time)
        opener = Session if mode == "session" else Batch
        try:
            channel = opener(backend=backend.transpile_for, max_time=seconds)
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            said = service_message(error)
            if "plan" in said.lower():
                raise PricingPlanError(f"the service refused a {mode}: {said}") from None
            raise BackendError(f"cannot open a {mode} on {backend.name}: {said}") from None
        return RuntimeChannel(mode, channel, backend.transpile_for, self.service)

    #: Jobs and sessions live at the service: another process finds them by id.
    keeps_jobs = True

    def attach(
        self, backend: ResolvedBackend, mode: ExecutionMode, session_id: str
    ) -> RuntimeChannel | None:
        from qiskit_ibm_runtime import Batch, Session

        opener = Session if mode == "session" else Batch
        try:
            channel = opener.from_id(session_id, self.service)
            details = channel.details() or {}
        except Exception:  # noqa: BLE001 - unknown, or of another kind: not reusable
            return None
        if details.get("state") == "closed" or details.get("accepting_jobs") is False:
            return None
        return RuntimeChannel(mode, channel, backend.transpile_for, self.service)

    def job(self, job_id: str) -> _RuntimeJob:
        try:
            return _RuntimeJob(self.service.job(job_id))
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            raise BackendError(
                f"job {job_id} cannot be found at the service: {service_message(error)}"
            ) from None

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        try:
            jobs = self.service.jobs(job_tags=list(tags), limit=None)
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            said = service_message(error)
            raise BackendError(f"cannot list jobs tagged {list(tags)}: {said}") from None
        return [str(job.job_id()) for job in jobs]

    def shutdown(self) -> None:
        pass
