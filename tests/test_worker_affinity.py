"""Each backend's jobs compute in the worker process that built its simulator."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from qrun.engine import Outcome, Work, WorkerExecutor
from qrun.engine.workers import NICENESS

if TYPE_CHECKING:
    from pathlib import Path

#: What this process has primed (in a worker: what it was told to prime).
PRIMED: list[str] = []


@dataclass(frozen=True)
class Probe:
    """A simulation that reports, as its job's outcome, where it ran and what was primed."""

    backend: str

    def prime(self) -> None:
        PRIMED.append(self.backend)

    def run(self, work: Work) -> Outcome:
        return Outcome(error=f"{os.getpid()} {','.join(PRIMED)}")


def _run(executor: WorkerExecutor, backend: str) -> tuple[int, str]:
    """Compute one job on ``backend``; (pid of the worker, backends it had primed)."""
    finished = threading.Event()
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        finished.set()

    executor.start(Work("sampler", backend, (), simulation=Probe(backend)), done)
    assert finished.wait(30), "the job never finished"
    assert outcomes[0].error is not None
    pid, _, primed = outcomes[0].error.partition(" ")
    return int(pid), primed


@pytest.fixture
def executor() -> WorkerExecutor:
    return WorkerExecutor(2, backends={"fake_a": Probe("fake_a"), "fake_b": Probe("fake_b")})


class TestBackendAffinity:
    """If a backend's jobs follow one another, they compute in one primed worker."""

    def test_each_backend_keeps_its_own_primed_worker(self, executor: WorkerExecutor) -> None:
        try:
            ran = {name: [_run(executor, name) for _ in range(3)] for name in ("fake_a", "fake_b")}
            ran["fake_a"] += [_run(executor, "fake_a") for _ in range(2)]
        finally:
            executor.shutdown()
        pids = {name: {pid for pid, _ in runs} for name, runs in ran.items()}
        assert len(pids["fake_a"]) == 1
        assert len(pids["fake_b"]) == 1
        assert pids["fake_a"] != pids["fake_b"]
        assert os.getpid() not in pids["fake_a"] | pids["fake_b"]
        # Each worker built its own backend before its first job, and only that one.
        assert {primed for _, primed in ran["fake_a"]} == {"fake_a"}
        assert {primed for _, primed in ran["fake_b"]} == {"fake_b"}

    def test_a_backend_named_later_gets_the_least_busy_worker(
        self, executor: WorkerExecutor
    ) -> None:
        try:
            first = {_run(executor, "fake_c")[0] for _ in range(3)}
            homes = {_run(executor, name)[0] for name in ("fake_a", "fake_b")}
        finally:
            executor.shutdown()
        assert len(first) == 1
        assert first <= homes

    def test_one_worker_primes_and_runs_every_backend(self) -> None:
        executor = WorkerExecutor(1, backends={"fake_a": Probe("fake_a"), "fake_b": None})
        try:
            ran = [_run(executor, name) for name in ("fake_a", "fake_b", "fake_a")]
        finally:
            executor.shutdown()
        assert len({pid for pid, _ in ran}) == 1
        assert {primed for _, primed in ran} == {"fake_a"}


@dataclass(frozen=True)
class Niceness:
    """A simulation that reports, as its job's outcome, the worker's scheduling niceness."""

    def run(self, work: Work) -> Outcome:
        return Outcome(error=str(os.nice(0)))


class TestWorkerPriority:
    """If the workers keep every CPU busy, the process answering requests still comes first."""

    @pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities here")
    def test_workers_compute_at_a_lower_priority_than_their_parent(self) -> None:
        executor = WorkerExecutor(1)
        finished = threading.Event()
        outcomes: list[Outcome] = []

        def done(outcome: Outcome) -> None:
            outcomes.append(outcome)
            finished.set()

        try:
            executor.start(Work("sampler", "aer", (), simulation=Niceness()), done)
            assert finished.wait(30), "the job never finished"
        finally:
            executor.shutdown()
        assert outcomes[0].error == str(min(19, os.nice(0) + NICENESS))


@dataclass(frozen=True)
class Marker:
    """A primer that leaves a file behind once it has run."""

    path: str

    def prime(self) -> None:
        with open(self.path, "w") as marker:  # noqa: PTH123 - the plainest write there is
            marker.write("primed")


class TestReadyWhenPrimed:
    """If a worker executor has started, its workers have primed their backends."""

    def test_every_home_is_primed_when_the_executor_is_built(self, tmp_path: Path) -> None:
        marks = {name: tmp_path / f"{name}.primed" for name in ("fake_a", "fake_b", "fake_c")}
        executor = WorkerExecutor(
            2, backends={name: Marker(str(path)) for name, path in marks.items()}
        )
        try:
            primed = sorted(path.name for path in marks.values() if path.exists())
        finally:
            executor.shutdown()
        assert primed == ["fake_a.primed", "fake_b.primed", "fake_c.primed"]
