"""Many sessions, batches and single jobs sharing one backend queue."""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING

from tests.engine_support import CIRCUIT, QPU, START, lifecycle_engine, run

if TYPE_CHECKING:
    import pytest


class TestSharedQueue:
    """If two sessions and stray jobs share a QPU, each rule decides who starts next."""

    def test_two_sessions_and_stray_jobs_start_in_the_documented_order(self) -> None:
        """PRIO-1, PRIO-2, TTL-5, END-4, OPEN-3"""
        engine, clock = lifecycle_engine()
        first, second = engine.open_session(QPU), engine.open_session(QPU)
        x1 = run(engine, duration=10)  # a stray job takes the idle QPU
        a1 = run(engine, first, duration=10)
        b1 = run(engine, second, duration=10)
        x2 = run(engine, duration=10)
        clock.advance(30)
        # first became active at 10; at 20 it had nothing queued, so the QPU waited for it
        assert (b1.status(), x2.status()) == ("QUEUED", "QUEUED")
        a2 = run(engine, first, duration=10)  # jumps the queue (PRIO-1)
        clock.advance(70)
        assert first.status() == "Pending"  # deactivated at 40 + 60 = 100 (TTL-5)
        assert b1.running() and second.status() == "In progress, accepting new jobs"
        clock.advance(5)
        b2 = run(engine, second, duration=10)
        second.close()  # drains with priority (PRIO-2), then closes at once (END-4)
        clock.run_until_idle()
        jobs = [x1, a1, a2, b1, b2, x2]
        assert sorted(jobs, key=lambda job: job.started or 0) == jobs
        assert [(job.started or 0) - START for job in jobs] == [0, 10, 30, 100, 110, 120]
        assert second.closed_at == START + 120
        assert first.state == "closed"  # by its max TTL, 8 h after it started
        assert first.closed_at == START + 10 + 8 * 3600

    def test_batches_get_no_dedicated_access(self) -> None:
        """PRIO-1 (batches queue in order)"""
        engine, clock = lifecycle_engine()
        batch = engine.open_session(QPU, mode="batch")
        b1 = run(engine, batch, duration=10)
        stray = run(engine, duration=10)
        b2 = run(engine, batch, duration=10)
        clock.advance(1000)
        assert [b1.started, stray.started, b2.started] == [START, START + 10, START + 20]
        assert batch.status() == "In progress, accepting new jobs"

    def test_aer_runs_jobs_side_by_side(self) -> None:
        """Capacity: a simulator runs as many jobs as it has slots."""
        engine, clock = lifecycle_engine()
        engine.add_backend("aer", capacity=3)
        jobs = [engine.submit("sampler", [CIRCUIT], backend="aer", duration=5) for _ in range(4)]
        assert [job.status() for job in jobs] == ["RUNNING"] * 3 + ["QUEUED"]
        clock.run_until_idle()
        assert jobs[3].started == START + 5


class TestStress:
    """If a thousand jobs go through sessions, batches and job mode, every one is accounted for."""

    def test_thousand_jobs_all_accounted_for(self) -> None:
        """PRIO-1, END-1, END-2, TTL-4 under load"""
        engine, clock = lifecycle_engine()
        engine.add_backend("aer", capacity=2)
        rng = random.Random(7)
        sessions = [engine.open_session(QPU, max_time=300) for _ in range(3)]
        sessions += [engine.open_session("aer", mode="batch") for _ in range(2)]
        jobs = []
        for index in range(1000):
            owner = rng.choice([*[s for s in sessions if s.accepting_jobs], None])
            backend = owner.backend_name if owner else rng.choice([QPU, "aer"])
            jobs.append(
                engine.submit(
                    "sampler",
                    [CIRCUIT],
                    backend=backend,
                    session_id=owner.session_id if owner else None,
                    duration=rng.uniform(0.5, 5),
                )
            )
            if index % 97 == 0:
                jobs[rng.randrange(len(jobs))].cancel()
            if index == 500:
                sessions[0].cancel()
            if index == 700:
                sessions[1].close()
            clock.advance(rng.uniform(0, 2))
        clock.run_until_idle()
        statuses = [job.status() for job in jobs]
        assert len(jobs) == len(engine.jobs()) == 1000
        assert engine.jobs(pending=True) == []
        assert statuses.count("DONE") + statuses.count("CANCELLED") + statuses.count(
            "ERROR"
        ) == len(jobs)
        assert statuses.count("ERROR") > 0  # max TTL reached with jobs queued
        assert all(s.state in ("closed", "inactive") for s in sessions[:3])
        for job in jobs:
            if job.done():
                assert job.started is not None and job.finished is not None
                assert job.finished >= job.started >= job.created

    def test_no_two_jobs_overlap_on_a_qpu(self) -> None:
        """Capacity 1: a QPU never runs two jobs at once."""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        jobs = [run(engine, session if i % 3 else None, duration=1 + i % 4) for i in range(60)]
        clock.run_until_idle()
        spans = sorted((job.started or 0, job.finished or 0) for job in jobs)
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


class TestDoneCallbacks:
    """If a caller asks to be told when a job ends, it is told once, however it ends."""

    def test_called_once_when_the_job_ends_and_at_once_when_it_already_has(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        job = run(engine, session, duration=10)
        seen: list[tuple[str, float]] = []
        job.add_done_callback(lambda ended: seen.append((ended.status(), clock.now())))
        clock.advance(5)
        assert seen == []
        clock.advance(10)
        assert seen == [("DONE", START + 10)]
        job.add_done_callback(lambda ended: seen.append((ended.status(), clock.now())))
        assert seen == [("DONE", START + 10), ("DONE", START + 15)]

    def test_a_queued_job_cancelled_with_its_session_is_reported(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        running, queued = run(engine, session), run(engine, session)
        ended: list[str] = []
        queued.add_done_callback(lambda job: ended.append(job.status()))
        running.add_done_callback(lambda job: ended.append(job.status()))
        session.cancel()
        assert ended == ["CANCELLED"]  # the running job finishes; the queued one does not
        clock.advance(10)
        assert ended == ["CANCELLED", "DONE"]

    def test_a_failing_callback_does_not_stop_the_others(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        engine, clock = lifecycle_engine()
        job = run(engine)
        ended: list[str] = []

        def broken(_: object) -> None:
            raise RuntimeError("a broken callback")

        job.add_done_callback(broken)
        job.add_done_callback(lambda done: ended.append(done.status()))
        clock.advance(10)
        assert ended == ["DONE"]
        assert "a broken callback" in capsys.readouterr().err
