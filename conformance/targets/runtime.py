"""Target ``runtime``: a Qiskit Runtime service driven by the real ``qiskit_ibm_runtime`` client.

Every step is what a user's program does: ``Session``/``Batch`` (also as ``with`` blocks),
``SamplerV2`` with a one-qubit circuit and 16 shots, ``session.status()``, ``details()``,
``close()``, ``cancel()``, ``job.status()``/``result()``, ``service.jobs(session_id=…)`` and
``service.jobs(job_tags=[…])``.

Target options (``qrun conformance --target runtime --target-option KEY=VALUE``, or
``pytest --qrun-target-option KEY=VALUE``; each also read from ``QRUN_RUNTIME_<KEY>``, with
``-`` as ``_``):

- ``url`` — the service (IBM Quantum's or any Runtime-compatible one). Without it the
  target starts ``qrun serve`` on a virtual clock in this process, on a free loopback port,
  with the instances every capability needs (see
  :func:`~qrun.conformance.targets.runtime_connection.start_local_service`).
- ``channel`` — the client's channel (default ``ibm_quantum_platform``).
- ``instance`` — the CRN the scenarios act as (default: the first instance that may open
  sessions).
- ``other-instance`` — the CRN standing in for "another user" (default: any other one).
- ``real-time`` — ``yes``: on a service without a virtual clock, let time pass by waiting
  for real (scenarios take as long as they say; eight hours is eight hours).

Credentials come only from the environment or a saved account: ``QISKIT_IBM_TOKEN`` (or
the account saved with ``QiskitRuntimeService.save_account``), and ``QRUN_ADMIN_KEY`` for
the admin API of ``qrun serve --virtual-clock``. They are never printed.

Capabilities are what the service offers: ``job-list`` always; ``virtual-clock`` and
``job-duration`` when its admin API answers (``virtual-clock`` alone with ``real-time``);
``multi-user`` when the account reaches a second instance; ``plans`` when it reaches an
Open Plan instance and one that may open sessions.

On a virtual clock a job keeps the QPU for the duration the scenario states, or for no
time at all when it states none; waiting for a result moves the clock to the job's end.
Job tags get a per-scenario suffix, so jobs of earlier runs never match, and at the end of
a scenario its sessions are cancelled and its unfinished jobs cancelled, so the next
scenario finds the backend free.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, Literal, cast, get_args

from qrun.errors import QrunError, UsageError
from qrun.manifest.model import ServiceChannel
from qrun.providers.runtime import service_message

from ..target import JobCancelled, JobFailed, Rejected, Unsupported
from .runtime_connection import (
    AdminApi,
    RuntimeConnection,
    admin_key_from_environment,
    quiet_client,
    start_local_service,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from qiskit_ibm_runtime import Batch, RuntimeJobV2, Session

    from ..target import JobState

__all__ = ["OPTIONS", "RuntimeFactory", "RuntimeTarget"]

#: option name -> what it sets.
OPTIONS: Final[dict[str, str]] = {
    "url": "the service's URL (default: start qrun serve in process on a virtual clock)",
    "channel": "the client's channel (default: ibm_quantum_platform)",
    "instance": "the CRN the scenarios act as",
    "other-instance": "the CRN standing in for another user",
    "real-time": "yes: without a virtual clock, let time pass by really waiting",
}
_ENVIRONMENT_PREFIX = "QRUN_RUNTIME_"
_SHOTS = 16
_FINAL: frozenset[str] = frozenset({"DONE", "ERROR", "CANCELLED"})
_STATES: dict[str, JobState] = {
    "INITIALIZING": "QUEUED",
    "VALIDATING": "QUEUED",
    "QUEUED": "QUEUED",
    "RUNNING": "RUNNING",
    "DONE": "DONE",
    "ERROR": "ERROR",
    "CANCELLED": "CANCELLED",
}
#: Longest a result wait may move a virtual clock before giving up (a stuck queue).
_LONGEST_WAIT = 24 * 3600.0
#: Step of a result wait while the job is queued behind work of unknown length.
_QUEUED_STEP = 1.0


def _options(given: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(given) - OPTIONS.keys())
    if unknown:
        known = ", ".join(OPTIONS)
        raise UsageError(f"target runtime: unknown options {unknown}; it takes {known}")
    found = {
        name: value
        for name in OPTIONS
        if (value := os.environ.get(_ENVIRONMENT_PREFIX + name.upper().replace("-", "_")))
    }
    found.update({name: value for name, value in given.items() if value})
    return found


def _yes(text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() in ("1", "yes", "true", "on"):
        return True
    if text.lower() in ("0", "no", "false", "off"):
        return False
    raise UsageError(f"target runtime: real-time={text!r}: expected yes or no")


class RuntimeFactory:
    """Builds one :class:`RuntimeTarget` per scenario over a shared connection."""

    def __init__(self, connection: RuntimeConnection, *, real_time: bool) -> None:
        self.connection = connection
        self.real_time = real_time and connection.admin is None
        found = {"job-list"}
        if connection.admin is not None:
            found |= {"virtual-clock", "job-duration"}
        elif self.real_time:
            found.add("virtual-clock")
        if connection.multi_user:
            found.add("multi-user")
        if connection.plans:
            found.add("plans")
        self.capabilities: frozenset[str] = frozenset(found)

    def __call__(self) -> RuntimeTarget:
        return RuntimeTarget(self.connection, real_time=self.real_time)


class RuntimeTarget:
    """One scenario's sessions and jobs on a Runtime service, through the real client."""

    #: What the target can do at most; a configured run declares what its service offers.
    capabilities: frozenset[str] = frozenset(
        {"virtual-clock", "job-duration", "multi-user", "plans", "job-list"}
    )

    @classmethod
    def configure(
        cls, options: Mapping[str, str], *, cleanup: Callable[[Callable[[], None]], None]
    ) -> RuntimeFactory:
        chosen = _options(options)
        url = chosen.get("url")
        instance = chosen.get("instance")
        token: str | None = None
        if url is None:
            local = start_local_service()
            cleanup(local.stop)
            url = local.url
            admin: AdminApi | None = AdminApi(url, local.admin_key)
            token = local.api_key
            instance = instance or local.home
        else:
            admin = AdminApi.probe(url, admin_key_from_environment())
        channel = chosen.get("channel")
        if channel is not None and channel not in get_args(ServiceChannel):
            known = ", ".join(get_args(ServiceChannel))
            raise UsageError(f"target runtime: channel {channel!r} is not one of {known}")
        try:
            connection = RuntimeConnection(
                url=url,
                channel=cast("ServiceChannel | None", channel),
                instance=instance,
                other_instance=chosen.get("other-instance"),
                admin=admin,
                token=token,
            )
        except QrunError as error:
            raise UsageError(f"target runtime: {error}") from None
        cleanup(connection.close)
        return RuntimeFactory(connection, real_time=_yes(chosen.get("real-time")))

    def __init__(self, connection: RuntimeConnection, *, real_time: bool = False) -> None:
        self._connection = connection
        self._real_time = real_time
        self._instance = connection.home.crn
        self._suffix = secrets.token_hex(4)
        self._refs = itertools.count(1)
        self._sessions: dict[str, Session | Batch] = {}
        self._session_instance: dict[str, str] = {}
        self._jobs: dict[str, RuntimeJobV2] = {}
        self._durations: dict[str, float] = {}

    # --- instances and sessions --------------------------------------------------------

    def use_instance(
        self,
        *,
        plan: str = "premium",
        interactive_ttl: float | None = None,
        max_ttl: float | None = None,
    ) -> None:
        self._instance = self._connection.find_instance(
            plan, interactive_ttl, max_ttl, backend=self._probe_backend()
        )

    def _probe_backend(self) -> str:
        service = self._connection.service(self._instance)
        names = [str(backend.name) for backend in service.backends()]
        if not names:
            raise Unsupported("the service lists no backend")
        return "fake_manila" if "fake_manila" in names else names[0]

    def open_session(
        self,
        backend: str | None,
        *,
        mode: Literal["session", "batch"] = "session",
        max_time: float | str | None = None,
        block: bool = False,
    ) -> str:
        from qiskit_ibm_runtime import Batch, Session
        from qiskit_ibm_runtime.exceptions import IBMError

        kind = Batch if mode == "batch" else Session
        limit = round(max_time) if isinstance(max_time, float) else max_time
        with quiet_client():
            try:
                resolved = (
                    None if backend is None else self._connection.backend(self._instance, backend)
                )
                session = kind(backend=resolved, max_time=limit)
                if block:
                    session.__enter__()
            except (IBMError, ValueError, TypeError) as error:
                raise Rejected(service_message(error)) from error
        ref = str(session.session_id or f"unnamed-{next(self._refs)}")
        self._sessions[ref] = session
        self._session_instance[ref] = self._instance
        return ref

    def leave_block(self, session: str) -> None:
        self._sessions[session].__exit__(None, None, None)

    def close(self, session: str) -> None:
        self._sessions[session].close()

    def cancel(self, session: str) -> None:
        self._sessions[session].cancel()

    def status(self, session: str) -> str | None:
        found: str | None = self._sessions[session].status()
        return found

    def details(self, session: str) -> Mapping[str, object] | None:
        found: Mapping[str, object] | None = self._sessions[session].details()
        return found

    # --- jobs --------------------------------------------------------------------------

    def submit(
        self,
        session: str | None,
        *,
        backend: str | None = None,
        duration: float | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
    ) -> str:
        from qiskit_ibm_runtime import SamplerV2
        from qiskit_ibm_runtime.exceptions import IBMError

        if duration is not None and self._connection.admin is None:
            raise Unsupported("the service has no admin API to set how long a job runs")
        if session is not None:
            mode: object = self._sessions[session]
            target_backend = self._sessions[session].backend()
            resolved = self._connection.backend(self._session_instance[session], target_backend)
        else:
            crn = self._instance if user is None else self._connection.other_user(self._instance)
            resolved = self._connection.backend(crn, str(backend))
            mode = resolved
        self._connection.set_default_duration(duration if duration is not None else 0.0)
        with quiet_client():
            sampler = SamplerV2(mode=mode)
            sampler.options.environment.job_tags = [self._tag(tag) for tag in tags]
            try:
                job = sampler.run([(self._connection.circuit(resolved), None, _SHOTS)])
            except IBMError as error:
                raise Rejected(service_message(error)) from error
        ref = str(job.job_id())
        self._jobs[ref] = job
        self._durations[ref] = duration or 0.0
        return ref

    def _tag(self, tag: str) -> str:
        return f"{tag}.{self._suffix}"

    def job_status(self, job: str) -> JobState:
        return _STATES.get(str(self._jobs[job].status()).upper(), "QUEUED")

    def job_result(self, job: str) -> object:
        from qiskit_ibm_runtime.exceptions import (
            RuntimeInvalidStateError,
            RuntimeJobFailureError,
            RuntimeJobMaxTimeoutError,
        )

        if self._connection.admin is not None:
            self._wait_virtually(job)
        try:
            return self._jobs[job].result()
        except (RuntimeJobFailureError, RuntimeJobMaxTimeoutError) as error:
            raise JobFailed(service_message(error)) from error
        except RuntimeInvalidStateError as error:
            raise JobCancelled(service_message(error)) from error

    def _wait_virtually(self, job: str) -> None:
        """Move the virtual clock until ``job`` has ended: to its end once it runs."""
        moved = 0.0
        while (state := self.job_status(job)) not in _FINAL:
            if moved > _LONGEST_WAIT:
                raise JobFailed(f"job {job} did not end within {_LONGEST_WAIT:g} s of service time")
            step = self._remaining(job) if state == "RUNNING" else _QUEUED_STEP
            self.advance(step)
            moved += step

    def _remaining(self, job: str) -> float:
        """Seconds until a running job ends, from its stated duration and its usage so far."""
        metrics = self._jobs[job].metrics()
        usage = metrics.get("usage") if isinstance(metrics, dict) else None
        used = usage.get("quantum_seconds") if isinstance(usage, dict) else None
        spent = float(used) if isinstance(used, (int, float)) else 0.0
        return max(0.0, self._durations[job] - spent)

    def session_jobs(self, session: str) -> list[str]:
        service = self._connection.service(self._session_instance[session])
        return [str(job.job_id()) for job in service.jobs(session_id=session, limit=None)]

    def jobs_by_tag(self, tag: str) -> list[str]:
        service = self._connection.service(self._instance)
        return [str(job.job_id()) for job in service.jobs(job_tags=[self._tag(tag)], limit=None)]

    # --- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        if self._connection.admin is not None:
            return self._connection.admin.now()
        from qrun.clock import SystemClock

        return datetime.fromtimestamp(SystemClock().now(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        if self._connection.admin is not None:
            self._connection.admin.advance(seconds)
        elif self._real_time:
            from qrun.clock import SystemClock

            SystemClock().wait_for(lambda: False, timeout=seconds)
        else:
            raise Unsupported("the service's clock cannot be moved (no admin API)")

    def teardown(self) -> None:
        """Cancel what the scenario left running, so the next one finds the backend free."""
        from qiskit_ibm_runtime.exceptions import IBMError

        for job in self._jobs.values():
            try:
                if str(job.status()).upper() not in _FINAL:
                    job.cancel()
            except IBMError:
                pass
        for session in self._sessions.values():
            with contextlib.suppress(IBMError):
                session.cancel()
