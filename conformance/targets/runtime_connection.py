"""What every scenario of the ``runtime`` target shares: the service, its instances, its clock.

A :class:`RuntimeConnection` holds one ``QiskitRuntimeService`` per instance (built on first
use), the instances the account reaches with their plans, ISA copies of the target's small
circuit per backend, and — when the service runs on a virtual clock — an
:class:`AdminApi` client. :func:`start_local_service` runs ``qrun serve`` in this process
on a free loopback port for a run that names no URL.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.error
import urllib.request
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qrun.errors import BackendError, UsageError
from qrun.manifest.model import Service, ServiceChannel
from qrun.providers.runtime import connect_service

from ..target import Unsupported

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from qiskit import QuantumCircuit
    from qiskit_ibm_runtime import IBMBackend, QiskitRuntimeService

__all__ = [
    "ADMIN_KEY_VARIABLE",
    "AdminApi",
    "InstanceInfo",
    "LocalService",
    "RuntimeConnection",
    "admin_key_from_environment",
    "quiet_client",
    "start_local_service",
]

#: The environment variable holding the admin key of a ``qrun serve --virtual-clock``.
ADMIN_KEY_VARIABLE = "QRUN_ADMIN_KEY"


@contextmanager
def quiet_client() -> Iterator[None]:
    """Silence the client's deprecation notices about the V2 primitives, and its notice
    that a token given to it takes precedence over a saved account."""
    logger = logging.getLogger("qiskit_ibm_runtime")
    level = logger.level
    logger.setLevel(max(level, logging.ERROR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class InstanceInfo:
    """An instance the account reaches, as ``QiskitRuntimeService.instances()`` lists it."""

    crn: str
    plan: str  # lower case, e.g. "premium", "open"

    @property
    def allows_sessions(self) -> bool:
        return self.plan != "open"


class AdminApi:
    """The admin API of a ``qrun serve --virtual-clock`` (``/admin/v1``)."""

    def __init__(self, url: str, key: str) -> None:
        self._base = url.rstrip("/") + "/admin/v1"
        self._key = key

    def call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        """One request; raises :class:`BackendError` on any answer but 200."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                document = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise BackendError(
                f"admin API {method} {path}: HTTP {error.code}: {error.read().decode()[:300]}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise BackendError(f"admin API {method} {path}: {error}") from None
        return document if isinstance(document, dict) else {}

    def now(self) -> datetime:
        return _instant(self.call("GET", "/clock")["now"])

    def advance(self, seconds: float) -> datetime:
        return _instant(self.call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def default_duration(self, seconds: float | None) -> None:
        self.call("POST", "/durations", {"default_seconds": seconds})

    @classmethod
    def probe(cls, url: str, key: str | None) -> AdminApi | None:
        """The admin API at ``url`` if it answers to ``key``; None if it is off or absent.

        Raises :class:`UsageError` when it is on but the key is missing or wrong.
        """
        admin = cls(url, key or "")
        try:
            admin.now()
        except BackendError as error:
            if "HTTP 401" in str(error):
                raise UsageError(
                    f"the service at {url} has an admin API (a virtual clock) but refused the "
                    f"key: set {ADMIN_KEY_VARIABLE} to the admin key 'qrun serve' printed"
                ) from None
            return None
        return admin


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise BackendError(f"admin API: expected an ISO-8601 time, got {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class RuntimeConnection:
    """Services per instance, instance plans and limits, circuits per backend."""

    def __init__(
        self,
        *,
        url: str | None,
        channel: ServiceChannel | None,
        instance: str | None,
        other_instance: str | None,
        admin: AdminApi | None,
        token: str | None = None,
    ) -> None:
        self.url = url
        self.channel = channel
        self.admin = admin
        self._token = token
        self._services: dict[str, QiskitRuntimeService] = {}
        first = self._connect(instance)
        listed = [
            InstanceInfo(str(item["crn"]), str(item.get("plan") or "").lower())
            for item in first.instances()
        ]
        sessions = [item.crn for item in listed if item.allows_sessions]
        chosen = instance or (sessions[0] if sessions else first.active_instance())
        if instance:
            self._services[chosen] = first
        if not any(item.crn == chosen for item in listed):
            listed.insert(0, InstanceInfo(chosen, ""))
        self.instances: tuple[InstanceInfo, ...] = tuple(listed)
        self.home = self.info(chosen)
        self.other_instance = other_instance
        self._backends: dict[tuple[str, str], IBMBackend] = {}
        self._circuits: dict[str, QuantumCircuit] = {}
        self._limits: dict[str, tuple[float, float]] = {}
        self._default_duration: float | None = None
        self._cleanups: list[Callable[[], None]] = []

    def info(self, crn: str) -> InstanceInfo:
        return next(item for item in self.instances if item.crn == crn)

    def service(self, crn: str) -> QiskitRuntimeService:
        """The client bound to instance ``crn``."""
        if crn not in self._services:
            self._services[crn] = self._connect(crn)
        return self._services[crn]

    def _connect(self, crn: str | None) -> QiskitRuntimeService:
        settings = Service(channel=self.channel, instance=crn, url=self.url)
        with quiet_client():
            return connect_service(settings, token=self._token)

    def backend(self, crn: str, name: str) -> IBMBackend:
        """Backend ``name`` as instance ``crn`` sees it."""
        key = (crn, name)
        if key not in self._backends:
            self._backends[key] = self.service(crn).backend(name)
        return self._backends[key]

    def circuit(self, backend: IBMBackend) -> QuantumCircuit:
        """One qubit flipped and measured, in the backend's instructions."""
        name = str(backend.name)
        if name not in self._circuits:
            from qiskit import QuantumCircuit, transpile

            circuit = QuantumCircuit(1)
            circuit.x(0)
            circuit.measure_all()
            self._circuits[name] = transpile(circuit, backend, optimization_level=1)
        return self._circuits[name]

    def other_user(self, mine: str) -> str:
        """An instance other than ``mine``, standing in for another user."""
        if self.other_instance and self.other_instance != mine:
            return self.other_instance
        for item in self.instances:
            if item.crn != mine:
                return item.crn
        raise Unsupported("the account reaches a single instance: there is no other user")

    @property
    def multi_user(self) -> bool:
        return len(self.instances) > 1

    @property
    def plans(self) -> bool:
        return any(item.plan == "open" for item in self.instances) and any(
            item.allows_sessions for item in self.instances
        )

    def limits(self, crn: str, backend: str) -> tuple[float, float]:
        """``(interactive TTL, max TTL)`` of a sessions instance, read from a probe session."""
        if crn not in self._limits:
            from qiskit_ibm_runtime import Session

            with quiet_client():
                session = Session(backend=self.backend(crn, backend))
                details = session.details() or {}
                session.cancel()
            interactive = details.get("interactive_timeout")
            longest = details.get("max_time")
            self._limits[crn] = (
                float(interactive) if isinstance(interactive, (int, float)) else -1.0,
                float(longest) if isinstance(longest, (int, float)) else -1.0,
            )
        return self._limits[crn]

    def find_instance(
        self,
        plan: str,
        interactive_ttl: float | None,
        max_ttl: float | None,
        *,
        backend: str,
    ) -> str:
        """An instance on ``plan`` with these limits (``None``: any)."""
        exact = [item for item in self.instances if item.plan == plan]
        similar = [
            item
            for item in self.instances
            if item not in exact and item.allows_sessions == (plan != "open")
        ]
        for item in exact + similar:
            if interactive_ttl is None and max_ttl is None:
                return item.crn
            if not item.allows_sessions:
                continue
            interactive, longest = self.limits(item.crn, backend)
            if (interactive_ttl is None or interactive == interactive_ttl) and (
                max_ttl is None or longest == max_ttl
            ):
                return item.crn
        wanted = ", ".join(
            text
            for text in (
                f"plan {plan}",
                None if interactive_ttl is None else f"interactive TTL {interactive_ttl:g} s",
                None if max_ttl is None else f"max TTL {max_ttl:g} s",
            )
            if text
        )
        raise Unsupported(f"the account reaches no instance with {wanted}")

    def set_default_duration(self, seconds: float | None) -> None:
        """How long the next jobs keep the QPU on a virtual clock (admin API)."""
        if self.admin is not None and seconds != self._default_duration:
            self.admin.default_duration(seconds)
            self._default_duration = seconds

    def on_close(self, callback: Callable[[], None]) -> None:
        self._cleanups.append(callback)

    def close(self) -> None:
        """Leave the service as found (default durations) and stop what was started."""
        try:
            if self.admin is not None and self._default_duration is not None:
                self.admin.default_duration(None)
        finally:
            for callback in reversed(self._cleanups):
                callback()


@dataclass(frozen=True)
class LocalService:
    """A ``qrun serve`` this process started: where it is, its admin key, how to stop it."""

    url: str
    admin_key: str
    home: str  # the CRN of the instance the scenarios act as
    api_key: str  # the loopback key reaching every instance (not a secret)
    stop: Callable[[], None]


def start_local_service() -> LocalService:
    """Run ``qrun serve`` on a virtual clock in this process, on a free loopback port.

    Its instances: ``mine`` (Premium Plan, 60 s interactive TTL, 8 h max TTL), ``other``
    (Premium, standing in for another user), ``open`` (Open Plan) and ``patient``
    (Premium, 2 minutes interactive TTL); its backends ``aer`` and ``fake_manila``.
    """
    try:
        from qrun.serve import Server, create_app
        from qrun.serve.config import DEFAULT_API_KEY, parse_config
    except ImportError as error:
        raise UsageError(
            f"the runtime target needs qrun serve to run without a URL ({error}); install "
            "qiskit-qrun[serve] or give --target-option url=…"
        ) from None
    from qrun.clock import VirtualClock

    prefix = "crn:v1:bluemix:public:quantum-computing:us-east:a/qrun-conformance:"
    instances = {
        "mine": {"plan": "premium"},
        "other": {"plan": "premium"},
        "open": {"plan": "open"},
        "patient": {"plan": "premium", "interactive_ttl": "2m"},
    }
    admin_key = secrets.token_urlsafe(24)
    config = parse_config(
        {
            "instances": {
                name: {"crn": f"{prefix}{name}::", **spec} for name, spec in instances.items()
            },
            "api_keys": {DEFAULT_API_KEY: list(instances)},
            "backends": ["aer", "fake_manila"],
            "admin_key": admin_key,
        }
    )
    server = Server(create_app(config, clock=VirtualClock())).start()
    return LocalService(server.url, admin_key, f"{prefix}mine::", DEFAULT_API_KEY, server.stop)


def admin_key_from_environment() -> str | None:
    """The admin key given in :data:`ADMIN_KEY_VARIABLE`, if any."""
    return os.environ.get(ADMIN_KEY_VARIABLE) or None
