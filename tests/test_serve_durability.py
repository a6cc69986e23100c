"""A service with a data directory: what a later process on the same directory serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from qrun.serve.store import RESTART_REASON, SESSION_RESTART_REASON, Store, StoreError
from tests.serve_support import CONFIG, Admin, Api

if TYPE_CHECKING:
    from pathlib import Path


def _serve(data_dir: Path) -> Server:
    return Server(create_app(CONFIG, clock=VirtualClock(), data_dir=data_dir)).start()


class TestRestart:
    """If the service stops and starts again, nothing finished is lost, nothing hangs."""

    def test_finished_work_survives_and_unfinished_work_fails(self, tmp_path: Path) -> None:
        first = _serve(tmp_path)
        api, admin = Api(first.url), Admin(first.url)
        admin.call("POST", "/durations", {"default_seconds": 10})
        done = api.submit("fake_manila", tags=["keep"])
        admin.advance(10)
        result = api.get(f"/jobs/{done}/results").text
        session = api.post("/sessions", {"backend": "fake_manila", "mode": "dedicated"})
        session_id = session.json()["id"]
        running = api.submit("fake_manila", session_id=session_id)
        queued = api.submit("fake_manila")
        assert (api.status(running), api.status(queued)) == ("Running", "Queued")
        assert api.request("PUT", f"/jobs/{done}/tags", {"tags": ["kept"]}).status_code == 204
        first.stop()  # the engine is never shut down: as good as killed for the store

        second = _serve(tmp_path)
        api = Api(second.url)
        assert api.status(done) == "Completed"
        assert api.get(f"/jobs/{done}/results").text == result
        assert api.get(f"/jobs/{done}").json()["tags"] == ["kept"]
        assert "pubs" in api.get(f"/jobs/{done}").json()["params"]
        for job_id in (running, queued):
            state = api.get(f"/jobs/{job_id}").json()["state"]
            assert state == {"status": "Failed", "reason": RESTART_REASON}
            assert api.get(f"/jobs/{job_id}/results").text == RESTART_REASON
        details = api.get(f"/sessions/{session_id}").json()
        assert (details["state"], details["accepting_jobs"]) == ("closed", False)
        assert api.get("/jobs", pending="true").json() == {"jobs": [], "count": 0}
        assert api.get("/jobs").json()["count"] == 3
        late = api.post(
            "/jobs",
            {
                "program_id": "sampler",
                "backend": "fake_manila",
                "params": {},
                "session_id": session_id,
            },
        )
        assert late.status_code == 409
        assert (
            api.request("PATCH", f"/sessions/{session_id}", {"accepting_jobs": False}).status_code
            == 204
        )
        fresh = api.submit("aer")
        Admin(second.url).advance(1)
        assert api.status(fresh) == "Completed"
        second.stop()

    def test_a_deleted_job_stays_deleted(self, tmp_path: Path) -> None:
        first = _serve(tmp_path)
        api = Api(first.url)
        job_id = api.submit()
        Admin(first.url).advance(1)
        assert api.request("DELETE", f"/jobs/{job_id}").status_code == 204
        assert api.get(f"/jobs/{job_id}").status_code == 404
        first.stop()
        second = _serve(tmp_path)
        assert Api(second.url).get(f"/jobs/{job_id}").status_code == 404
        second.stop()


class TestStore:
    """If the store is recovered, open work is ended once, with its reason."""

    def test_recovery_is_counted_once(self, tmp_path: Path) -> None:
        server = _serve(tmp_path)
        api = Api(server.url)
        api.post("/sessions", {"backend": "aer", "mode": "batch"})
        api.submit("fake_manila", params=None)
        server.stop()
        store = Store(tmp_path / "serve.sqlite3")
        assert store.recover(0.0) == (1, 1)
        assert store.recover(0.0) == (0, 0)
        assert store.sessions()[0].reason == SESSION_RESTART_REASON

    def test_unusable_directory_is_a_clear_error(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        with pytest.raises(StoreError, match="cannot use it as the service's store"):
            Store(blocker / "serve.sqlite3")
