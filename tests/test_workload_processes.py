"""Concurrent workloads in processes of their own: same results, every job in the session."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from typing import TYPE_CHECKING

import pytest

import qrun.providers.forked as forked_module
import qrun.workloads.asking as asking_module
import qrun.workloads.minimize as minimize_module
from qrun.engine.simulation import run_work
from qrun.engine.work import Outcome
from qrun.manifest.load import load_manifest
from qrun.manifest.model import JobOptions
from qrun.providers.local import LocalProvider
from qrun.run.pipeline import RunReport, run_manifest
from qrun.workloads.scheduling import WorkloadScheduler

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from qiskit.primitives import PrimitiveResult

    from qrun.engine.work import Work
    from qrun.providers.base import Channel, Job
    from qrun.workloads.asking import Ask
    from qrun.workloads.history import EvaluationKind, OptimizerResult
    from qrun.workloads.planning import PlannedWorkload

pytestmark = pytest.mark.skipif(
    not forked_module.fork_available(), reason="workload processes are forked (Linux)"
)


def _manifest(
    schedule: str,
    *,
    maxiter: int = 25,
    backend: str = "aer",
    methods: tuple[str, ...] = ("cobyla", "cobyla"),
) -> str:
    names = ("first", "second", "third")
    workloads = "".join(
        f"  - name: {name}\n"
        "    minimize: {circuit: ansatz, observable: hamiltonian}\n"
        f"    method: {method}\n"
        f"    x0: {{random: {{seed: {seed}, low: 0, high: 6.283185307179586}}}}\n"
        f"    maxiter: {maxiter}\n"
        f"    options: {{default_shots: 10000, seed_simulator: {seed}, "
        f"environment: {{job_tags: [{name}]}}}}\n"
        for seed, (name, method) in enumerate(zip(names, methods, strict=False), start=1)
    )
    return (
        "qrun: 1\n"
        f"backend: {{name: {backend}}}\n"
        f"execution: {{mode: session, workloads: {schedule}}}\n"
        "transpile: {optimization_level: 1, seed: 3}\n"
        "circuits:\n  ansatz: {library: efficient_su2, args: {num_qubits: 2}}\n"
        "observables:\n  hamiltonian: {YZ: 0.3980, ZI: -0.3980, ZZ: -0.0113, XX: 0.1810}\n"
        "workloads:\n" + workloads
    )


def _workload_processes() -> dict[int, str]:
    """The workload processes running now, as ``ps`` shows them: pid -> name."""
    return {
        child.pid or 0: child.name
        for child in multiprocessing.active_children()
        if child.name.startswith("qrun-")
    }


class _Watching:
    """A progress display that notes the workload processes alive at each evaluation."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}

    def submitted(self, name: str, job_id: str) -> None:
        pass

    def waiting(self, name: str, job_id: str) -> None:
        self.seen.update(_workload_processes())

    def finished(self, name: str, job_id: str, status: str) -> None:
        pass

    @property
    def names(self) -> list[str]:
        return sorted(self.seen.values())


def _run(
    folder: Path,
    text: str,
    progress: _Watching | None = None,
    provider: LocalProvider | None = None,
) -> tuple[RunReport, LocalProvider]:
    file = folder / "manifest.yaml"
    file.write_text(text, encoding="utf-8")
    provider = provider or LocalProvider()
    try:
        report = run_manifest(
            load_manifest(file), provider=provider, output=folder / "record", progress=progress
        )
    except BaseException:
        provider.shutdown()
        raise
    return report, provider


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RunReport, RunReport, LocalProvider, list[str], bool]:
    """The same two workloads, one after another and side by side (watching the processes)."""
    alone = _Watching()
    sequential, provider = _run(tmp_path_factory.mktemp("seq"), _manifest("sequential"), alone)
    provider.shutdown()
    assert alone.seen == {}  # one after another: nothing to gain from processes
    watching = _Watching()
    concurrent, provider = _run(tmp_path_factory.mktemp("conc"), _manifest("concurrent"), watching)
    provider.shutdown()  # the run's processes have ended by the time it has shut down
    return sequential, concurrent, provider, watching.names, not _workload_processes()


class TestSameAsSequential:
    """If two workloads run in their own processes, each gets what it would get alone."""

    def test_each_optimiser_ran_in_its_own_process(
        self, runs: tuple[RunReport, RunReport, LocalProvider, list[str], bool]
    ) -> None:
        assert runs[3] == ["qrun-workload-first", "qrun-workload-second"]

    def test_histories_and_results_are_identical(
        self, runs: tuple[RunReport, RunReport, LocalProvider, list[str], bool]
    ) -> None:
        sequential, concurrent = runs[0].outcome, runs[1].outcome
        for name in ("first", "second"):
            alone, side_by_side = (
                sequential.workload_results[name],
                concurrent.workload_results[name],
            )
            assert side_by_side.status == "DONE"
            assert len(side_by_side.history) == 25
            assert [
                (item.kind, item.iteration, item.parameters, item.value)
                for item in side_by_side.history
            ] == [
                (item.kind, item.iteration, item.parameters, item.value) for item in alone.history
            ]
            assert side_by_side.result == alone.result
        first, second = concurrent.workload_results.values()
        assert first.history[0].submitted < second.history[-1].submitted
        assert second.history[0].submitted < first.history[-1].submitted


class TestEveryJobInTheSession:
    """If workloads run in processes, every evaluation is still a tagged job of the session."""

    def test_each_job_is_the_sessions_with_its_workloads_tag(
        self, runs: tuple[RunReport, RunReport, LocalProvider, list[str], bool]
    ) -> None:
        report, provider = runs[1], runs[2]
        outcome = report.outcome
        jobs = {job.job_id(): job for job in provider.engine.jobs(session_id=outcome.session_id)}
        for name, result in outcome.workload_results.items():
            for item in result.history:
                job = jobs.pop(item.job_id)
                assert job.job_tags == [name]
                assert job.session_id == outcome.session_id
                assert job.status() == "DONE"
            assert result.tag_check is not None and result.tag_check.ok
            assert result.session is not None and result.session.stayed_active
        assert jobs == {}
        assert outcome.status_end == "Closed"

    def test_no_process_is_left(
        self, runs: tuple[RunReport, RunReport, LocalProvider, list[str], bool]
    ) -> None:
        assert runs[4]


class TestOneJobAtATime:
    """If the backend runs one job at a time, the engine still serialises the jobs of
    workloads whose optimisers run in parallel."""

    def test_no_two_jobs_run_at_once(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        watching = _Watching()
        report, provider = _run(
            tmp_path, _manifest("concurrent", maxiter=6, backend="fake_manila"), watching
        )
        try:
            outcome = report.outcome
            assert [r.status for r in outcome.workload_results.values()] == ["DONE", "DONE"]
            jobs = provider.engine.jobs(session_id=outcome.session_id)
            spans = sorted((job.started or 0.0, job.finished or 0.0) for job in jobs)
            evaluations = sum(len(r.history) for r in outcome.workload_results.values())
        finally:
            provider.shutdown()
        assert len(spans) == evaluations > 2
        assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
        assert watching.names == ["qrun-workload-first", "qrun-workload-second"]
        assert not _workload_processes()


def _evaluations(report: RunReport) -> dict[str, list[tuple[object, ...]]]:
    """What each optimiser was told, evaluation by evaluation, and what it found."""
    return {
        name: [
            (item.kind, item.iteration, item.parameters, item.value, item.std, item.gradient)
            for item in result.history
        ]
        + [(result.status, result.result)]
        for name, result in report.outcome.workload_results.items()
    }


class TestComputedAhead:
    """If the backend runs jobs side by side, each workload process computes its job while
    the engine schedules it; the optimisers are told exactly what they are told on threads,
    and nothing of a job the engine never started."""

    def test_same_evaluations_as_on_threads(self, tmp_path: Path) -> None:
        from qrun.engine import Engine

        text = _manifest("concurrent", methods=("cobyla", "l-bfgs-b"))
        watching = _Watching()
        (tmp_path / "forked").mkdir()
        forked, provider = _run(tmp_path / "forked", text, watching)
        provider.shutdown()
        assert watching.names == ["qrun-workload-first", "qrun-workload-second"]
        engine = Engine()  # an engine given to the provider: the optimisers run on threads
        alone = _Watching()
        try:
            (tmp_path / "threads").mkdir()
            threaded, provider = _run(
                tmp_path / "threads", text, alone, LocalProvider(engine=engine)
            )
            provider.shutdown()
        finally:
            engine.shutdown()
        assert alone.seen == {}
        second = forked.outcome.workload_results["second"].history
        assert any(item.kind == "gradient" for item in second)
        assert _evaluations(forked) == _evaluations(threaded)

    def test_a_job_cancelled_before_it_starts_never_reaches_its_optimiser(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from qrun.workloads.cost import EstimatorCost

        # The first two workloads each hold the backend's two places with their third job
        # (their processes wait before computing it), so a job of the third queues.
        fork = multiprocessing.get_context("fork")
        held = fork.Event()
        counts = {1: 0, 2: 0}
        # What each optimiser is told, by its workload's simulator seed (1, 2, 3).
        told = fork.Array("i", 4)
        seed = [0]  # in each process: its workload's seed, known from its first job
        real_read = asking_module.read_evaluation

        def reading(kind: EvaluationKind, count: int, result: PrimitiveResult) -> object:
            told[seed[0]] += 1
            return real_read(kind, count, result)

        def holding(work: Work) -> Outcome:
            seed[0] = work.seed or 0
            if work.seed in counts:
                counts[work.seed] += 1  # each process counts its own jobs
                if counts[work.seed] == 3:
                    held.wait(timeout=120)
            return run_work(work)

        queued: list[Job] = []
        found = threading.Event()
        real_submit = EstimatorCost.submit

        submitted = {"first": 0, "second": 0, "third": 0}

        def submit(self: EstimatorCost, request: Ask, channel: Channel) -> Job:
            job = real_submit(self, request, channel)
            submitted[self.planned.name] += 1
            # A job of the third queued after both others' third jobs is behind them in
            # the queue, and they hold both places until released: it cannot start.
            behind = submitted["first"] >= 3 and submitted["second"] >= 3
            third = self.planned.name == "third"
            if third and behind and not queued and job.status() == "QUEUED":
                queued.append(job)
                found.set()
            return job

        def cancel_then_release() -> None:
            if found.wait(timeout=120):
                queued[0].cancel()  # from a thread of its own, as a user would
            held.set()

        monkeypatch.setattr(forked_module, "run_work", holding)
        monkeypatch.setattr(asking_module, "read_evaluation", reading)
        monkeypatch.setattr(EstimatorCost, "submit", submit)
        canceller = threading.Thread(target=cancel_then_release)
        canceller.start()
        provider = LocalProvider()
        provider.engine.add_backend("aer", capacity=2)
        file = tmp_path / "manifest.yaml"
        file.write_text(
            _manifest("concurrent", maxiter=2000, methods=("cobyla",) * 3), encoding="utf-8"
        )
        try:
            report = run_manifest(load_manifest(file), provider=provider, output=tmp_path / "r")
            canceller.join()
            third = provider.engine.jobs(session_id=report.outcome.session_id, tags=["third"])
        finally:
            provider.shutdown()
        results = report.outcome.workload_results
        assert results["first"].status == results["second"].status == "DONE"
        cancelled = provider.engine.job(queued[0].job_id())
        assert cancelled.status() == "CANCELLED" and cancelled.started is None
        # The optimiser was never told: it was told of each job in its history and of no
        # other, it asked for nothing after the cancelled job, and the workload ended there.
        assert told[3] == len(results["third"].history)
        assert told[1] == len(results["first"].history)
        assert [job.job_id() for job in third][-1] == cancelled.job_id()
        assert [job.status() for job in third] == ["DONE"] * (len(third) - 1) + ["CANCELLED"]
        history = results["third"].history
        assert [item.job_id for item in history] == [job.job_id() for job in third[:-1]]
        assert results["third"].status == "ERROR"
        assert "cancel" in (results["third"].error or "").lower()
        assert not _workload_processes()


def _failing_after(
    seed: int, jobs: int, failure: Callable[[], Outcome]
) -> Callable[[Work], Outcome]:
    """``run_work``, except that in a process computing the ``seed`` jobs, every job
    after the first ``jobs`` ends as ``failure`` says (the count is per process: each
    workload process has its own)."""
    count = [0]

    def compute(work: Work) -> Outcome:
        if work.seed == seed:
            count[0] += 1
            if count[0] > jobs:
                return failure()
        return run_work(work)

    return compute


def _die() -> Outcome:
    os._exit(3)


def _give_up() -> Outcome:
    return Outcome(error="RuntimeError: the simulator gave up")


class TestFailures:
    """If one workload's process fails, that workload records it and the other finishes."""

    @pytest.mark.parametrize(
        ("failure", "jobs", "reason"),
        [(_give_up, 3, "the simulator gave up"), (_die, 5, "workload process ended")],
        ids=["its job fails", "its process dies"],
    )
    def test_only_that_workload_ends(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        failure: Callable[[], Outcome],
        jobs: int,
        reason: str,
    ) -> None:
        watching = _Watching()
        monkeypatch.setattr(forked_module, "run_work", _failing_after(2, jobs, failure))
        report, provider = _run(tmp_path, _manifest("concurrent"), watching)
        try:
            results = report.outcome.workload_results
            second = provider.engine.jobs(session_id=report.outcome.session_id, tags=["second"])
        finally:
            provider.shutdown()
        assert results["first"].status == "DONE" and len(results["first"].history) == 25
        assert results["second"].status == "ERROR"
        assert reason in (results["second"].error or "")
        assert len(results["second"].history) == jobs
        # The workload stopped at the failed job: nothing was submitted after it.
        assert [job.status() for job in second] == ["DONE"] * jobs + ["ERROR"]
        assert len(watching.seen) == 2 and not _workload_processes()

    def test_an_optimiser_that_raises_is_recorded(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        watching = _Watching()
        real = minimize_module.optimize

        def failing(
            planned: PlannedWorkload,
            value: Callable[..., float],
            gradient: Callable[..., object],
            next_iteration: Callable[[], None],
        ) -> OptimizerResult:
            if planned.name == "second":
                value(planned.x0)
                raise RuntimeError("the optimiser diverged")
            return real(planned, value, gradient, next_iteration)  # type: ignore[arg-type]

        monkeypatch.setattr(minimize_module, "optimize", failing)
        report, provider = _run(tmp_path, _manifest("concurrent"), watching)
        provider.shutdown()
        results = report.outcome.workload_results
        assert results["first"].status == "DONE" and len(results["first"].history) == 25
        assert results["second"].status == "ERROR"
        assert results["second"].error == "RuntimeError: the optimiser diverged"
        assert len(results["second"].history) == 1
        assert len(watching.seen) == 2 and not _workload_processes()


class TestInterrupt:
    """If the run is interrupted, the workloads are cancelled and their processes end."""

    def test_workloads_cancelled_and_processes_gone(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        under_way = threading.Event()
        real_join = WorkloadScheduler.join

        def interrupted_join(self: WorkloadScheduler) -> None:
            if not under_way.is_set():
                under_way.wait()
                raise KeyboardInterrupt
            real_join(self)

        class Waiting(_Watching):
            def waiting(self, name: str, job_id: str) -> None:
                super().waiting(name, job_id)
                if name.endswith("#5"):
                    under_way.set()

        watching = Waiting()

        monkeypatch.setattr(WorkloadScheduler, "join", interrupted_join)
        file = tmp_path / "manifest.yaml"
        file.write_text(_manifest("concurrent", maxiter=2000), encoding="utf-8")
        provider = LocalProvider()
        try:
            report = run_manifest(
                load_manifest(file), provider=provider, output=tmp_path / "r", progress=watching
            )
        finally:
            provider.shutdown()
        assert report.outcome.interrupted
        results = report.outcome.workload_results
        assert [result.status for result in results.values()] == ["CANCELLED", "CANCELLED"]
        assert all(len(result.history) >= 1 for result in results.values())
        assert report.outcome.status_end == "Closed"
        assert len(watching.seen) == 2 and not _workload_processes()


class TestPlacedJobs:
    """If a job names a place, it is computed there; once that place is gone, it fails."""

    def test_jobs_go_where_their_work_says(self) -> None:
        from qiskit import QuantumCircuit

        from qrun.engine import Engine, NullExecutor, PlacingExecutor, ThreadExecutor

        class Counting(NullExecutor):
            def __init__(self) -> None:
                self.count = 0

            def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
                self.count += 1
                super().start(work, done)

        placing = PlacingExecutor(ThreadExecutor())
        there = Counting()
        placing.add("there", there)
        engine = Engine(executor=placing)
        circuit = QuantumCircuit(1)
        circuit.measure_all()
        try:
            options = JobOptions(default_shots=8)
            placed = engine.submit(
                "sampler", [circuit], backend="aer", options=options, place="there"
            )
            anywhere = engine.submit("sampler", [circuit], backend="aer", options=options)
            assert placed.result().metadata == {"executor": "null"}
            assert anywhere.result()[0].data.meas.num_shots == 8
            assert there.count == 1
            placing.remove("there")
            gone = engine.submit(
                "sampler", [circuit], backend="aer", options=options, place="there"
            )
            assert gone.status() == "ERROR"
            assert "has ended before it ran" in (gone.error_message() or "")
        finally:
            engine.shutdown()
