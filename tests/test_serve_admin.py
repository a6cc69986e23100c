"""The admin API of a service on a virtual clock: time, job durations, access."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from tests.serve_support import ADMIN_KEY, CONFIG, Admin, Api

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def url() -> Iterator[str]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        yield server.url


@pytest.fixture
def api(url: str) -> Iterator[Api]:
    client = Api(url)
    yield client
    client.close()


@pytest.fixture
def admin(url: str) -> Iterator[Admin]:
    client = Admin(url)
    yield client
    client.close()


class TestAccess:
    """If the admin API is called without its key, or on the system clock, it refuses."""

    def test_off_on_the_system_clock(self) -> None:
        with Server(create_app(CONFIG)) as server:
            answer = httpx.get(
                f"{server.url}/admin/v1/clock", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
            )
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] == "admin_disabled"

    @pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer wrong-key"}])
    def test_wrong_or_missing_key_is_401(self, url: str, header: dict[str, str]) -> None:
        answer = httpx.post(f"{url}/admin/v1/clock/advance", json={"seconds": 5}, headers=header)
        assert answer.status_code == 401
        assert answer.json()["status_code"] == 401

    def test_an_iam_token_is_not_the_admin_key(self, url: str, api: Api) -> None:
        answer = httpx.get(f"{url}/admin/v1/clock", headers=api.headers)
        assert answer.status_code == 401

    def test_a_drawn_key_when_the_configuration_has_none(self) -> None:
        from dataclasses import replace

        app = create_app(replace(CONFIG, admin_key=None), clock=VirtualClock())
        key = app.state.serve.admin_key
        assert isinstance(key, str)
        assert len(key) >= 16
        with Server(app) as server:
            answer = httpx.get(
                f"{server.url}/admin/v1/clock", headers={"Authorization": f"Bearer {key}"}
            )
        assert answer.status_code == 200


class TestClock:
    """If the clock is advanced, time moves by exactly that much and timers fire."""

    def test_starts_at_the_virtual_epoch_and_advances(self, admin: Admin) -> None:
        assert admin.call("GET", "/clock").json() == {"now": "2026-01-01T00:00:00Z"}
        assert admin.advance(90) == "2026-01-01T00:01:30Z"
        assert admin.call("GET", "/clock").json() == {"now": "2026-01-01T00:01:30Z"}

    def test_a_session_expires_at_its_max_ttl(self, api: Api, admin: Admin) -> None:
        session = api.post("/sessions", {"backend": "aer", "mode": "batch", "max_ttl": 100})
        session_id = session.json()["id"]
        api.submit(session_id=session_id)
        admin.advance(99)
        assert api.get(f"/sessions/{session_id}").json()["state"] != "closed"
        admin.advance(2)
        assert api.get(f"/sessions/{session_id}").json()["state"] == "closed"

    @pytest.mark.parametrize(
        "body", [{"seconds": -1}, {"seconds": "ten"}, {"seconds": True}, {}, [1]]
    )
    def test_bad_seconds_are_400(self, admin: Admin, body: object) -> None:
        answer = admin.call("POST", "/clock/advance", body)
        assert answer.status_code == 400
        assert admin.call("GET", "/clock").json()["now"] == "2026-01-01T00:00:00Z"


class TestDurations:
    """If a duration is set, the job runs for exactly that much virtual time."""

    def test_default_duration_applies_to_the_next_jobs(self, api: Api, admin: Admin) -> None:
        answer = admin.call("POST", "/durations", {"default_seconds": 10})
        assert answer.json() == {"default_seconds": 10}
        job_id = api.submit()
        assert api.status(job_id) == "Running"
        admin.advance(9.5)
        assert api.status(job_id) == "Running"
        admin.advance(0.5)
        assert api.status(job_id) == "Completed"
        assert api.get(f"/jobs/{job_id}/results").json()["__type__"] == "PrimitiveResult"

    def test_a_queued_job_takes_its_own_duration(self, api: Api, admin: Admin) -> None:
        admin.call("POST", "/durations", {"default_seconds": 5})
        first = api.submit("fake_manila")
        second = api.submit("fake_manila")
        assert api.status(second) == "Queued"
        answer = admin.call("POST", f"/jobs/{second}/duration", {"seconds": 100})
        assert answer.json() == {"id": second, "seconds": 100}
        admin.advance(5)
        assert (api.status(first), api.status(second)) == ("Completed", "Running")
        admin.advance(99)
        assert api.status(second) == "Running"
        admin.advance(1)
        assert api.status(second) == "Completed"
        timestamps = api.get(f"/jobs/{second}/metrics").json()["timestamps"]
        assert (timestamps["running"], timestamps["finished"]) == (
            "2026-01-01T00:00:05Z",
            "2026-01-01T00:01:45Z",
        )

    def test_null_default_returns_to_the_estimate(self, api: Api, admin: Admin) -> None:
        admin.call("POST", "/durations", {"default_seconds": 1000})
        assert admin.call("POST", "/durations", {"default_seconds": None}).json() == {
            "default_seconds": None
        }
        job_id = api.submit()
        admin.advance(1)  # a 16-shot job on the ideal device is modelled in milliseconds
        assert api.status(job_id) == "Completed"

    def test_a_started_job_keeps_its_duration(self, api: Api, admin: Admin) -> None:
        job_id = api.submit()
        answer = admin.call("POST", f"/jobs/{job_id}/duration", {"seconds": 3})
        assert answer.status_code == 409
        assert answer.json()["errors"][0]["code"] == "job_not_queued"

    def test_unknown_job_is_404(self, admin: Admin) -> None:
        answer = admin.call("POST", "/jobs/nope/duration", {"seconds": 3})
        assert answer.status_code == 404
