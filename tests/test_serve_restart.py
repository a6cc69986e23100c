"""``qrun serve --data-dir`` killed with SIGKILL mid-run and started again on the same dir."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.serve_support import ADMIN_KEY, OPEN, PREMIUM, Admin, Api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "serve.yaml"
    document = {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {"key": ["premium", "open"]},
        "backends": ["aer", "fake_manila"],
        "admin_key": ADMIN_KEY,
    }
    path.write_text(yaml.safe_dump(document))
    return path


class _Process:
    """A ``qrun serve`` child process and the URL it printed."""

    def __init__(self, config: Path, data_dir: Path) -> None:
        command = [sys.executable, "-m", "qrun", "serve", "--port", "0", "--virtual-clock"]
        command += ["--config", str(config), "--data-dir", str(data_dir)]
        self.child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.child.stdout is not None
        first = self.child.stdout.readline()
        found = re.search(r"on (http://\S+)", first)
        assert found, f"no URL in {first!r}"
        self.url = found.group(1)

    def kill(self) -> None:
        self.child.send_signal(signal.SIGKILL)
        self.child.wait(timeout=30)

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)
            try:
                self.child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        assert self.child.stdout is not None
        self.child.stdout.close()


@pytest.fixture
def processes() -> Iterator[list[_Process]]:
    started: list[_Process] = []
    yield started
    for process in started:
        process.stop()


class TestKillAndRestart:
    """If the service is killed mid-run, a restart serves every result and ends the rest."""

    def test_sigkill_mid_run(self, config: Path, tmp_path: Path, processes: list[_Process]) -> None:
        data = tmp_path / "data"
        first = _Process(config, data)
        processes.append(first)
        api, admin = Api(first.url), Admin(first.url)
        admin.call("POST", "/durations", {"default_seconds": 5})
        finished = [api.submit("fake_manila") for _ in range(3)]
        admin.advance(15)
        results = {job_id: api.get(f"/jobs/{job_id}/results").text for job_id in finished}
        batch = api.post("/sessions", {"backend": "fake_manila", "mode": "batch"}).json()["id"]
        unfinished = [api.submit("fake_manila", session_id=batch) for _ in range(3)]
        admin.advance(5)  # one of the batch's jobs ends; the next one is running
        finished.append(unfinished.pop(0))
        results[finished[-1]] = api.get(f"/jobs/{finished[-1]}/results").text
        assert [api.status(job_id) for job_id in unfinished] == ["Running", "Queued"]
        first.kill()

        second = _Process(config, data)
        processes.append(second)
        api = Api(second.url)
        listed = api.get("/jobs", limit="100").json()
        assert listed["count"] == 6
        assert {job["state"]["status"] for job in listed["jobs"]} == {"Completed", "Failed"}
        for job_id, text in results.items():
            assert api.status(job_id) == "Completed"
            assert api.get(f"/jobs/{job_id}/results").text == text
        for job_id in unfinished:
            reason = api.get(f"/jobs/{job_id}").json()["state"]["reason"]
            assert reason == "the service restarted before the job finished"
        assert api.get(f"/sessions/{batch}").json()["state"] == "closed"
