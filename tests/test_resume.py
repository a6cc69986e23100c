"""``qrun resume RUN_DIR``: a run killed at any point goes on from its journal, against a
``qrun serve`` process (no job submitted twice, the results of an uninterrupted run) and
on the local provider (unfinished jobs run again, and the record says so)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
import pytest

from qrun.cli import main
from qrun.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USER
from tests.serve_support import Admin, Api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/test:premium::"
KEY = "resume-test-key"
ADMIN_KEY = "admin-secret-for-resume"
SERVE_CONFIG = f"""\
instances:
  premium: {{crn: "{CRN}", plan: premium, interactive_ttl: 60, max_ttl: 8h}}
api_keys:
  {KEY}: [premium]
backends: [aer]
admin_key: {ADMIN_KEY}
keep_alive: 300
"""

BELL = """\
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      bit[2] c;
      h q[0];
      cx q[0], q[1];
      c = measure q;
"""
STEPS = ("first", "second", "third")


def _manifest(folder: Path, *, backend: str = "aer", shots: int = 64) -> Path:
    """Three seeded samplers of one Bell pair: three jobs, whose counts a seed fixes."""
    primitives = "".join(
        f"  - sampler:\n    name: {name}\n"
        f"    options: {{default_shots: {shots}, seed_simulator: {seed}}}\n"
        "    pubs: [{circuit: bell}]\n"
        for seed, name in enumerate(STEPS, start=1)
    )
    text = (
        f"qrun: 1\nmetadata:\n  name: three\nbackend:\n  name: {backend}\n"
        "execution:\n  mode: session\n  max_time: 1h\ntranspile:\n  seed: 7\n"
        f"circuits:\n  bell:\n{BELL}primitives:\n{primitives}"
    )
    path = folder / "three.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _environment() -> dict[str, str]:
    environment = {**os.environ, "CI": "1", "QISKIT_IBM_TOKEN": KEY}
    environment.pop("QISKIT_IBM_CHANNEL", None)
    return environment


class Served:
    """A ``qrun serve`` process on loopback, its clock moved through the admin API."""

    def __init__(self, folder: Path) -> None:
        config = folder / "serve.yaml"
        config.write_text(SERVE_CONFIG, encoding="utf-8")
        command = ["serve", "--port", "0", "--virtual-clock", "--config", str(config)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qrun", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_environment(),
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        assert " on http://" in banner, banner
        self.url = banner.split(" on ", 1)[1].split()[0]
        self.admin = Admin(self.url, ADMIN_KEY)
        self.api = Api(self.url, key=KEY, crn=CRN)

    def stop(self) -> None:
        self.api.close()
        self.admin.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # it waits for clients' idle connections
            self.process.kill()
            self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    @contextmanager
    def clock_moving(self) -> Iterator[None]:
        """Move the service's clock on a little at a time while the block runs, so that
        its jobs end (a job on a virtual clock lasts its modelled QPU time)."""
        stop = threading.Event()

        def move() -> None:
            admin = Admin(self.url, ADMIN_KEY)
            try:
                while not stop.wait(0.05):
                    try:
                        admin.advance(2)
                    except httpx.TransportError:  # a dropped connection: a new one
                        admin.close()
                        admin = Admin(self.url, ADMIN_KEY)
            finally:
                admin.close()

        mover = threading.Thread(target=move, daemon=True)
        mover.start()
        try:
            yield
        finally:
            stop.set()
            mover.join(timeout=30)

    def jobs(self) -> list[dict[str, object]]:
        answer = self.api.get("/jobs", limit="1000")
        assert answer.status_code == 200, answer.text
        jobs: list[dict[str, object]] = answer.json()["jobs"]
        return jobs


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    service = Served(tmp_path_factory.mktemp("serve"))
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("QISKIT_IBM_TOKEN", KEY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _journal(folder: Path) -> dict[str, object] | None:
    try:
        document: dict[str, object] = json.loads((folder / "journal.json").read_text())
    except (OSError, ValueError):
        return None
    return document


def _jobs_in(journal: dict[str, object] | None) -> int:
    jobs = journal.get("jobs") if journal else None
    return len(jobs) if isinstance(jobs, list) else -1


def _stop_when(
    command: list[str], folder: Path, jobs: int, stop: signal.Signals = signal.SIGKILL
) -> tuple[int, str]:
    """Start ``qrun`` with ``command`` and send it ``stop`` once its journal lists at
    least ``jobs`` jobs; return its exit code and what it wrote to stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "qrun", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    deadline = time.monotonic() + 120
    try:
        while _jobs_in(_journal(folder)) < jobs:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.005)
        process.send_signal(stop)
    finally:
        _, said = process.communicate(timeout=60)
    return process.returncode, said


def _kill_when(command: list[str], folder: Path, jobs: int) -> dict[str, object]:
    """Kill (SIGKILL) ``qrun`` run with ``command`` once its journal lists at least
    ``jobs`` jobs; return the journal it left."""
    _stop_when(command, folder, jobs)
    journal = _journal(folder)
    assert journal is not None
    assert journal["state"] == "running"
    return journal


def _counts(folder: Path) -> dict[str, dict[str, int]]:
    document = json.loads((folder / "results.json").read_text())
    return {
        primitive["name"]: primitive["pubs"][0]["registers"]["c"]["counts"]
        for primitive in document["primitives"]
    }


def _qrun(*args: str) -> tuple[int, str]:
    """``qrun ARGS`` in a process of its own, as a user runs it: its exit code and what
    it wrote to stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "qrun", *args],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=300,
        check=False,
    )
    return done.returncode, done.stderr


def _resume(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["resume", str(folder), *extra])
    output = capsys.readouterr()
    return code, output.err


@pytest.fixture(scope="module")
def reference(served: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The counts of the manifest run once without interruption."""
    folder = tmp_path_factory.mktemp("reference")
    manifest = _manifest(folder)
    with served.clock_moving():
        code, said = _qrun(str(manifest), "-o", str(folder / "record"), "--url", served.url)
    assert code == EXIT_OK, said
    return {"counts": _counts(folder / "record")}


@pytest.mark.slow
class TestKilledAgainstServe:
    """If ``qrun run`` is killed (SIGKILL) at any point, ``qrun resume`` finishes it: every
    primitive has exactly one job at the service, and the results are those of a run that
    was never interrupted."""

    @pytest.mark.parametrize(
        ("jobs", "later"),
        [(0, 0), (1, 0), (3, 3700)],
        ids=["session-opened", "first-job-submitted", "all-submitted-session-expired"],
    )
    def test_resume_submits_nothing_twice(
        self,
        *,
        served: Served,
        reference: dict[str, object],
        tmp_path: Path,
        jobs: int,
        later: float,
    ) -> None:
        manifest = _manifest(tmp_path)
        folder = tmp_path / "record"
        command = [str(manifest), "-o", str(folder), "--url", served.url, "--instance", CRN]
        left = _kill_when(command, folder, jobs)
        if later:
            served.admin.advance(later)  # past the session's max_time: it is closed
        with served.clock_moving():
            code, said = _qrun("resume", str(folder))
        assert code == EXIT_OK, said
        assert _counts(folder) == reference["counts"]
        run_tag = left["run_tag"]
        assert isinstance(run_tag, str)
        mine = [job for job in served.jobs() if any(run_tag in tag for tag in job["tags"])]  # type: ignore[attr-defined]
        steps = sorted(tag for job in mine for tag in job["tags"])  # type: ignore[attr-defined]
        assert steps == sorted(f"{run_tag}:{name}" for name in STEPS)
        run = json.loads((folder / "run.json").read_text())
        assert sorted(job["job_id"] for job in run["jobs"]) == sorted(job["id"] for job in mine)
        resumed = run["resumed"]
        assert resumed["from_session"] == left["session_id"]
        journal = _journal(folder)
        assert journal is not None
        assert journal["state"] == "finished"
        assert journal["resumes"] == [resumed]
        collected = {entry["job_id"] for entry in resumed["collected"]}
        assert collected >= {job["job_id"] for job in left["jobs"]}  # type: ignore[union-attr]
        assert resumed["submitted_again"] == []
        if later:
            assert resumed["session"] == "not needed"
            assert "nothing was left to submit" in said
        else:
            assert resumed["session"] == "same"
            assert run["session"]["id"] == left["session_id"]
            assert f"session {left['session_id']} was still open" in said

    def test_sigterm_closes_the_session_and_resume_submits_the_cancelled_jobs(
        self, served: Served, reference: dict[str, object], tmp_path: Path
    ) -> None:
        manifest = _manifest(tmp_path)
        folder = tmp_path / "record"
        command = [str(manifest), "-o", str(folder), "--url", served.url]
        code, said = _stop_when(command, folder, len(STEPS), signal.SIGTERM)
        assert code == EXIT_INTERRUPTED, said
        journal = _journal(folder)
        assert journal is not None
        assert journal["state"] == "interrupted"
        session = journal["session_id"]
        assert f"interrupted; the session {session} was cancelled and is closed" in said
        assert f"qrun resume {folder}" in said
        details = served.api.get(f"/sessions/{session}").json()
        assert details["state"] == "closed"
        with served.clock_moving():
            code, said = _qrun("resume", str(folder))
        assert code == EXIT_OK, said
        assert _counts(folder) == reference["counts"]
        resumed = json.loads((folder / "run.json").read_text())["resumed"]
        assert resumed["session"] == "new"
        again = {entry["name"]: entry["status"] for entry in resumed["submitted_again"]}
        cancelled = {name for name, status in again.items() if status == "CANCELLED"}
        assert cancelled == set(again)
        assert {entry["name"] for entry in resumed["collected"]} == set(STEPS) - cancelled
        assert "cancelled before they ran, so submitted again" in said
        assert f"session {session} is closed; the remaining work ran in a new session" in said

    def test_a_second_resume_runs_nothing(
        self, served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path)
        folder = tmp_path / "record"
        with served.clock_moving():
            code, said = _qrun(str(manifest), "-o", str(folder), "--url", served.url)
        assert code == EXIT_OK, said
        before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        count = len(served.jobs())
        code, said = _resume(folder, capsys)
        assert code == EXIT_OK
        assert "the run finished; there is nothing to resume" in said
        assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
        assert len(served.jobs()) == count


@pytest.mark.slow
class TestKilledLocally:
    """If a local run is killed, its jobs died with it: ``qrun resume`` runs them again in
    a new session, says so, and gives the seeded results of an uninterrupted run."""

    def test_unfinished_jobs_run_again(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path, backend="fake_manila", shots=20000)
        assert main([str(manifest), "-o", str(tmp_path / "whole")]) == EXIT_OK
        capsys.readouterr()
        folder = tmp_path / "record"
        left = _kill_when([str(manifest), "-o", str(folder)], folder, 1)
        code, said = _resume(folder, capsys)
        assert code == EXIT_OK, said
        assert _counts(folder) == _counts(tmp_path / "whole")
        resumed = json.loads((folder / "run.json").read_text())["resumed"]
        assert resumed["jobs_outlive_process"] is False
        assert resumed["session"] == "new"
        assert resumed["collected"] == []
        assert [entry["job_id"] for entry in resumed["submitted_again"]] == [
            job["job_id"]
            for job in left["jobs"]  # type: ignore[union-attr]
        ]
        assert "jobs of the local provider end with its process; run again" in said
        assert f"session {left['session_id']} ended with the process" in said

    def test_an_interrupted_run_keeps_its_finished_results(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path, backend="fake_manila", shots=20000)
        folder = tmp_path / "record"
        process = subprocess.Popen(
            [sys.executable, "-m", "qrun", str(manifest), "-o", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_environment(),
        )
        deadline = time.monotonic() + 120
        while _jobs_in(_journal(folder)) < 3 and time.monotonic() < deadline:
            assert process.poll() is None
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        if code != EXIT_INTERRUPTED:
            pytest.skip(f"the run ended before the interrupt arrived (exit {code})")
        run = json.loads((folder / "run.json").read_text())
        done = {job["name"]: job["job_id"] for job in run["jobs"] if job["status"] == "DONE"}
        assert _journal(folder)["state"] == "interrupted"  # type: ignore[index]
        code, said = _resume(folder, capsys)
        assert code == EXIT_OK, said
        resumed = json.loads((folder / "run.json").read_text())["resumed"]
        assert {entry["name"]: entry["job_id"] for entry in resumed["collected"]} == done
        again = {entry["name"] for entry in resumed["submitted_again"]}
        assert again == set(STEPS) - set(done)
        assert set(_counts(folder)) == set(STEPS)


class TestBadRecords:
    """If the folder is not a record qrun can resume, the error says why, exit 1, and no
    traceback."""

    @staticmethod
    def _record(tmp_path: Path, journal: str) -> Path:
        folder = tmp_path / "record"
        folder.mkdir()
        (folder / "journal.json").write_text(journal, encoding="utf-8")
        return folder

    def test_no_such_folder(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, said = _resume(tmp_path / "nowhere", capsys)
        assert code == EXIT_USER
        assert "does not exist; qrun resume takes a run's record folder" in said
        assert "Traceback" not in said

    def test_not_a_record(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, said = _resume(tmp_path, capsys)
        assert code == EXIT_USER
        assert f"{tmp_path} is not a run record: it has no journal.json" in said

    def test_journal_that_does_not_parse(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = self._record(tmp_path, '{\n  "format": "qrun.journal/1",\n  "state": \n')
        code, said = _resume(folder, capsys)
        assert code == EXIT_USER
        assert f"{folder / 'journal.json'}:4:1: does not parse as JSON" in said
        assert "Traceback" not in said

    def test_newer_qrun(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        folder = self._record(tmp_path, '{"format": "qrun.journal/2", "qrun": "9.0.0"}')
        code, said = _resume(folder, capsys)
        assert code == EXIT_USER
        assert "was written by a newer qrun (9.0.0, format qrun.journal/2)" in said
        assert "reads qrun.journal/1" in said

    def test_journal_of_a_qrun_without_resume(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = self._record(tmp_path, '{"session_id": null, "mode": "session", "jobs": []}')
        code, said = _resume(folder, capsys)
        assert code == EXIT_USER
        assert "has no format: it was written by a qrun that could not resume runs" in said

    def test_wrong_shape_names_the_json_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        document = {
            "format": "qrun.journal/1",
            "state": "running",
            "manifest": {"file": "x.yaml", "sha256": "0"},
            "provider": "local",
            "backend": "aer",
            "mode": "session",
            "jobs": [{"name": "a", "kind": "sampler", "job_id": 7, "status": "QUEUED"}],
        }
        folder = self._record(tmp_path, json.dumps(document))
        code, said = _resume(folder, capsys)
        assert code == EXIT_USER
        assert "journal.json: $.jobs[0].job_id: expected a string" in said

    def test_changed_manifest_copy(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _manifest(tmp_path)
        folder = tmp_path / "record"
        assert main([str(manifest), "-o", str(folder)]) == EXIT_OK
        journal = json.loads((folder / "journal.json").read_text())
        journal["state"] = "running"
        (folder / "journal.json").write_text(json.dumps(journal), encoding="utf-8")
        (folder / "manifest.yaml").write_text("qrun: 1\n", encoding="utf-8")
        capsys.readouterr()
        code, said = _resume(folder, capsys)
        assert code == EXIT_USER
        assert "manifest.yaml was changed after the run started; it cannot be resumed" in said
