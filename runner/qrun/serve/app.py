"""The ``qrun serve`` web application: IAM, instance lookup and the Runtime API.

The application assembles the routes of :mod:`.runtime` and :mod:`.admin` with its own
around one :class:`~qrun.serve.state.ServeState`.

Paths (all on one port):

- ``POST /identity/token`` — IAM: a form-encoded API key for a bearer token;
- ``POST /search/v3/resources/search``, ``GET /catalog/{plan}`` — the IBM Cloud instance
  lookup the client makes when it starts (``GLOBAL_SEARCH_URL``/``GLOBAL_CATALOG_URL``);
- ``/api/v1/…`` — the Runtime API. Each request needs a bearer token and a ``Service-CRN``
  the token reaches; what it sees is scoped to that instance.
- ``/admin/v1/…`` — the admin API, on a virtual clock only (:mod:`.admin`);
- ``GET /`` — the Workloads page, and ``GET /workloads/view`` what it shows
  (:mod:`.workloads_page`);
- ``GET /health`` — liveness; ``GET /openapi.json`` — the OpenAPI 3.1 description of all of
  the above, shipped as data beside this module (a test keeps it equal to the routes).

Every request is logged as one JSON line (:mod:`.requestlog`); configured faults answer
before the routes do (:mod:`.fault_injection`).

Request bodies are JSON whatever their ``Content-Type`` says (the client's headers are not
reliable), limited to ``max_body_bytes``. Errors have IBM's body shape (:mod:`.errors`).
"""

from __future__ import annotations

import contextlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qrun.engine import Engine
from qrun.engine.backends import backend_spec
from qrun.errors import QrunError
from qrun.serve.admin import ROUTES as ADMIN_ROUTES
from qrun.serve.errors import ApiError, error_body, error_response
from qrun.serve.fault_injection import FaultInjection
from qrun.serve.fault_routes import ROUTES as FAULT_ROUTES
from qrun.serve.requestlog import RequestLog
from qrun.serve.runtime import ROUTES as RUNTIME_ROUTES
from qrun.serve.state import ServeState, read_body, read_json, serve_state
from qrun.serve.workers import serve_executor
from qrun.serve.workloads_page import ROUTES as PAGE_ROUTES

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

    from qrun.clock import Clock
    from qrun.serve.config import ServeConfig

__all__ = ["create_app", "openapi"]


async def _identity_token(request: Request) -> Response:
    state = serve_state(request)
    body = (await read_body(request, state.config.max_body_bytes)).decode("utf-8", "replace")
    form = {key: values[0] for key, values in parse_qs(body).items()}
    if form.get("grant_type") != "urn:ibm:params:oauth:grant-type:apikey" or "apikey" not in form:
        raise ApiError(400, "BXNIM0109E", "Expected grant_type=…:apikey and an apikey field.")
    return JSONResponse(state.tokens.issue(form["apikey"]))


async def _search(request: Request) -> Response:
    state = serve_state(request)
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
    state = serve_state(request)
    state.instance_of(request)
    devices = [state.catalog.device(name, state.queue_length(name)) for name in state.catalog.names]
    return JSONResponse({"devices": devices})


def _calibrated(request: Request, state: ServeState, name: str) -> None:
    """404 when the request names a calibration the backend does not have."""
    wanted = request.query_params.get("calibration_id")
    if wanted is not None and wanted != state.catalog.calibration_id(name):
        raise ApiError(
            404,
            "calibration_not_found",
            f"Calibration {wanted[:64]!r} was not found for backend {name!r}.",
        )


async def _configuration(request: Request) -> Response:
    state = serve_state(request)
    state.instance_of(request)
    name = _backend_name(request, state)
    _calibrated(request, state, name)
    return JSONResponse(state.catalog.configuration(name))


async def _properties(request: Request) -> Response:
    state = serve_state(request)
    state.instance_of(request)
    name = _backend_name(request, state)
    _calibrated(request, state, name)
    return JSONResponse(state.catalog.properties(name))


async def _status(request: Request) -> Response:
    state = serve_state(request)
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
    state = serve_state(request)
    return JSONResponse(
        {
            "status": "ok",
            "clock": "virtual" if state.engine.clock.modelled else "system",
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
    thread pool of ``config.workers`` threads, held to ``config.timing``). On a clock that
    can be moved by hand (a :class:`~qrun.clock.VirtualClock`) the admin API is on. With
    ``data_dir`` every session, job and result is kept there and survives a restart."""
    if engine is not None and clock is not None:
        raise ValueError("give create_app an engine or a clock, not both")
    if engine is None:
        modelled = clock is not None and clock.modelled
        engine = Engine(
            clock=clock, executor=serve_executor(config, modelled=modelled, processes=False)
        )
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
            *RUNTIME_ROUTES,
            *ADMIN_ROUTES,
            *PAGE_ROUTES,
            *FAULT_ROUTES,
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        middleware=[Middleware(RequestLog), Middleware(FaultInjection)],
    )
    app.state.serve = ServeState(config, engine, data_dir)
    _warm(config)
    return app


def _warm(config: ServeConfig) -> None:
    """Load what every submission reads of its backend (the device's target, for the
    job's estimated duration) now, not on the event loop when the first job arrives."""
    for name in config.backends:
        with contextlib.suppress(QrunError):
            _ = backend_spec(name).target
