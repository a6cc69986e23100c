"""Injected faults, met by the unmodified client: it recovers where it would recover from
IBM's service, and raises what it would raise there where it would not."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from qiskit_ibm_runtime import SamplerV2, Session
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (
    IBMRuntimeError,
    RuntimeJobFailureError,
    RuntimeJobMaxTimeoutError,
)

from qrun.client import service
from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from qrun.serve.config import ConfigError, parse_config
from tests.serve_support import (
    ADMIN_KEY,
    OPEN,
    PREMIUM,
    QUIET_CLIENT,
    Admin,
    Api,
    served,
    tiny_circuit,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from qiskit_ibm_runtime import QiskitRuntimeService

CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {"key": ["premium", "open"]},
        "backends": ["aer", "fake_manila"],
        "admin_key": ADMIN_KEY,
    }
)


pytestmark = QUIET_CLIENT


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(CONFIG) as address:
        yield address


@pytest.fixture(scope="module")
def client(url: str) -> QiskitRuntimeService:
    return service(url, token="key", instance=PREMIUM)


@pytest.fixture
def admin(url: str) -> Iterator[Admin]:
    admin = Admin(url)
    yield admin
    admin.call("DELETE", "/faults")
    admin.advance(3600)


def _inject(admin: Admin, **fault: object) -> None:
    answer = admin.call("POST", "/faults", fault)
    assert answer.status_code == 200, answer.text


def _left(admin: Admin) -> list[int | None]:
    return [fault["count"] for fault in admin.call("GET", "/faults").json()["faults"]]


def _run(client: QiskitRuntimeService, backend: str = "aer") -> object:
    return SamplerV2(mode=client.backend(backend)).run([(tiny_circuit(), None, 8)])


class TestHttpErrors:
    """If requests are answered with 5xx, the client retries them, as it does IBM's."""

    def test_submission_recovers_from_two_500s(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        client.backend("aer")  # looked up before the faults
        _inject(admin, kind="http_error", status=500, count=2, method="POST", path="/api/v1/jobs")
        job = _run(client)
        assert _left(admin) == [0]
        admin.advance(60)
        assert job.result()[0].data.c.get_counts() == {"1": 8}  # type: ignore[attr-defined]

    def test_status_recovers_from_a_503_with_retry_after(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        job = _run(client)
        _inject(admin, kind="http_error", status=503, retry_after=1, count=1, path="/api/v1/jobs/")
        admin.advance(60)
        assert job.status() == "DONE"  # type: ignore[attr-defined]
        assert _left(admin) == [0]

    def test_429_reaches_the_user_as_on_ibm(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        client.backend("aer")
        _inject(admin, kind="http_error", status=429, retry_after=7, count=1, path="/api/v1/jobs")
        with pytest.raises(IBMRuntimeError, match="429"):
            _run(client)
        _run(client)  # the fault fired once

    def test_scoped_to_another_instance(self, client: QiskitRuntimeService, admin: Admin) -> None:
        _inject(admin, kind="http_error", status=500, count=5, instance=OPEN)
        _run(client)
        assert _left(admin) == [5]

    def test_retry_after_header_on_the_wire(self, url: str, admin: Admin) -> None:
        _inject(admin, kind="http_error", status=429, retry_after=7, count=1)
        answer = Api(url).get("/jobs")
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "7")
        assert answer.json()["errors"][0]["code"] == "injected_fault"


class TestDroppedConnections:
    """If a connection is dropped, the client retries what is safe to retry (GET), as it
    would against IBM's service, and reports the rest."""

    def test_a_read_recovers(self, client: QiskitRuntimeService, admin: Admin) -> None:
        job = _run(client)
        admin.advance(60)
        _inject(admin, kind="drop_connection", count=1, method="GET", path="/api/v1/jobs/")
        assert client.job(job.job_id()).status() == "DONE"  # type: ignore[attr-defined]
        assert _left(admin) == [0]

    def test_a_submission_is_not_retried(self, client: QiskitRuntimeService, admin: Admin) -> None:
        client.backend("aer")
        _inject(admin, kind="drop_connection", count=1, method="POST", path="/api/v1/jobs")
        with pytest.raises((IBMRuntimeError, RequestsApiError)):
            _run(client)
        _run(client)


class TestFailedJobs:
    """If a job fails with a reason code, the client raises its failure with the reason."""

    def test_fail_job_with_a_reason_code(
        self, url: str, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        _inject(
            admin,
            kind="fail_job",
            count=1,
            backend="fake_manila",
            reason_code=1517,
            reason="Error in job execution (injected)",
        )
        spared = _run(client, "aer")
        job = _run(client, "fake_manila")
        admin.advance(600)
        with pytest.raises(RuntimeJobFailureError, match="injected"):
            job.result()  # type: ignore[attr-defined]
        state = Api(url).get(f"/jobs/{job.job_id()}").json()["state"]  # type: ignore[attr-defined]
        assert (state["status"], state["reason_code"]) == ("Failed", 1517)
        assert spared.status() == "DONE"  # type: ignore[attr-defined]


class TestExpiredSessions:
    """If a session expires early, its queued jobs fail as at max TTL (1305)."""

    def test_session_expires_early(self, client: QiskitRuntimeService, admin: Admin) -> None:
        _inject(admin, kind="expire_session", count=1, after=30)
        admin.call("POST", "/durations", {"default_seconds": 20})
        try:
            session = Session(backend=client.backend("fake_manila"), max_time="8h")
            sampler = SamplerV2(mode=session)
            first = sampler.run([(tiny_circuit(), None, 8)])
            second = sampler.run([(tiny_circuit(), None, 8)])
            third = sampler.run([(tiny_circuit(), None, 8)])
        finally:
            admin.call("POST", "/durations", {"default_seconds": None})
        admin.advance(60)
        assert session.details()["max_time"] == 30  # type: ignore[index]
        assert [first.status(), second.status()] == ["DONE", "DONE"]
        with pytest.raises(RuntimeJobMaxTimeoutError):
            third.result()


class TestLimits:
    """If IBM's submission rate or pending-job limit is reached, jobs get 429 until it clears."""

    def test_rate_limit(self, client: QiskitRuntimeService, admin: Admin) -> None:
        _inject(admin, kind="rate_limit", limit=2, window=60)
        _run(client)
        _run(client)
        with pytest.raises(IBMRuntimeError, match="429"):
            _run(client)
        admin.advance(61)
        _run(client)

    def test_pending_limit(self, client: QiskitRuntimeService, admin: Admin) -> None:
        admin.advance(3600)
        _inject(admin, kind="pending_limit", limit=1)
        admin.call("POST", "/durations", {"default_seconds": 10})
        try:
            _run(client)
            with pytest.raises(IBMRuntimeError, match="429"):
                _run(client)
        finally:
            admin.call("POST", "/durations", {"default_seconds": None})
        admin.advance(10)
        _run(client)


class TestConfiguration:
    """If faults come from the configuration, they fire from start-up and survive a restart
    with the count they have left; a wrong fault names its key."""

    def test_configured_faults_survive_a_restart(self, tmp_path: Path) -> None:
        config = parse_config(
            {
                "instances": {"premium": {"crn": PREMIUM}},
                "api_keys": {"key": ["premium"]},
                "admin_key": ADMIN_KEY,
                "faults": [{"kind": "http_error", "status": 503, "count": 3}],
            }
        )
        data = tmp_path / "data"
        with Server(create_app(config, clock=VirtualClock(), data_dir=data)) as server:
            assert Api(server.url).get("/jobs").status_code == 503
            assert _left(Admin(server.url)) == [2]
        with Server(create_app(config, clock=VirtualClock(), data_dir=data)) as server:
            assert _left(Admin(server.url)) == [2]

    @pytest.mark.parametrize(
        ("fault", "message"),
        [
            ({"kind": "flood"}, r"\$\.faults\[0\]: kind"),
            ({"kind": "http_error", "status": 404}, r"status: expected 429 or a 5xx"),
            ({"kind": "rate_limit"}, r"limit: a rate_limit fault needs one"),
            ({"kind": "fail_job", "colour": "red"}, r"unknown keys \['colour'\]"),
        ],
    )
    def test_bad_fault_names_its_key(self, fault: dict[str, object], message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            parse_config({"faults": [fault]})

    def test_bad_fault_over_the_admin_api(self, admin: Admin) -> None:
        answer = admin.call("POST", "/faults", {"kind": "http_error", "count": 0})
        assert answer.status_code == 400
        assert "count" in answer.json()["errors"][0]["message"]
