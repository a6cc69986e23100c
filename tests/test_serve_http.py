"""The service as the unmodified qiskit-ibm-runtime client and raw HTTP see it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime.exceptions import IBMInputValueError, IBMNotAuthorizedError

from qrun.client import service
from qrun.serve import Server, create_app
from qrun.serve.auth import TokenIssuer
from qrun.serve.config import parse_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import QiskitRuntimeService
    from starlette.applications import Starlette

CONFIG = parse_config(
    {
        "instances": {
            "alpha": {"crn": "crn:v1:test:alpha::", "plan": "premium"},
            "beta": {"crn": "crn:v1:test:beta::", "plan": "open"},
        },
        "api_keys": {"key-alpha": ["alpha"], "key-beta": ["beta"]},
        "backends": ["aer", "fake_manila"],
        "max_body_bytes": 4096,
    }
)


@pytest.fixture(scope="module")
def app() -> Starlette:
    return create_app(CONFIG)


@pytest.fixture(scope="module")
def url(app: Starlette) -> Iterator[str]:
    with Server(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def alpha(url: str) -> QiskitRuntimeService:
    return service(url, token="key-alpha", instance="crn:v1:test:alpha::")


def _token(url: str, key: str) -> str:
    answer = httpx.post(
        f"{url}/identity/token",
        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": key},
    )
    assert answer.status_code == 200
    token: str = answer.json()["access_token"]
    return token


class TestBackends:
    """If the client asks for backends, it gets usable Qiskit backends."""

    def test_lists_the_configured_backends(self, alpha: QiskitRuntimeService) -> None:
        assert sorted(backend.name for backend in alpha.backends()) == ["aer", "fake_manila"]

    def test_fake_backend_transpiles_to_its_coupling_map(self, alpha: QiskitRuntimeService) -> None:
        backend = alpha.backend("fake_manila")
        circuit = QuantumCircuit(3)
        circuit.h(0)
        circuit.cx(0, 2)
        isa = transpile(circuit, backend, optimization_level=1)
        assert backend.num_qubits == 5
        assert set(isa.count_ops()) <= {"rz", "sx", "x", "cx", "id"}
        for instruction in isa.data:
            if instruction.operation.name == "cx":
                pair = tuple(isa.find_bit(qubit).index for qubit in instruction.qubits)
                assert list(pair) in backend.configuration().coupling_map

    def test_ideal_device_reports_online(self, alpha: QiskitRuntimeService) -> None:
        status = alpha.backend("aer").status()
        assert status.operational
        assert status.pending_jobs == 0

    def test_unknown_backend_is_not_found(self, alpha: QiskitRuntimeService) -> None:
        with pytest.raises(QiskitBackendNotFoundError):
            alpha.backend("ibm_nowhere")


class TestTenancy:
    """If a key does not reach an instance, the client cannot use that instance."""

    def test_foreign_instance_refused_at_init(self, url: str) -> None:
        with pytest.raises(IBMInputValueError, match="does not have access"):
            service(url, token="key-beta", instance="crn:v1:test:alpha::")

    def test_foreign_crn_header_is_forbidden(self, url: str) -> None:
        answer = httpx.get(
            f"{url}/api/v1/backends",
            headers={
                "Authorization": f"Bearer {_token(url, 'key-beta')}",
                "Service-CRN": "crn:v1:test:alpha::",
            },
        )
        assert answer.status_code == 403
        assert "crn:v1:test:alpha::" in answer.json()["errors"][0]["message"]


class TestAuthentication:
    """If a request carries no valid token, the service answers 401."""

    def test_no_token_gives_an_ibm_style_401(self, url: str) -> None:
        answer = httpx.get(f"{url}/api/v1/backends", headers={"Service-CRN": "crn:v1:test:alpha::"})
        body = answer.json()
        assert answer.status_code == 401
        assert body["status_code"] == 401
        assert set(body["errors"][0]) == {"code", "message", "more_info"}
        assert body["trace"]

    def test_unknown_api_key_gets_no_token(self, url: str) -> None:
        answer = httpx.post(
            f"{url}/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "guess"},
        )
        assert answer.status_code == 400

    def test_tampered_token_is_refused(self, url: str) -> None:
        head, payload, signature = _token(url, "key-alpha").split(".")
        answer = httpx.get(
            f"{url}/api/v1/backends",
            headers={
                "Authorization": f"Bearer {head}.{payload}x.{signature}",
                "Service-CRN": "crn:v1:test:alpha::",
            },
        )
        assert answer.status_code == 401

    def test_client_sees_not_authorized_once_its_token_is_void(self) -> None:
        app = create_app(CONFIG)
        with Server(app) as server:
            client = service(server.url, token="key-alpha", instance="crn:v1:test:alpha::")
            backend = client.backend("aer")
            # A new signing secret, as after a restart: every issued token is now void.
            app.state.serve.tokens = TokenIssuer(CONFIG, time.time)
            with pytest.raises(IBMNotAuthorizedError):
                backend.status()


class TestBadRequests:
    """If a request is malformed or too large, the answer is an IBM-style 4xx."""

    def _search(self, url: str, content: bytes) -> httpx.Response:
        return httpx.post(
            f"{url}/search/v3/resources/search",
            content=content,
            headers={"Authorization": f"Bearer {_token(url, 'key-alpha')}"},
        )

    def test_malformed_json_is_400(self, url: str) -> None:
        answer = self._search(url, b'{"query": ')
        assert answer.status_code == 400
        assert "not valid JSON" in answer.json()["errors"][0]["message"]

    def test_deeply_nested_json_is_400_and_the_service_goes_on(self, url: str) -> None:
        for depth in (65, 2000):
            answer = self._search(url, b'{"query": ' + b"[" * depth + b"]" * depth + b"}")
            assert answer.status_code == 400
            assert "deeper than 64 levels" in answer.json()["errors"][0]["message"]
        assert httpx.get(f"{url}/health").status_code == 200

    def test_json_is_read_whatever_the_content_type(self, url: str) -> None:
        answer = self._search(url, b'{"query": "service_name:quantum-computing"}')
        assert answer.status_code == 200
        assert [item["crn"] for item in answer.json()["items"]] == ["crn:v1:test:alpha::"]

    def test_body_over_the_limit_is_413(self, url: str) -> None:
        answer = self._search(url, b'{"query": "' + b"x" * 5000 + b'"}')
        assert answer.status_code == 413
        assert answer.json()["status_code"] == 413

    def test_unknown_path_is_an_ibm_style_404(self, url: str) -> None:
        answer = httpx.get(f"{url}/api/v1/nothing-here")
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] == "not_found"
