"""Raw HTTP access to a ``qrun serve`` app for tests where the client is not the point."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import RuntimeEncoder

from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from qrun.serve.config import parse_config

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from qrun.serve.config import ServeConfig

PREMIUM = "crn:v1:test:premium::"
OPEN = "crn:v1:test:open::"
ADMIN_KEY = "admin-secret-for-tests"
CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {"key": ["premium", "open"], "key-open": ["open"]},
        "backends": ["aer", "fake_manila"],
        "max_body_bytes": 65536,
        "admin_key": ADMIN_KEY,
    }
)


def tiny_circuit() -> QuantumCircuit:
    """One qubit flipped and measured: valid on every served backend without transpiling."""
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


def sampler_params(shots: int = 16, circuit: QuantumCircuit | None = None) -> dict[str, object]:
    """Sampler ``params`` as the client's encoder writes them."""
    document = {
        "pubs": [(circuit or tiny_circuit(), None, shots)],
        "options": {},
        "version": 2,
        "support_qiskit": True,
    }
    params: dict[str, object] = json.loads(json.dumps(document, cls=RuntimeEncoder))
    return params


class Api:
    """An authenticated raw client for one instance of a running service."""

    def __init__(self, url: str, *, key: str = "key", crn: str = PREMIUM) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        answer = self.http.post(
            "/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": key},
        )
        answer.raise_for_status()
        self.headers = {
            "Authorization": f"Bearer {answer.json()['access_token']}",
            "Service-CRN": crn,
        }

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(f"/api/v1{path}", headers=self.headers, params=params)

    def post(
        self, path: str, body: object = None, *, content: bytes | None = None
    ) -> httpx.Response:
        if content is None:
            content = json.dumps(body if body is not None else {}).encode()
        return self.http.post(f"/api/v1{path}", headers=self.headers, content=content)

    def request(self, method: str, path: str, body: object = None) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        return self.http.request(method, f"/api/v1{path}", headers=self.headers, content=content)

    def submit(
        self,
        backend: str = "aer",
        *,
        session_id: str | None = None,
        tags: list[str] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> str:
        body: dict[str, object] = {
            "program_id": "sampler",
            "backend": backend,
            "params": dict(params) if params is not None else sampler_params(),
        }
        if session_id is not None:
            body["session_id"] = session_id
        if tags is not None:
            body["tags"] = tags
        answer = self.post("/jobs", body)
        assert answer.status_code == 200, answer.text
        job_id: str = answer.json()["id"]
        return job_id

    def status(self, job_id: str) -> str:
        answer = self.get(f"/jobs/{job_id}", exclude_params="true")
        assert answer.status_code == 200, answer.text
        status: str = answer.json()["state"]["status"]
        return status


class Admin:
    """The admin API of a service on a virtual clock."""

    def __init__(self, url: str, key: str = ADMIN_KEY) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}"}

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: object = None) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        return self.http.request(method, f"/admin/v1{path}", headers=self.headers, content=content)

    def advance(self, seconds: float) -> str:
        answer = self.call("POST", "/clock/advance", {"seconds": seconds})
        assert answer.status_code == 200, answer.text
        now: str = answer.json()["now"]
        return now


#: The client's V2 primitives warn that they are deprecated; these tests use them on purpose.
QUIET_CLIENT = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@contextmanager
def served(config: ServeConfig) -> Iterator[str]:
    """A ``qrun serve`` with ``config`` on loopback and a virtual clock; yields its URL."""
    with Server(create_app(config, clock=VirtualClock())) as server:
        yield server.url
