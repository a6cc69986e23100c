"""Jobs computed as Ray tasks, against a real Ray head started on loopback for the session."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.clock import VirtualClock
from qrun.commands import conformance
from qrun.compute import Compute
from qrun.compute.tasks import RayExecutor
from qrun.conformance.rules import RULES
from qrun.engine import Engine
from qrun.manifest.load import load_manifest
from qrun.run.pipeline import run_manifest
from qrun.serve import Server, create_app
from qrun.serve.config import parse_config
from qrun.serve.workers import serve_executor
from tests.compute_support import comparable, ray_head, sweep_manifest
from tests.test_run_many import _bell, _counts, _invalid

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qrun.run.pipeline import RunReport

__all__ = ["ray_head"]  # the fixture, imported to be found

pytestmark = pytest.mark.slow


def _descendants(root: int) -> set[int]:
    """Processes below ``root`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _computing_workers() -> list[int]:
    """Ray worker processes of this test's head now computing a job (``ray::_compute``)."""
    busy = []
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            if (Path("/proc") / str(pid) / "cmdline").read_bytes().startswith(b"ray::_compute"):
                busy.append(pid)
    return busy


class _Killer:
    """Kills Ray workers computing jobs, ``times`` of them, from a thread of its own."""

    def __init__(self, times: int) -> None:
        self.killed: list[int] = []
        self._times = times
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while len(self.killed) < self._times and not self._stop.wait(0.02):
            for pid in _computing_workers()[: self._times - len(self.killed)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)

    def __enter__(self) -> _Killer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """The 200-job sweep computed in process: what every other compute must give."""
    folder = tmp_path_factory.mktemp("sweep")
    return run_manifest(load_manifest(sweep_manifest(folder, 200)), output=folder / "local")


class TestSweep:
    """If a sweep computes on Ray, its results are those computed in process."""

    def test_200_jobs_from_the_command_line(
        self, ray_head: str, local_sweep: RunReport, tmp_path: Path
    ) -> None:
        manifest = local_sweep.folder.parent / "sweep.yaml"
        done = subprocess.run(
            [sys.executable, "-m", "qrun", "run", str(manifest), "-o", str(tmp_path / "ray"),
             "--compute", f"ray={ray_head}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert comparable(tmp_path / "ray" / "results.json") == comparable(
            local_sweep.folder / "results.json"
        )
        run = json.loads((tmp_path / "ray" / "run.json").read_text())
        assert run["compute"] == f"ray={ray_head}"
        assert {job["status"] for job in run["jobs"]} == {"DONE"}
        assert len(run["jobs"]) == 200

    def test_a_folder_of_twenty_manifests_one_invalid(self, ray_head: str, tmp_path: Path) -> None:
        studies = tmp_path / "studies"
        studies.mkdir()
        good = [_bell(studies, f"bell-{number:02}", seed=number) for number in range(19)]
        broken = _invalid(studies)
        done = subprocess.run(
            [sys.executable, "-m", "qrun", "run", str(studies), "--json", "-j", "4",
             "--compute", f"ray={ray_head}"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        summary = json.loads(done.stdout)
        assert summary["counts"] == {"ok": 19, "failed": 0, "invalid": 1, "interrupted": 0}
        by_name = {Path(run["manifest"]).name: run for run in summary["runs"]}
        assert by_name["broken.yaml"]["error"].startswith(f"{broken}:6:9: $.execution.mode")
        for path in good:
            record = Path(by_name[path.name]["record"])
            run = json.loads((record / "run.json").read_text())
            assert run["compute"] == f"ray={ray_head}"
            assert run["session"]["status_end"] == "Closed"
        # Seeded counts are those of the same manifest computed in process.
        local = run_manifest(load_manifest(good[7]), output=tmp_path / "local")
        assert _counts(local.folder) == _counts(Path(by_name[good[7].name]["record"]))

    def test_a_worker_killed_mid_sweep_is_retried(
        self, ray_head: str, local_sweep: RunReport, tmp_path: Path
    ) -> None:
        manifest = load_manifest(local_sweep.folder.parent / "sweep.yaml")
        with _Killer(times=1) as killer:
            report = run_manifest(
                manifest, output=tmp_path / "ray", compute=Compute("ray", ray_head)
            )
        assert len(killer.killed) == 1
        run = json.loads((report.folder / "run.json").read_text())
        assert {job["status"] for job in run["jobs"]} == {"DONE"}
        assert run["session"]["status_end"] == "Closed"
        assert comparable(report.folder / "results.json") == comparable(
            local_sweep.folder / "results.json"
        )


class TestLostWorkers:
    """If a job's worker dies on every attempt, the job fails with Ray's reason and the
    session still closes: nothing is left running."""

    def test_job_fails_after_its_retries(self, ray_head: str, tmp_path: Path) -> None:
        # One job long enough (a million shots) to be caught computing on each attempt.
        manifest = load_manifest(sweep_manifest(tmp_path, 1, shots=1_000_000, qubits=12))
        with _Killer(times=4) as killer:  # the first attempt and MAX_RETRIES more
            report = run_manifest(
                manifest, output=tmp_path / "ray", compute=Compute("ray", ray_head)
            )
        assert len(killer.killed) == 4
        (job,) = report.outcome.jobs
        assert job.status == "ERROR"
        assert job.error is not None
        assert "the Ray task failed" in job.error
        assert report.outcome.status_end == "Closed"


class TestServe:
    """If ``qrun serve`` computes on Ray, it still keeps every documented session rule."""

    def test_strict_conformance(
        self, ray_head: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        admin = "admin-key-for-compute-tests"
        # The default instances (the conformance suite needs all three), computing on Ray.
        config = parse_config({"admin_key": admin, "compute": f"ray={ray_head}"})
        assert config.compute == Compute("ray", ray_head)
        for name in ("QISKIT_IBM_TOKEN", "QRUN_RUNTIME_URL", "QRUN_RUNTIME_REAL_TIME"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("QRUN_ADMIN_KEY", admin)
        executor = serve_executor(config, modelled=True)
        assert isinstance(executor, RayExecutor)
        engine = Engine(clock=VirtualClock(), executor=executor)
        with Server(create_app(config, engine=engine)) as server:
            parser = argparse.ArgumentParser(prog="qrun conformance")
            conformance.configure(parser)
            argv = ["--target", "runtime", "--strict", "--target-option", f"url={server.url}"]
            code = conformance.main(parser.parse_args(argv))
        out = capsys.readouterr().out
        rows = {
            line.split()[0]: line.split()[1]
            for line in out.splitlines()
            if line.split() and line.split()[0] in RULES
        }
        engine.shutdown()
        assert code == 0, out
        assert rows == dict.fromkeys(RULES, "passed")
        assert executor.started > 0  # the suite's jobs were computed as Ray tasks


class TestExecutor:
    """If the executor shuts down with jobs computing, each ends with the reason."""

    def test_shutdown_fails_running_jobs(self, ray_head: str) -> None:
        from qiskit.circuit.library import real_amplitudes
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        from qrun.engine import Outcome, Work

        circuit = real_amplitudes(12, reps=1)
        circuit.measure_all()
        pub = SamplerPub.coerce((circuit, [0.1] * circuit.num_parameters), shots=1_000_000)
        ended: list[Outcome] = []
        finished = threading.Event()

        def done(outcome: Outcome) -> None:
            ended.append(outcome)
            finished.set()

        executor = RayExecutor(ray_head)
        try:
            executor.start(Work("sampler", "aer", (pub,), seed=1), done)
            assert executor.running == 1
        finally:
            executor.shutdown()
        assert finished.wait(5)
        assert [outcome.error for outcome in ended] == [
            "the executor shut down before the job finished"
        ]
        assert executor.running == 0


class TestWorkloads:
    """If concurrent workloads run with ``--compute ray``, their jobs are Ray tasks."""

    def test_two_optimisers_compute_on_ray(
        self, ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from qrun.providers import forked

        def no_forks(*_: object) -> None:
            raise AssertionError("an optimiser was forked: its jobs would not be Ray tasks")

        monkeypatch.setattr(forked, "Forks", no_forks)
        manifest = tmp_path / "two.yaml"
        manifest.write_text(_TWO_OPTIMISERS, encoding="utf-8")
        tasks: list[object] = []
        start = RayExecutor.start

        def counted(executor: RayExecutor, *args: object) -> None:
            tasks.append(args[0])
            start(executor, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(RayExecutor, "start", counted)
        report = run_manifest(
            load_manifest(manifest), output=tmp_path / "ray", compute=Compute("ray", ray_head)
        )
        run = json.loads((report.folder / "run.json").read_text())
        assert run["compute"] == f"ray={ray_head}"
        workloads = {workload["name"]: workload for workload in run["workloads"]}
        assert {name: workload["status"] for name, workload in workloads.items()} == {
            "one": "DONE",
            "two": "DONE",
        }
        assert len(tasks) == sum(workload["jobs"] for workload in workloads.values()) > 2


_TWO_OPTIMISERS = """\
qrun: 1
metadata: {name: two-optimisers}
backend: {name: aer}
execution: {mode: session, max_time: 10m, workloads: concurrent}
circuits:
  ansatz: {library: efficient_su2, args: {num_qubits: 2, reps: 1}}
observables:
  h: {ZZ: 1.0, XI: 0.5}
workloads:
  - name: one
    minimize: {circuit: ansatz, observable: h}
    method: cobyla
    x0: {random: {seed: 1, low: 0, high: 3}}
    maxiter: 10
    options: {default_shots: 200, seed_simulator: 1, environment: {job_tags: [one]}}
  - name: two
    minimize: {circuit: ansatz, observable: h}
    method: cobyla
    x0: {random: {seed: 2, low: 0, high: 3}}
    maxiter: 10
    options: {default_shots: 200, seed_simulator: 2, environment: {job_tags: [two]}}
"""


@pytest.fixture(autouse=True)
def _no_leftover_tasks() -> Iterator[None]:
    yield
    # A test leaves no Ray worker computing a job behind it (a cancelled one may take a
    # moment to be killed).
    gone = threading.Event()
    for _ in range(100):
        if not _computing_workers():
            break
        gone.wait(0.05)
    assert _computing_workers() == []


class TestUnreachable:
    """If nothing listens at the cluster's address, the run says so at once."""

    def test_refused_address(
        self, ray_head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from qrun import cli

        bell = Path(__file__).parent.parent / "spec" / "examples" / "bell.yaml"
        code = cli.main(
            ["run", str(bell), "--compute", "ray=127.0.0.1:1", "-o", str(tmp_path / "r")]
        )
        error = capsys.readouterr().err
        assert code == 1
        assert "cannot connect to the Ray cluster at 127.0.0.1:1" in error
        assert "Traceback" not in error
        assert not (tmp_path / "r").exists()
