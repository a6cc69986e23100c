"""The shipped OpenAPI description, the routes, health and the request log."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.routing import Route

from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from qrun.serve.app import openapi
from qrun.serve.requestlog import LOGGER
from tests.serve_support import CONFIG, Api

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        yield server.url


class TestDescription:
    """If a route is added or removed, the description must say so (and vice versa)."""

    def test_routes_and_description_agree(self) -> None:
        app = create_app(CONFIG)
        served = {
            (route.path, method.lower())
            for route in app.routes
            if isinstance(route, Route)
            for method in route.methods or ()
            if method != "HEAD"
        }
        described = {
            (path, method)
            for path, operations in json.loads(openapi())["paths"].items()
            for method in operations
        }
        assert served == described

    def test_is_openapi_3_1_and_served(self, url: str) -> None:
        document = httpx.get(f"{url}/openapi.json").json()
        assert document["openapi"].startswith("3.1")
        assert document == json.loads(openapi())

    def test_every_error_status_uses_the_ibm_error_shape(self) -> None:
        for operations in json.loads(openapi())["paths"].values():
            for operation in operations.values():
                for status, response in operation["responses"].items():
                    if status.startswith(("4", "5")):
                        assert response == {"$ref": "#/components/responses/Error"}


class TestHealth:
    """If the service is up, /health says so without authentication."""

    def test_health(self, url: str) -> None:
        answer = httpx.get(f"{url}/health")
        assert answer.json() == {"status": "ok", "clock": "virtual", "durable": False}


class TestRequestLog:
    """If a request is served, one JSON line records it, without any secret."""

    def test_one_line_per_request_without_tokens(
        self, url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        api = Api(url)
        with caplog.at_level(logging.INFO, logger=LOGGER.name):
            api.get("/jobs/missing")
        lines = [json.loads(record.getMessage()) for record in caplog.records]
        assert len(lines) == 1
        line = lines[0]
        assert {key: line[key] for key in ("method", "path", "status", "instance")} == {
            "method": "GET",
            "path": "/api/v1/jobs/missing",
            "status": 404,
            "instance": api.headers["Service-CRN"],
        }
        assert line["duration_ms"] >= 0
        token = api.headers["Authorization"].removeprefix("Bearer ")
        assert token not in caplog.text
