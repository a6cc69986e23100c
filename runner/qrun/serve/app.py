"""The ``qrun serve`` web application: IAM, instance lookup and the Runtime API.

Paths (all on one port):

- ``POST /identity/token`` — IAM: a form-encoded API key for a bearer token;
- ``POST /search/v3/resources/search``, ``GET /catalog/{plan}`` — the IBM Cloud instance
  lookup the client makes when it starts (``GLOBAL_SEARCH_URL``/``GLOBAL_CATALOG_URL``);
- ``/api/v1/…`` — the Runtime API. Each request needs a bearer token and a ``Service-CRN``
  the token reaches; what it sees is scoped to that instance.
- ``/admin/v1/…`` — the admin API, on a virtual clock only (:mod:`.admin`);
- ``GET /health`` — liveness; ``GET /openapi.json`` — the OpenAPI 3.1 description of all of
  the above, shipped as data beside this module (a test keeps it equal to the routes).

Every request is logged as one JSON line (:mod:`.requestlog`).

Request bodies are JSON whatever their ``Content-Type`` says (the client's headers are not
reliable), limited to ``max_body_bytes``. Errors have IBM's body shape (:mod:`.errors`).
"""

from __future__ import annotations

import json
import secrets
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qrun.clock import SystemClock, VirtualClock
from qrun.engine import Engine, Instance, ThreadExecutor
from qrun.serve import admin
from qrun.serve.auth import TokenIssuer
from qrun.serve.catalog import Catalog
from qrun.serve.errors import ApiError, error_body, error_response
from qrun.serve.ledger import Ledger
from qrun.serve.requestlog import RequestLog
from qrun.serve.runtime import ROUTES
from qrun.serve.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

    from qrun.clock import Clock
    from qrun.serve.config import InstanceConfig, ServeConfig

__all__ = ["STORE_FILE", "ServeState", "create_app", "openapi", "read_body", "read_json"]

#: The SQLite file a service keeps in its ``--data-dir``.
STORE_FILE = "serve.sqlite3"


class ServeState:
    """Everything the handlers share: configuration, catalog, tokens, and the engine.

    The engine's instances are named by CRN. Tokens always follow real time (the client
    checks their expiry against its own clock), whatever clock the engine runs on. On a
    virtual clock the admin API is on, guarded by :attr:`admin_key`.
    """

    def __init__(
        self, config: ServeConfig, engine: Engine | None = None, data_dir: Path | None = None
    ) -> None:
        self.config = config
        self.catalog = Catalog(config.backends)
        self.tokens = TokenIssuer(config, SystemClock().now)
        self.engine = engine if engine is not None else Engine(executor=ThreadExecutor())
        #: The admin API's key; None when the engine runs on the system clock (no admin API).
        self.admin_key: str | None = None
        if isinstance(self.engine.clock, VirtualClock):
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
        self.store = Store(data_dir / STORE_FILE) if data_dir is not None else None
        #: Every job and session, live or (with a store) from an earlier process.
        self.ledger = Ledger(self.engine, self.store)

    def queue_length(self, backend: str) -> int:
        """Jobs waiting or running on a backend."""
        return len(self.engine.jobs(backend=backend, pending=True))

    async def body(self, request: Request) -> dict[str, object]:
        """The request's JSON object, within the configured size limit."""
        return await read_json(request, self.config.max_body_bytes)

    def instance_of(self, request: Request) -> InstanceConfig:
        """The instance a Runtime request acts for; 401/403 when it may not."""
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


async def read_json(request: Request, limit: int) -> dict[str, object]:
    """The body as a JSON object, whatever the ``Content-Type``; 400 when it is not one."""
    body = await read_body(request, limit)
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            400, "invalid_json", f"The request body is not valid JSON: {error}"
        ) from error
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return document


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


async def _identity_token(request: Request) -> Response:
    state = _state(request)
    body = (await read_body(request, state.config.max_body_bytes)).decode("utf-8", "replace")
    form = {key: values[0] for key, values in parse_qs(body).items()}
    if form.get("grant_type") != "urn:ibm:params:oauth:grant-type:apikey" or "apikey" not in form:
        raise ApiError(400, "BXNIM0109E", "Expected grant_type=…:apikey and an apikey field.")
    return JSONResponse(state.tokens.issue(form["apikey"]))


async def _search(request: Request) -> Response:
    state = _state(request)
    grant = state.tokens.check(request.headers.get("authorization"))
    await read_json(request, state.config.max_body_bytes)
    items = [
        {
            "crn": item.crn,
            "name": item.name,
            "service_plan_unique_id": f"qrun-{item.plan}",
            "doc": {"extensions": {"virtual_private_endpoints": {}}},
            "tags": [],
        }
        for item in state.config.instances
        if item.crn in grant.crns
    ]
    return JSONResponse({"items": items, "search_cursor": None, "limit": len(items)})


async def _catalog_plan(request: Request) -> Response:
    plan = str(request.path_params["plan"]).removeprefix("qrun-")
    pricing = "free" if plan == "open" else "paid"
    return JSONResponse(
        {"overview_ui": {"en": {"display_name": plan}}, "metadata": {"pricing": {"type": pricing}}}
    )


def _backend_name(request: Request, state: ServeState) -> str:
    name = str(request.path_params["name"])
    if name not in state.catalog:
        raise ApiError(404, "backend_not_found", f"Backend {name!r} is not served here.")
    return name


async def _backends(request: Request) -> Response:
    state = _state(request)
    state.instance_of(request)
    devices = [state.catalog.device(name, state.queue_length(name)) for name in state.catalog.names]
    return JSONResponse({"devices": devices})


async def _configuration(request: Request) -> Response:
    state = _state(request)
    state.instance_of(request)
    return JSONResponse(state.catalog.configuration(_backend_name(request, state)))


async def _properties(request: Request) -> Response:
    state = _state(request)
    state.instance_of(request)
    return JSONResponse(state.catalog.properties(_backend_name(request, state)))


async def _status(request: Request) -> Response:
    state = _state(request)
    state.instance_of(request)
    name = _backend_name(request, state)
    return JSONResponse(state.catalog.status(name, state.queue_length(name)))


@cache
def openapi() -> str:
    """The OpenAPI 3.1 description of the service, as shipped (JSON text)."""
    return resources.files("qrun.serve").joinpath("openapi.json").read_text(encoding="utf-8")


async def _openapi(_request: Request) -> Response:
    return Response(openapi(), media_type="application/json")


async def _health(request: Request) -> Response:
    state = _state(request)
    virtual = isinstance(state.engine.clock, VirtualClock)
    return JSONResponse(
        {
            "status": "ok",
            "clock": "virtual" if virtual else "system",
            "durable": state.store is not None,
        }
    )


async def _api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = "not_found" if error.status_code == 404 else "http_error"
    return JSONResponse(
        error_body(error.status_code, code, str(error.detail)),
        error.status_code,
        headers=error.headers,
    )


async def _internal_error(_request: Request, error: Exception) -> Response:
    message = f"The service failed on this request ({type(error).__name__}); this is a bug."
    return JSONResponse(error_body(500, "internal_error", message), 500)


def create_app(
    config: ServeConfig,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    data_dir: Path | None = None,
) -> Starlette:
    """The ASGI application serving ``config``; sessions and jobs run on ``engine``
    (by default a new engine on ``clock`` — the system clock unless given — computing on a
    thread pool). With a :class:`~qrun.clock.VirtualClock` the admin API is on. With
    ``data_dir`` every session, job and result is kept there and survives a restart."""
    if engine is not None and clock is not None:
        raise ValueError("give create_app an engine or a clock, not both")
    if engine is None:
        engine = Engine(clock=clock, executor=ThreadExecutor())
    api = "/api/v1"
    app = Starlette(
        routes=[
            Route("/health", _health, methods=["GET"]),
            Route("/openapi.json", _openapi, methods=["GET"]),
            Route("/identity/token", _identity_token, methods=["POST"]),
            Route("/search/v3/resources/search", _search, methods=["POST"]),
            Route("/catalog/{plan}", _catalog_plan, methods=["GET"]),
            Route(f"{api}/backends", _backends, methods=["GET"]),
            Route(f"{api}/backends/{{name}}/configuration", _configuration, methods=["GET"]),
            Route(f"{api}/backends/{{name}}/properties", _properties, methods=["GET"]),
            Route(f"{api}/backends/{{name}}/status", _status, methods=["GET"]),
            *ROUTES,
            *admin.ROUTES,
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        middleware=[Middleware(RequestLog)],
    )
    app.state.serve = ServeState(config, engine, data_dir)
    return app
