"""ASGI middleware that answers Runtime API requests with the HTTP faults configured
(``http_error``, ``drop_connection``; see :mod:`.faults`).

A request is matched by its instance (``Service-CRN``), method and path, and by backend for
``/api/v1/backends/{name}/…``. An ``http_error`` is answered in IBM's error shape, with
``Retry-After`` when the fault gives one. A ``drop_connection`` closes the connection
without a byte of answer, through the ``qrun.drop`` extension the server's protocol puts in
the request's scope (see :mod:`.server`); without that extension (another ASGI server) it
is answered as a 503 instead. With no fault configured a request costs one check.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from qrun.serve.errors import error_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Receive, Scope, Send

    from qrun.serve.state import ServeState

__all__ = ["DROP_EXTENSION", "FaultInjection"]

#: The scope extension that closes the request's connection at once.
DROP_EXTENSION = "qrun.drop"
_API = "/api/v1"


class FaultInjection:
    """Answers a request with a fault when one covers it; otherwise passes it on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(_API):
            await self.app(scope, receive, send)
            return
        state: ServeState = scope["app"].state.serve
        if not state.faults:
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        parts = path.removeprefix(_API).split("/")
        backend = parts[2] if len(parts) > 2 and parts[1] == "backends" else None
        instance = None
        for name, value in scope.get("headers", ()):
            if name == b"service-crn":
                instance = value.decode("latin-1")
        fault = state.faults.take(
            ("http_error", "drop_connection"),
            instance=instance,
            backend=backend,
            method=str(scope["method"]),
            path=path,
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        drop: Callable[[], None] | None = scope.get("extensions", {}).get(DROP_EXTENSION)
        if fault.kind == "drop_connection" and drop is not None:
            drop()
            return
        status = fault.status if fault.kind == "http_error" else 503
        body = json.dumps(
            error_body(status, "injected_fault", f"Injected fault: {fault.kind} ({status}).")
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if fault.retry_after is not None:
            headers.append((b"retry-after", b"%d" % round(fault.retry_after)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
