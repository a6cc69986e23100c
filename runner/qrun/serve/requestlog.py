"""One JSON line per request on the ``qrun.serve.requests`` logger.

Each line has ``method``, ``path`` (without the query), ``status``, ``duration_ms`` (from the
request's arrival to the end of its response body, as the server saw it) and ``instance``
(the ``Service-CRN`` header, or null). Never a header value that authenticates: no token,
no API key, no admin key. ``qrun serve`` writes the lines to stderr; in process they go
wherever the application's logging sends them (nowhere by default).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from qrun.clock import monotonic

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LOGGER", "RequestLog"]

LOGGER = logging.getLogger("qrun.serve.requests")


class RequestLog:
    """ASGI middleware writing one line per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not LOGGER.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = monotonic()
        status = 500

        async def tell(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tell)
        finally:
            instance = None
            for name, value in scope.get("headers", ()):
                if name == b"service-crn":
                    instance = value.decode("latin-1")
            LOGGER.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((monotonic() - started) * 1000, 3),
                        "instance": instance,
                    }
                )
            )
