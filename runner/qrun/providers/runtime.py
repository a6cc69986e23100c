"""The ``runtime`` provider: ``ibm_*`` and ``least_busy`` backends through qiskit-ibm-runtime.

Credentials come from the saved account or the ``QISKIT_IBM_*`` environment variables, as
``QiskitRuntimeService`` reads them; qrun passes only channel, instance and URL. A URL
that is not IBM Quantum's is used as the base of a Runtime-compatible service: the
client's URL resolver would otherwise rewrite it into an IBM Cloud host name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qrun.errors import BackendError, JobCancelledError, JobFailedError, PlanError
from qrun.providers.base import ResolvedBackend, ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from qiskit.primitives import PrimitiveResult

    from qrun.clock import Clock
    from qrun.model import JSON, Backend, PrimitiveKind, PrimitiveOptions
    from qrun.providers.base import ChannelMode

__all__ = ["RuntimeProvider", "custom_url_resolver", "runtime_options"]

_IBM_HOSTS = ("quantum.cloud.ibm.com", "cloud.ibm.com", "quantum.ibm.com")


def _is_ibm(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return any(host == known or host.endswith("." + known) for known in _IBM_HOSTS)


def custom_url_resolver(
    url: str, instance: str, private_endpoint: bool | None, channel: str
) -> str:
    """The API base for a Runtime-compatible service at ``url`` (``…/api/v1``)."""
    del instance, private_endpoint, channel
    base = url.rstrip("/")
    return base if base.endswith("/api/v1") else f"{base}/api/v1"


def _plain(value: JSON) -> object:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def runtime_options(options: PrimitiveOptions) -> dict[str, object]:
    """The manifest's primitive options as qiskit-ibm-runtime's primitives take them."""
    chosen = {key: _plain(value) for key, value in options.raw.items()}
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
        self, mode: ChannelMode, target: object, backend: object, service: object = None
    ) -> None:
        self._mode: ChannelMode = mode
        self._target = target  # what primitives take as ``mode=``
        self._backend = backend
        self._service = service  # QiskitRuntimeService, to list jobs by tag

    @property
    def mode(self) -> ChannelMode:
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

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> _RuntimeJob:
        from qiskit_ibm_runtime import EstimatorV2, SamplerV2

        primitive_class = SamplerV2 if kind == "sampler" else EstimatorV2
        primitive = primitive_class(mode=self._target, options=runtime_options(options))
        return _RuntimeJob(primitive.run(list(pubs)))

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


class RuntimeProvider:
    """IBM Quantum, or any Runtime-compatible service, through ``QiskitRuntimeService``."""

    name = "runtime"

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        from qiskit_ibm_runtime import QiskitRuntimeService

        from qrun.clock import SystemClock

        settings = settings or ServiceSettings()
        arguments: dict[str, object] = {}
        if settings.channel:
            arguments["channel"] = settings.channel
        if settings.instance:
            arguments["instance"] = settings.instance
        if settings.url:
            arguments["url"] = settings.url
            if not _is_ibm(settings.url):
                arguments["url_resolver"] = custom_url_resolver
        try:
            self.service = QiskitRuntimeService(**arguments)
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            raise BackendError(
                f"cannot connect to Qiskit Runtime ({type(error).__name__}: {error}); save an "
                "account with QiskitRuntimeService.save_account() or set QISKIT_IBM_TOKEN"
            ) from None
        self._clock = SystemClock()

    @property
    def clock(self) -> Clock:
        return self._clock

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
        self, backend: ResolvedBackend, mode: ChannelMode, max_time: float | None
    ) -> RuntimeChannel:
        from qiskit_ibm_runtime import Batch, Session

        if mode == "job":
            return RuntimeChannel("job", backend.transpile_for, backend.transpile_for, self.service)
        seconds = None if max_time is None else round(max_time)
        opener = Session if mode == "session" else Batch
        try:
            channel = opener(backend=backend.transpile_for, max_time=seconds)
        except Exception as error:  # noqa: BLE001 - the client raises many kinds
            if "plan" in str(error).lower():
                raise PlanError(f"the service refused a {mode}: {error}") from None
            raise BackendError(f"cannot open a {mode} on {backend.name}: {error}") from None
        return RuntimeChannel(mode, channel, backend.transpile_for, self.service)

    def shutdown(self) -> None:
        pass
