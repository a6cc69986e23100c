"""Run the service with uvicorn: in the foreground (``qrun serve``) or on a thread (tests).

The listening socket is bound and listening before uvicorn starts, so ``port=0`` picks a
free port, :attr:`Server.url` is known at once, and a client may connect as soon as it is.
Each connection's protocol gives the application the ``qrun.drop`` scope extension, which
closes the connection without an answer (the ``drop_connection`` fault,
:mod:`.fault_injection`).
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from qrun.serve.fault_injection import DROP_EXTENSION

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BACKLOG", "Server"]

#: Connections the kernel holds for the server before it accepts them (uvicorn's default).
BACKLOG = 2048


class _Protocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, offering the application a way to drop the connection."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        inner: ASGIApp = self.app  # type: ignore[has-type]

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})[DROP_EXTENSION] = self._drop
            await inner(scope, receive, send)

        self.app = app

    def _drop(self) -> None:
        self.transport.close()
        cycle = getattr(self, "cycle", None)
        if cycle is not None:  # nothing more is to be written: no 500 for an empty answer
            cycle.disconnected = True


class _Uvicorn(uvicorn.Server):
    """uvicorn that tells a waiting thread when start-up has finished (or failed)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class Server:
    """An HTTP server for an ASGI app on ``host:port`` (``port=0``: any free port)."""

    def __init__(
        self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, keep_alive: float = 5.0
    ) -> None:
        # The protocol named, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY)
        # only on connections whose socket says TCP. With it on, an answer's body waits for
        # the client's delayed acknowledgement of its headers, some 40 ms per request.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        # Listening from here on: a client that connects as soon as the URL is printed waits
        # in the backlog until uvicorn accepts, rather than being refused.
        self._socket.listen(BACKLOG)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            http=_Protocol,
            timeout_keep_alive=max(1, round(keep_alive)),
            backlog=BACKLOG,
        )
        self._server = _Uvicorn(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C)."""
        self._server.run(sockets=[self._socket])

    def start(self) -> Server:
        """Serve on a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        self._server.ready.wait()
        if not self._server.started:
            raise RuntimeError("the HTTP server failed to start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
