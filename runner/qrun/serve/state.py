"""What every handler of ``qrun serve`` shares: :class:`ServeState`, and reading a request.

The application (:mod:`.app`) builds one state and keeps it on ``app.state.serve``; the
route modules (:mod:`.runtime`, :mod:`.admin`) find it with :func:`serve_state`. This
module imports none of them, so the routes and the app depend on it, never on each other.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING

import numpy as np

from qrun.clock import SystemClock
from qrun.engine import Engine, Instance, ThreadExecutor
from qrun.serve.api_version import check_api_version
from qrun.serve.auth import TokenIssuer
from qrun.serve.catalog import Catalog
from qrun.serve.errors import ApiError
from qrun.serve.faults import Faults, faults_from
from qrun.serve.ledger import Ledger
from qrun.serve.store import Store
from qrun.serve.workers import backend_simulation

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

    from qrun.serve.config import InstanceConfig, ServeConfig

__all__ = ["STORE_FILE", "ServeState", "read_body", "read_json", "serve_state"]

#: The SQLite file a service keeps in its ``--data-dir``.
STORE_FILE = "serve.sqlite3"


class ServeState:
    """Everything the handlers share: configuration, catalog, tokens, and the engine.

    The engine's instances are named by CRN. Tokens always follow real time (the client
    checks their expiry against its own clock), whatever clock the engine runs on. When the
    engine's clock can be moved by hand (a virtual clock) the admin API is on, guarded by
    :attr:`admin_key`.
    """

    def __init__(
        self, config: ServeConfig, engine: Engine | None = None, data_dir: Path | None = None
    ) -> None:
        self.config = config
        self.catalog = Catalog(config.backends)
        self.tokens = TokenIssuer(config, SystemClock().now)
        self.engine = engine if engine is not None else Engine(executor=ThreadExecutor())
        #: What moves the engine's clock by hand; None when its time moves by itself.
        self.time_control = self.engine.clock.control()
        #: The admin API's key; None when the clock cannot be moved (no admin API).
        self.admin_key: str | None = None
        if self.time_control is not None:
            self.admin_key = config.admin_key or secrets.token_urlsafe(24)
        #: Modelled seconds for jobs submitted from now on (None: estimated per job).
        self.default_duration: float | None = None
        for item in config.instances:
            self.engine.add_instance(
                Instance(
                    item.crn,
                    plan=item.plan,
                    interactive_ttl=item.interactive_ttl,
                    max_ttl=item.max_ttl,
                )
            )
        for name in config.backends:
            self.engine.add_backend(name)
        #: How each backend's jobs compute, built once (see :func:`.workers.backend_simulation`).
        self.simulations = {name: backend_simulation(config, name) for name in config.backends}
        self.store = Store(data_dir / STORE_FILE) if data_dir is not None else None
        #: Every job and session, live or (with a store) from an earlier process.
        self.ledger = Ledger(self.engine, self.store, config.timing)
        kept = self.store.faults() if self.store is not None else None
        store = self.store
        #: Faults injected on purpose (see :mod:`.faults`); kept in the store as they fire.
        self.faults = Faults(
            faults_from(kept)
            if kept is not None
            else faults_from(fault.describe() for fault in config.faults),
            changed=None
            if store is None
            else lambda faults: store.put_faults([fault.describe() for fault in faults]),
        )

    def queue_length(self, backend: str) -> int:
        """Jobs waiting or running on a backend."""
        return len(self.engine.jobs(backend=backend, pending=True))

    async def body(self, request: Request) -> dict[str, object]:
        """The request's JSON object, within the configured size limit."""
        return await read_json(request, self.config.max_body_bytes)

    def instance_of(self, request: Request) -> InstanceConfig:
        """The instance a Runtime request acts for; 401/403 when it may not, 400 for an
        ``IBM-API-Version`` this service does not serve."""
        check_api_version(request.headers.get("ibm-api-version"))
        grant = self.tokens.check(request.headers.get("authorization"))
        crn = request.headers.get("service-crn", "")
        instance = self.config.instance(crn)
        if instance is None or crn not in grant.crns:
            raise ApiError(
                403, "forbidden", f"The access token does not reach the instance {crn!r}."
            )
        return instance


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"The request body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


#: Deepest nesting of arrays and objects a request body may have.
MAX_JSON_DEPTH = 64

#: A JSON string (unrolled: runs of plain characters between escapes, not one alternation
#: per character).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: How each byte outside strings changes the nesting: +1 for ``[``/``{``, -1 for ``]``/``}``.
_NESTING = np.zeros(256, dtype=np.int64)
_NESTING[[0x5B, 0x7B]] = 1
_NESTING[[0x5D, 0x7D]] = -1


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, found without parsing it
    (the parser recurses, so too deep a body must be refused before it is parsed). Exact
    for JSON; for a text that is not JSON, never more than the arrays and objects it opens."""
    bare = _JSON_STRING.sub(b"", body)
    opened = bare.count(b"[") + bare.count(b"{")
    if opened <= 1:
        return opened
    return int(np.cumsum(_NESTING[np.frombuffer(bare, dtype=np.uint8)]).max(initial=0))


async def read_json(request: Request, limit: int) -> dict[str, object]:
    """The body as a JSON object, whatever the ``Content-Type``; 400 when it is not one."""
    body = await read_body(request, limit)
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError(
            400,
            "invalid_json",
            f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.",
        )
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            400, "invalid_json", f"The request body is not valid JSON: {error}"
        ) from error
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return document


def serve_state(request: Request) -> ServeState:
    """The state of the application that received ``request``."""
    state: ServeState = request.app.state.serve
    return state
