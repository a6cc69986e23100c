"""Faults a ``qrun serve`` process injects on purpose, so a user can test that their code
survives what IBM's service does now and then. Off unless configured.

Each fault is a mapping, under ``faults:`` in the configuration file or posted to the admin
API (``/admin/v1/faults``), with a ``kind``, an optional ``count`` (how many times it fires;
omitted: every time) and a scope — ``instance`` (a CRN), ``backend``, ``program``; an
omitted scope key matches anything:

- ``http_error`` — answer a request with ``status`` (default 503; 429 or any 5xx) and, if
  given, ``Retry-After: retry_after`` seconds. Scoped also by ``method`` and ``path`` (a
  prefix such as ``/api/v1/jobs``); ``backend`` matches a ``/backends/{name}`` path and
  ``program``/``backend`` are not known for other requests, so leave them out there.
- ``drop_connection`` — close the connection without answering (same scope as above).
- ``fail_job`` — the next submitted jobs in scope run, then fail with ``reason_code``
  (default 1517) and ``reason``.
- ``expire_session`` — sessions opened in scope expire after ``after`` seconds, whatever
  max TTL they asked for (their queued jobs then fail with reason code 1305).
- ``rate_limit`` — at most ``limit`` job submissions per ``window`` seconds (default 60)
  per instance; more get 429 with ``Retry-After`` until the window moves on.
- ``pending_limit`` — at most ``limit`` jobs of an instance queued or running at once;
  more get 429.

:class:`Faults` holds them and decides, request by request, which one fires; what fired
is counted down (and, with ``--data-dir``, kept across restarts).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal, cast, get_args

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["FAULT_KINDS", "Fault", "FaultError", "Faults", "faults_from", "parse_fault"]

FaultKind = Literal[
    "http_error", "drop_connection", "fail_job", "expire_session", "rate_limit", "pending_limit"
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
#: The Runtime API's reason code for a job that failed while it ran.
DEFAULT_REASON_CODE = 1517
_KEYS = {
    "kind",
    "count",
    "instance",
    "backend",
    "program",
    "method",
    "path",
    "status",
    "retry_after",
    "reason_code",
    "reason",
    "after",
    "limit",
    "window",
}


class FaultError(ValueError):
    """A fault description that is not valid; the message names the key."""


@dataclass
class Fault:
    """One configured fault (see the module docstring)."""

    kind: FaultKind
    count: int | None = None
    instance: str | None = None
    backend: str | None = None
    program: str | None = None
    method: str | None = None
    path: str | None = None
    status: int = 503
    retry_after: float | None = None
    reason_code: int = DEFAULT_REASON_CODE
    reason: str = "the job failed on the device (injected fault)"
    after: float = 60.0
    limit: int = 1
    window: float = 60.0
    #: Submission times, for ``rate_limit``.
    recent: list[float] = field(default_factory=list)

    def matches(
        self,
        *,
        instance: str | None = None,
        backend: str | None = None,
        program: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> bool:
        """Whether the fault's scope covers these (a key not given matches a scope key only
        if the fault does not set it)."""
        return (
            (self.count is None or self.count > 0)
            and (self.instance is None or self.instance == instance)
            and (self.backend is None or self.backend == backend)
            and (self.program is None or self.program == program)
            and (self.method is None or (method is not None and self.method == method.upper()))
            and (self.path is None or (path is not None and path.startswith(self.path)))
        )

    def describe(self) -> dict[str, object]:
        """The fault as a JSON document (what the admin API lists and the store keeps)."""
        document = asdict(self)
        document.pop("recent")
        return document


def _number(value: object, key: str, *, whole: bool = False, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FaultError(f"{key}: expected a number")
    if whole and not isinstance(value, int):
        raise FaultError(f"{key}: expected a whole number")
    if value < 0 or (positive and value == 0):
        raise FaultError(f"{key}: expected a {'positive' if positive else 'non-negative'} number")
    return float(value)


def _text(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FaultError(f"{key}: expected a non-empty string")
    return value


def parse_fault(document: object) -> Fault:
    """A fault from its JSON/YAML mapping; :class:`FaultError` names what is wrong."""
    if not isinstance(document, dict):
        raise FaultError("expected a mapping with a 'kind'")
    unknown = set(document) - _KEYS
    if unknown:
        raise FaultError(f"unknown keys {sorted(str(key) for key in unknown)}")
    kind = document.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"kind: expected one of {list(FAULT_KINDS)}")
    fault = Fault(cast("FaultKind", kind))
    if document.get("count") is not None:
        fault.count = int(_number(document["count"], "count", whole=True, positive=True))
    for key in ("instance", "backend", "program", "path", "reason"):
        value = _text(document.get(key), key)
        if value is not None:
            setattr(fault, key, value)
    method = _text(document.get("method"), "method")
    fault.method = None if method is None else method.upper()
    if "status" in document:
        status = int(_number(document["status"], "status", whole=True))
        if status != 429 and not 500 <= status <= 599:
            raise FaultError("status: expected 429 or a 5xx status")
        fault.status = status
    if document.get("retry_after") is not None:
        fault.retry_after = _number(document["retry_after"], "retry_after")
    if "reason_code" in document:
        fault.reason_code = int(_number(document["reason_code"], "reason_code", whole=True))
    if "after" in document:
        fault.after = _number(document["after"], "after")
    if "limit" in document:
        fault.limit = int(_number(document["limit"], "limit", whole=True))
    if "window" in document:
        fault.window = _number(document["window"], "window", positive=True)
    if kind in ("rate_limit", "pending_limit") and "limit" not in document:
        raise FaultError(f"limit: a {kind} fault needs one")
    return fault


class Faults:
    """The faults of one service, thread-safe; ``changed`` is told after each one fires."""

    def __init__(
        self, faults: Iterable[Fault] = (), changed: Callable[[list[Fault]], None] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._faults = list(faults)
        self._changed = changed

    def __bool__(self) -> bool:
        return bool(self._faults)

    def all(self) -> list[Fault]:
        """The faults, in the order they were added."""
        with self._lock:
            return list(self._faults)

    def add(self, fault: Fault) -> None:
        """Add a fault."""
        with self._lock:
            self._faults.append(fault)
        self._tell()

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()
        self._tell()

    def take(self, kinds: tuple[str, ...], **scope: str | None) -> Fault | None:
        """The first fault of one of ``kinds`` covering ``scope``, counted down once."""
        with self._lock:
            fault = next(
                (
                    item
                    for item in self._faults
                    if item.kind in kinds and item.count != 0 and item.matches(**scope)
                ),
                None,
            )
            if fault is None:
                return None
            if fault.count is not None:
                fault.count -= 1
        self._tell()
        return fault

    def limits(self, instance: str) -> list[Fault]:
        """The ``rate_limit`` and ``pending_limit`` faults covering an instance."""
        with self._lock:
            return [
                item
                for item in self._faults
                if item.kind in ("rate_limit", "pending_limit") and item.matches(instance=instance)
            ]

    def admit(self, fault: Fault, now: float) -> float | None:
        """For a ``rate_limit``: record a submission at ``now`` and return None, or the
        seconds until one is allowed again."""
        with self._lock:
            recent = deque(moment for moment in fault.recent if moment > now - fault.window)
            if len(recent) >= fault.limit:
                fault.recent = list(recent)
                return max(0.0, recent[0] + fault.window - now)
            recent.append(now)
            fault.recent = list(recent)
            return None

    def _tell(self) -> None:
        if self._changed is not None:
            self._changed(self.all())


def faults_from(documents: Iterable[Mapping[str, object]]) -> list[Fault]:
    """Faults as kept by :meth:`Fault.describe`."""
    return [parse_fault(dict(document)) for document in documents]
