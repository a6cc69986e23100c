"""Job endpoints beyond submission: tags, deletion, filters, reasons, and bad input."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pytest
from qiskit_ibm_runtime import SamplerV2
from qiskit_ibm_runtime.exceptions import (
    IBMRuntimeError,
    RuntimeJobMaxTimeoutError,
    RuntimeJobNotFound,
)

from qrun.client import service
from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from tests.serve_support import CONFIG, OPEN, PREMIUM, Admin, Api, sampler_params, tiny_circuit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import QiskitRuntimeService


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        yield server.url


@pytest.fixture(scope="module")
def api(url: str) -> Api:
    return Api(url)


@pytest.fixture(scope="module")
def admin(url: str) -> Admin:
    return Admin(url)


@pytest.fixture(scope="module")
def client(url: str) -> QiskitRuntimeService:
    return service(url, token="key", instance=PREMIUM)


class TestTagsAndDeletion:
    """If the client updates tags or deletes a job, the service follows."""

    def test_update_tags_through_the_client(
        self, api: Api, admin: Admin, client: QiskitRuntimeService
    ) -> None:
        job_id = api.submit(tags=["before"])
        admin.advance(1)
        job = client.job(job_id)
        job.update_tags(["after", "again"])
        assert sorted(client.job(job_id).tags) == ["after", "again"]
        assert [j.job_id() for j in client.jobs(job_tags=["after"])] == [job_id]

    def test_bad_tags_are_400(self, api: Api) -> None:
        job_id = api.submit()
        answer = api.request("PUT", f"/jobs/{job_id}/tags", {"tags": "one"})
        assert answer.status_code == 400

    def test_deleted_job_is_not_found_by_the_client(
        self, api: Api, admin: Admin, client: QiskitRuntimeService
    ) -> None:
        job_id = api.submit()
        admin.advance(1)
        client.delete_job(job_id)
        with pytest.raises(RuntimeJobNotFound):
            client.job(job_id)


class TestListing:
    """If jobs are listed by creation time, only those in the window come back."""

    def test_created_after_and_before(self, api: Api, admin: Admin) -> None:
        admin.advance(3600)
        now = admin.call("GET", "/clock").json()["now"]
        first = api.submit(tags=["window"])
        admin.advance(60)
        second = api.submit(tags=["window"])
        after = api.get("/jobs", tags="window", created_after=now, sort="ASC").json()
        assert [job["id"] for job in after["jobs"]] == [first, second]
        later = api.get("/jobs", tags="window", created_after="2026-01-01T01:00:30Z").json()
        assert [job["id"] for job in later["jobs"]] == [second]
        before = api.get("/jobs", tags="window", created_before="2026-01-01T01:00:30Z").json()
        assert [job["id"] for job in before["jobs"]] == [first]

    def test_bad_date_is_400(self, api: Api) -> None:
        assert api.get("/jobs", created_after="yesterday").status_code == 400

    def test_estimated_running_time(self, api: Api, admin: Admin) -> None:
        admin.call("POST", "/durations", {"default_seconds": 42})
        job_id = api.submit()
        admin.call("POST", "/durations", {"default_seconds": None})
        assert api.get(f"/jobs/{job_id}").json()["estimated_running_time_seconds"] == 42
        admin.advance(42)


class TestReasonCodes:
    """If a session's max TTL ends a queued job, the client sees a timeout error (1305)."""

    def test_max_ttl_gives_1305(self, api: Api, admin: Admin, client: QiskitRuntimeService) -> None:
        session_id = api.post(
            "/sessions", {"backend": "fake_manila", "mode": "dedicated", "max_ttl": 10}
        ).json()["id"]
        admin.call("POST", "/durations", {"default_seconds": 20})
        api.submit("fake_manila", session_id=session_id)
        queued = api.submit("fake_manila", session_id=session_id)
        admin.call("POST", "/durations", {"default_seconds": None})
        admin.advance(20)
        state = api.get(f"/jobs/{queued}").json()["state"]
        assert (state["status"], state["reason_code"]) == ("Failed", 1305)
        with pytest.raises(RuntimeJobMaxTimeoutError, match="1305"):
            client.job(queued).result()


class TestBadInput:
    """If a request is wrong, the status is a 4xx and the client raises its matching error."""

    def test_unknown_backend_in_a_job(self, api: Api) -> None:
        body = {"program_id": "sampler", "backend": "nowhere", "params": sampler_params()}
        answer = api.post("/jobs", body)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "backend_not_found"

    def test_huge_job_body_is_413(self, api: Api) -> None:
        answer = api.post("/jobs", content=b'{"params": "' + b"x" * 70_000 + b'"}')
        assert answer.status_code == 413

    def test_malformed_job_body_is_400(self, api: Api) -> None:
        for content in (b"{", b"[]", b"\xff\xfe", b'"text"'):
            assert api.post("/jobs", content=content).status_code == 400

    def test_undecodable_pubs_are_400(self, api: Api) -> None:
        body = {"program_id": "sampler", "backend": "aer", "params": {"pubs": [[{"x": 1}]]}}
        assert api.post("/jobs", body).status_code == 400

    def test_job_of_another_instance_is_404(self, url: str, api: Api) -> None:
        job_id = api.submit()
        other = Api(url, crn=OPEN)
        assert other.get(f"/jobs/{job_id}").status_code == 404
        assert other.post(f"/jobs/{job_id}/cancel").status_code == 404

    def test_submitting_to_a_closed_session_through_the_client(
        self, api: Api, client: QiskitRuntimeService
    ) -> None:
        from qiskit_ibm_runtime import Session

        backend = client.backend("aer")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            session = Session(backend=backend)
            # Closed behind the client's back, as a TTL or another client would.
            api.request("PATCH", f"/sessions/{session.session_id}", {"accepting_jobs": False})
            with pytest.raises(IBMRuntimeError, match="409"):
                SamplerV2(mode=session).run([(tiny_circuit(), None, 8)])
