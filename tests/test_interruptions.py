"""A run stopped by SIGINT (Ctrl-C) or SIGTERM (a CI runner, a scheduler) at any point
ends promptly, cancels its session and leaves a record of every step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from qrun.errors import EXIT_INTERRUPTED, EXIT_OK

MANIFEST = Path(str(files("qrun.spec") / "examples")) / "vqe-two-optimizers.yaml"
WORKLOADS = ["cobyla", "nelder-mead"]


def _run_and_stop(folder: Path, stop: signal.Signals, after_jobs: int) -> tuple[int, float]:
    """Run the manifest and send ``stop`` about ``after_jobs`` evaluations into its
    workloads (a few milliseconds each, counted from the moment the run claims its record
    folder, just before the first job); return the exit code and how long the run took
    to end after the signal."""
    environment = {**os.environ, "CI": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "qrun", str(MANIFEST), "-o", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    # The folder is claimed just before the first job: wait for it, then let the
    # workloads submit some jobs (they submit one every few milliseconds).
    deadline = time.monotonic() + 60
    while not folder.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(after_jobs * 0.005)
    sent = time.monotonic()
    process.send_signal(stop)
    code = process.wait(timeout=60)
    return code, time.monotonic() - sent


@pytest.mark.slow
class TestStopped:
    """If a run with concurrent workloads is stopped, the record lists every workload
    and every job with its final state, and says the run was interrupted."""

    @pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
    @pytest.mark.parametrize("after_jobs", [0, 40, 200])
    def test_record_is_whole(self, tmp_path: Path, stop: signal.Signals, after_jobs: int) -> None:
        folder = tmp_path / "record"
        code, ended_in = _run_and_stop(folder, stop, after_jobs)
        assert code in (EXIT_INTERRUPTED, EXIT_OK)  # a run may finish before the signal
        # Well under a second on an idle machine; the bound only tells "ended" from "hung"
        # on a machine whose cores are shared (several times slower under load).
        assert ended_in < 10.0
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        assert run["interrupted"] is (code == EXIT_INTERRUPTED)
        assert [workload["name"] for workload in run["workloads"]] == WORKLOADS
        assert [workload["name"] for workload in results["workloads"]] == WORKLOADS
        final = {"DONE", "ERROR", "CANCELLED"}
        assert {workload["status"] for workload in run["workloads"]} <= final
        assert {job["status"] for job in run["jobs"]} <= final
        if code == EXIT_INTERRUPTED:
            assert run["session"]["status_end"] == "Closed"
        assert not list(folder.glob("**/.*.partial*"))
