"""The Workloads page of ``qrun serve``, in a real browser, under a virtual clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from qrun.clock import VirtualClock
from qrun.serve import Server, create_app, workloads_page
from tests.browser_support import browser, page, screenshot
from tests.serve_support import ADMIN_KEY, CONFIG, OPEN, PREMIUM, Admin, Api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Page

__all__ = ["browser", "page"]  # fixtures used here

JOB_SECONDS = 10
QPU = "fake_manila"  # runs one job at a time, as a QPU does
INTERACTIVE_TTL = 60  # the configuration's default


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
    answer = client.call("POST", "/durations", {"default_seconds": JOB_SECONDS})
    assert answer.status_code == 200, answer.text
    yield client
    client.close()


def open_session(api: Api, mode: str = "dedicated") -> str:
    answer = api.post("/sessions", {"backend": QPU, "mode": mode})
    assert answer.status_code == 200, answer.text
    session_id: str = answer.json()["id"]
    return session_id


def sign_in(page: Page, url: str, key: str = "key", crn: str = PREMIUM) -> None:
    page.goto(f"{url}/?poll=150")
    page.fill("#apikey", key)
    page.click("#signin-button")
    page.wait_for_selector("#service-time")
    page.select_option("#instance", crn)


def job_status(page: Page, job_id: str) -> object:
    return page.locator(f'tr[data-job="{job_id}"] td.job-status').first


def lane(page: Page, session_id: str, inner: str) -> object:
    return page.locator(f'g[class~="lane-{session_id}"] {inner}')


class TestAccess:
    """If a request for the page's data lacks a valid token for the instance, it is refused;
    the page itself holds no data, no token and no admin key."""

    def test_view_needs_a_token(self, url: str) -> None:
        assert httpx.get(f"{url}/workloads/view").status_code == 401

    def test_view_needs_an_instance_the_token_reaches(self, url: str) -> None:
        client = Api(url, key="key-open", crn=OPEN)
        answer = client.http.get(
            "/workloads/view", headers={**client.headers, "Service-CRN": PREMIUM}
        )
        client.close()
        assert answer.status_code == 403

    def test_page_carries_no_secret(self, url: str) -> None:
        answer = httpx.get(f"{url}/")
        assert answer.status_code == 200
        assert ADMIN_KEY not in answer.text
        assert "script-src 'nonce-" in answer.headers["content-security-policy"]


class TestFiltersAndDetail:
    """If the view is filtered or a job is chosen, only what matches is listed."""

    def test_filters(self, api: Api, admin: Admin) -> None:
        first = api.submit(tags=["alpha"])
        second = api.submit(backend="fake_manila", tags=["beta"])
        admin.advance(JOB_SECONDS)

        def view(**query: str) -> str:
            answer = api.http.get("/workloads/view", headers=api.headers, params=query)
            assert answer.status_code == 200
            return answer.text

        assert first in view(tag="alpha") and second not in view(tag="alpha")
        assert second in view(backend="fake_manila") and first not in view(backend="fake_manila")
        assert first in view(status="Completed")
        assert first not in view(status="Queued")

    def test_only_the_latest_jobs_are_drawn(
        self, api: Api, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(workloads_page, "MAX_STRAY_JOBS", 2)
        jobs = [api.submit() for _ in range(3)]
        answer = api.http.get("/workloads/view", headers=api.headers)
        assert jobs[0] not in answer.text
        assert jobs[1] in answer.text and jobs[2] in answer.text
        assert "3 of 3 jobs outside sessions (the latest 0 and 2 shown)" in answer.text

    def test_job_detail(self, api: Api, admin: Admin) -> None:
        job = api.submit(tags=["detail"])
        admin.advance(JOB_SECONDS)
        answer = api.http.get("/workloads/view", headers=api.headers, params={"job": job})
        assert 'id="job-detail"' in answer.text
        assert "pub 0: shape (), 1 qubits, 16 shots" in answer.text
        assert "register c: 1: 16" in answer.text


@pytest.mark.slow
class TestInABrowser:
    """If a user signs in, the page shows their instance's workloads as they run."""

    def test_a_session_and_its_jobs_as_they_run(
        self, url: str, api: Api, admin: Admin, page: Page, tmp_path: Path
    ) -> None:
        sign_in(page, url)
        session = open_session(api)
        section = page.locator(f'section[data-session="{session}"]')
        section.wait_for()  # the page found it by itself
        assert "Pending" in section.inner_text()
        first = api.submit(QPU, session_id=session, tags=["vqe"])
        second = api.submit(QPU, session_id=session, tags=["vqe"])
        page.wait_for_function(
            "([a, b]) => document.querySelector(`tr[data-job='${a}'] .job-status`)"
            "?.textContent === 'Running' && document.querySelector("
            "`tr[data-job='${b}'] .job-status`)?.textContent === 'Queued'",
            arg=[first, second],
        )
        assert "In progress, accepting new jobs" in section.inner_text()
        admin.advance(JOB_SECONDS)
        page.wait_for_function(
            "([a, b]) => document.querySelector(`tr[data-job='${a}'] .job-status`)"
            "?.textContent === 'Completed' && document.querySelector("
            "`tr[data-job='${b}'] .job-status`)?.textContent === 'Running'",
            arg=[first, second],
        )
        assert lane(page, session, "g.job-done").count() == 1
        assert lane(page, session, "g.job-running").count() == 1
        page.click(f'tr[data-job="{first}"]')
        page.locator("#job-detail").wait_for()
        assert "Completed" in page.locator("#job-detail").inner_text()
        screenshot(page, tmp_path, "workloads-page.png")

    def test_deactivation_then_close_and_drain(
        self, url: str, api: Api, admin: Admin, page: Page, tmp_path: Path
    ) -> None:
        session = open_session(api)
        api.submit(QPU, session_id=session)
        admin.advance(JOB_SECONDS)  # done; the session waits its interactive TTL
        admin.advance(INTERACTIVE_TTL + 1)  # ... which runs out: deactivated
        last = api.submit(QPU, session_id=session, tags=["last"])  # starts: active again
        admin.advance(2)
        answer = api.request("PATCH", f"/sessions/{session}", {"accepting_jobs": False})
        assert answer.status_code == 204  # closed while its job runs: it drains
        admin.advance(3)
        sign_in(page, url)
        page.locator(f'section[data-session="{session}"]').wait_for()
        assert lane(page, session, "rect.state-deactivated").count() == 1
        assert lane(page, session, "line.interactive-ttl").count() == 1
        assert lane(page, session, "rect.state-draining").count() == 1
        assert (
            "In progress, not accepting new jobs"
            in page.locator(f'section[data-session="{session}"]').inner_text()
        )
        screenshot(page, tmp_path, "draining.png")
        admin.advance(JOB_SECONDS - 5)  # the last job ends: drained, closed
        page.wait_for_function(
            "(id) => document.querySelector(`tr[data-job='${id}'] .job-status`)"
            "?.textContent === 'Completed'",
            arg=last,
        )
        lane(page, session, "rect.state-closed").first.wait_for()
        assert lane(page, session, "rect.state-draining").count() == 1
        assert "Closed" in page.locator(f'section[data-session="{session}"]').inner_text()
        screenshot(page, tmp_path, "workloads-timeline.png")

    def test_another_instance_is_absent(
        self, url: str, api: Api, admin: Admin, page: Page, tmp_path: Path
    ) -> None:
        other = Api(url, key="key-open", crn=OPEN)
        theirs = open_session(other, mode="batch")
        their_job = other.submit(QPU, session_id=theirs)
        other.close()
        mine = open_session(api)
        sign_in(page, url)
        page.locator(f'section[data-session="{mine}"]').wait_for()
        html = page.content()
        assert theirs not in html
        assert their_job not in html
        assert ADMIN_KEY not in html
        assert api.headers["Authorization"].removeprefix("Bearer ") not in html
        screenshot(page, tmp_path, "own-instance.png")

    def test_a_tag_with_markup_is_text(
        self, url: str, api: Api, admin: Admin, page: Page, tmp_path: Path
    ) -> None:
        tag = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
        job = api.submit(tags=[tag])
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        sign_in(page, url)
        cell = page.locator(f'#stray tr[data-job="{job}"] td.tags')
        cell.wait_for()
        assert cell.inner_text() == tag
        assert page.locator("#view img, #view b").count() == 0
        assert page.title() != "pwned"
        assert dialogs == []
        screenshot(page, tmp_path, "escaped-tag.png")
