"""``qrun sessions list`` and ``qrun sessions close`` against ``qrun serve`` on loopback,
whose clock stands still, so that jobs stay queued and sessions stay open."""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.clock import VirtualClock
from qrun.errors import EXIT_OK, EXIT_USAGE, EXIT_USER
from qrun.serve import Server, create_app
from tests.serve_support import CONFIG, PREMIUM, Api

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def api() -> Iterator[Api]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        client = Api(server.url, key="key", crn=PREMIUM)
        try:
            yield client
        finally:
            client.close()


@pytest.fixture(autouse=True)
def _client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _open(api: Api, mode: str = "dedicated", *, jobs: int = 1) -> tuple[str, list[str]]:
    answer = api.post("/sessions", {"backend": "aer", "mode": mode})
    assert answer.status_code == 200, answer.text
    session_id: str = answer.json()["id"]
    return session_id, [api.submit(session_id=session_id) for _ in range(jobs)]


def _details(api: Api, session_id: str) -> dict[str, object]:
    answer = api.get(f"/sessions/{session_id}")
    assert answer.status_code == 200, answer.text
    details: dict[str, object] = answer.json()
    return details


def _sessions(api: Api, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["sessions", *args, "--url", api.url, "--instance", PREMIUM])
    output = capsys.readouterr()
    return code, output.out, output.err


def _listed(api: Api, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    code, out, err = _sessions(api, capsys, "list", "--json")
    assert code == EXIT_OK, err
    return {entry["id"]: entry for entry in json.loads(out)}


class TestList:
    """If sessions are open, ``qrun sessions list`` shows each with backend, mode, state,
    age and jobs; closed ones are not shown."""

    def test_open_sessions_and_batches(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        session, _ = _open(api, jobs=2)
        batch, _ = _open(api, "batch")
        closed, _ = _open(api)
        api.request("DELETE", f"/sessions/{closed}/close")
        listed = _listed(api, capsys)
        assert set(listed) == {session, batch}
        assert listed[session]["backend"] == "aer"
        assert listed[session]["mode"] == "dedicated"
        assert listed[session]["jobs"] == 2
        assert listed[session]["pending"] == 2
        assert listed[session]["accepting_jobs"] is True
        assert listed[session]["state"] in ("open", "active")
        assert listed[batch]["mode"] == "batch"
        assert listed[batch]["jobs"] == 1
        age = listed[session]["age_seconds"]
        assert isinstance(age, float)
        assert age >= 0

    def test_table(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        session, _ = _open(api)
        code, out, _ = _sessions(api, capsys, "list")
        assert code == EXIT_OK
        header, row = out.splitlines()
        assert header.split() == ["ID", "BACKEND", "MODE", "STATE", "AGE", "JOBS"]
        assert row.startswith(session)
        assert row.split()[1:3] == ["aer", "dedicated"]
        assert row.endswith("1 (1 pending)")

    def test_nothing_open(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = _sessions(api, capsys, "list")
        assert code == EXIT_OK
        assert out == "no open sessions\n"


class TestClose:
    """If sessions are closed by id or all at once, they accept no more jobs; with
    ``--cancel`` their queued jobs are cancelled too."""

    def test_close_by_id_lets_queued_jobs_run(
        self, api: Api, capsys: pytest.CaptureFixture[str]
    ) -> None:
        session, (job,) = _open(api)
        other, _ = _open(api)
        code, out, _ = _sessions(api, capsys, "close", session)
        assert code == EXIT_OK
        assert out == f"{session} closed\n"
        assert _details(api, session)["accepting_jobs"] is False
        assert api.status(job) in ("Queued", "Running", "QUEUED", "RUNNING")
        assert _details(api, other)["accepting_jobs"] is True
        listed = _listed(api, capsys)
        assert listed[session]["accepting_jobs"] is False  # draining: still listed

    def test_cancel_cancels_queued_jobs(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        session, jobs = _open(api, jobs=4)  # aer runs two side by side: two are queued
        code, out, _ = _sessions(api, capsys, "close", "--cancel", session)
        assert code == EXIT_OK
        assert out == f"{session} cancelled\n"
        assert _details(api, session)["state"] == "closed"
        statuses = [api.status(job).upper() for job in jobs]
        assert "CANCELLED" in statuses
        assert set(statuses) <= {"CANCELLED", "RUNNING"}  # a running job is not cut short
        assert session not in _listed(api, capsys)

    def test_all(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        opened = {_open(api)[0], _open(api, "batch")[0]}
        code, out, _ = _sessions(api, capsys, "close", "--all", "--cancel")
        assert code == EXIT_OK
        assert {line.split()[0] for line in out.splitlines()} == opened
        assert _listed(api, capsys) == {}

    def test_unknown_id(self, api: Api, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = _sessions(api, capsys, "close", "no-such-session")
        assert code == EXIT_USER
        assert "session no-such-session is not known to the service" in err

    @pytest.mark.parametrize("args", [[], ["--all", "some-id"]], ids=["neither", "both"])
    def test_ids_or_all(
        self, api: Api, capsys: pytest.CaptureFixture[str], args: list[str]
    ) -> None:
        code, _, err = _sessions(api, capsys, "close", *args)
        assert code == EXIT_USAGE
        assert "takes session ids or --all (one of the two)" in err
