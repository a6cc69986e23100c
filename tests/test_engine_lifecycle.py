"""Every rule of the session lifecycle, on the engine with a virtual clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from qrun.engine import STATUSES, Instance
from qrun.errors import (
    BackendError,
    JobCancelledError,
    JobFailedError,
    PricingPlanError,
    SessionClosedError,
    SessionError,
)
from tests.engine_support import QPU, START, lifecycle_engine, run

ACCEPTING = "In progress, accepting new jobs"
NOT_ACCEPTING = "In progress, not accepting new jobs"


class TestOpen:
    """If a session is opened, it names a backend, waits for its first job and may idle out."""

    def test_open_1_opening_without_a_backend_is_an_error(self) -> None:
        """OPEN-1"""
        engine, _ = lifecycle_engine()
        with pytest.raises(SessionError, match="must be opened on a backend"):
            engine.open_session("")
        with pytest.raises(BackendError, match="unknown backend 'nowhere'"):
            engine.open_session("nowhere")
        assert engine.open_session(QPU).details()["backend_name"] == QPU

    def test_open_2_new_session_is_pending_and_not_started(self) -> None:
        """OPEN-2"""
        engine, _ = lifecycle_engine()
        session = engine.open_session(QPU)
        details = session.details()
        assert session.status() == "Pending"
        assert (details["state"], details["started_at"], details["activated_at"]) == (
            "open",
            None,
            None,
        )

    def test_open_3_session_starts_when_its_first_job_begins(self) -> None:
        """OPEN-3"""
        engine, clock = lifecycle_engine()
        stray = run(engine, duration=100)
        session = engine.open_session(QPU)
        clock.advance(5)
        job = run(engine, session)
        clock.advance(50)
        assert job.status() == "QUEUED"
        assert session.status() == "Pending"
        assert session.details()["started_at"] is None
        clock.advance(45)
        assert stray.done() and job.running()
        assert session.status() == ACCEPTING
        assert session.details()["started_at"] == "2026-01-01T00:01:40Z"

    def test_open_4_session_without_a_job_closes_after_30_minutes(self) -> None:
        """OPEN-4"""
        engine, clock = lifecycle_engine()
        idle = engine.open_session(QPU)
        used = engine.open_session(QPU, mode="batch")
        run(engine, used)
        clock.advance(30 * 60 - 1)
        assert idle.status() == "Pending"
        clock.advance(1)
        assert idle.status() == "Closed"
        assert idle.details()["closed_at"] == "2026-01-01T00:30:00Z"
        assert used.state != "closed"

    def test_open_4_uses_the_instance_idle_limit(self) -> None:
        """OPEN-4"""
        engine, clock = lifecycle_engine(Instance("short", idle_close=120))
        session = engine.open_session(QPU, instance="short")
        clock.advance(120)
        assert session.status() == "Closed"


class TestLength:
    """If a session is given a max_time, it is capped by the instance and counted from its
    start; the interactive TTL is the instance's and deactivates an idle session."""

    @pytest.mark.parametrize(
        ("max_time", "seconds"),
        [("25m", 1500.0), (1500, 1500.0), ("2h 30m 40s", 9040.0), ("10h", 28800.0)],
    )
    def test_ttl_1_max_time_in_seconds_or_duration_string(
        self, max_time: float | str, seconds: float
    ) -> None:
        """TTL-1 (a value above the instance's max TTL is capped to it)"""
        engine, _ = lifecycle_engine()
        assert engine.open_session(QPU, max_time=max_time).details()["max_time"] == seconds

    def test_ttl_1_malformed_max_time_is_refused(self) -> None:
        """TTL-1"""
        engine, _ = lifecycle_engine()
        with pytest.raises(SessionError, match="max_time: 'soon' is not a duration"):
            engine.open_session(QPU, max_time="soon")

    def test_ttl_2_defaults_are_the_instance_limits(self) -> None:
        """TTL-2"""
        engine, _ = lifecycle_engine(Instance("custom", interactive_ttl=30, max_ttl=3600))
        default = engine.open_session(QPU).details()
        custom = engine.open_session(QPU, instance="custom").details()
        assert (default["max_time"], default["interactive_timeout"]) == (28800.0, 60.0)
        assert (custom["max_time"], custom["interactive_timeout"]) == (3600.0, 30.0)

    def test_ttl_3_max_ttl_counts_from_the_first_job_start(self) -> None:
        """TTL-3"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU, max_time=600)
        clock.advance(500)
        run(engine, session)
        clock.advance(599)
        assert session.state != "closed"
        clock.advance(1)
        assert session.status() == "Closed"
        assert session.details()["closed_at"] == "2026-01-01T00:18:20Z"

    def test_ttl_4_at_max_ttl_running_job_finishes_queued_jobs_fail(self) -> None:
        """TTL-4"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU, max_time=100)
        first = run(engine, session, duration=90)
        running = run(engine, session, duration=50)
        queued = run(engine, session, duration=10)
        clock.advance(100)
        assert session.status() == "Closed"
        assert running.running()
        assert queued.status() == "ERROR"
        with pytest.raises(JobFailedError, match="session max TTL reached"):
            queued.result()
        clock.advance(40)
        assert first.done() and running.done()
        assert running.result() is not None
        assert running.finished == START + 140

    def test_ttl_5_idle_session_deactivates_after_interactive_ttl(self) -> None:
        """TTL-5"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        clock.advance(10 + 59)
        assert session.status() == ACCEPTING
        clock.advance(1)
        assert session.status() == "Pending"
        assert session.state == "inactive"

    def test_ttl_6_deactivated_session_queues_like_any_job_then_reactivates(self) -> None:
        """TTL-6"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        clock.advance(70)
        assert session.state == "inactive"
        stray = run(engine, duration=100)
        again = run(engine, session, duration=10)
        clock.advance(50)
        assert stray.running() and again.status() == "QUEUED"
        assert session.status() == "Pending"
        clock.advance(50)
        assert again.running() and session.status() == ACCEPTING
        details = session.details()
        assert details["activated_at"] == "2026-01-01T00:02:50Z"
        assert [t["status"] for t in details["timestamps"]] == [  # type: ignore[attr-defined]
            "open",
            "active",
            "inactive",
            "active",
        ]

    def test_ttl_7_interactive_ttl_is_always_the_instance_value(self) -> None:
        """TTL-7"""
        engine, _ = lifecycle_engine(Instance("fast", interactive_ttl=5))
        for max_time in (None, 60, "1h"):
            session = engine.open_session(QPU, instance="fast", max_time=max_time)
            assert session.details()["interactive_timeout"] == 5.0


class TestEnd:
    """If a session is cancelled or closed, it ends as documented."""

    def test_end_1_cancel_closes_and_cancels_queued_jobs(self) -> None:
        """END-1 (a running job is not pending: it finishes, its result readable)"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        running = run(engine, session, duration=30)
        queued = [run(engine, session) for _ in range(2)]
        clock.advance(5)
        session.cancel()
        assert session.status() == "Closed"
        assert [job.status() for job in queued] == ["CANCELLED", "CANCELLED"]
        with pytest.raises(JobCancelledError, match="cancelled"):
            queued[0].result()
        assert running.result() is not None and running.finished == START + 30

    def test_end_2_close_drains_queued_and_running_jobs(self) -> None:
        """END-2"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        jobs = [run(engine, session) for _ in range(3)]
        clock.advance(5)
        session.close()
        assert not session.accepting_jobs
        assert session.status() == NOT_ACCEPTING
        clock.advance(20)
        assert session.status() == NOT_ACCEPTING
        clock.advance(5)
        assert all(job.result() is not None for job in jobs)
        assert session.status() == "Closed"

    def test_end_3_submitting_after_close_is_rejected_and_nothing_is_queued(self) -> None:
        """END-3"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session)
        session.close()
        with pytest.raises(SessionClosedError, match="no longer accepts jobs"):
            run(engine, session)
        clock.run_until_idle()
        assert session.status() == "Closed"
        with pytest.raises(SessionClosedError):
            run(engine, session)
        assert len(engine.jobs(session_id=session.session_id)) == 1

    def test_end_4_closed_session_closes_at_once_and_others_start(self) -> None:
        """END-4"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        last = run(engine, session, duration=10)
        stray = run(engine, duration=10)
        session.close()
        clock.advance(10)
        assert session.status() == "Closed"
        assert session.details()["closed_at"] == session.details()["last_job_completed"]
        assert stray.running() and stray.started == last.finished

    def test_end_4_closing_an_idle_active_session_frees_the_backend(self) -> None:
        """END-4"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        clock.advance(20)
        stray = run(engine)
        assert stray.status() == "QUEUED"
        session.close()
        assert session.status() == "Closed" and stray.running()

    def test_end_5_draining_is_bounded_by_max_ttl(self) -> None:
        """END-5"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU, max_time=100)
        running = run(engine, session, duration=150)
        queued = run(engine, session)
        session.close()
        clock.advance(100)
        assert session.status() == "Closed"
        assert queued.status() == "ERROR"
        assert "max TTL" in (queued.error_message() or "")
        clock.advance(50)
        assert running.done()


class TestStatus:
    """If a session is inspected, status() and details() say what the client documents."""

    def test_stat_1_status_is_always_one_of_four_strings(self) -> None:
        """STAT-1"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        seen = [session.status()]
        run(engine, session, duration=10)
        seen.append(session.status())
        clock.advance(100)
        seen.append(session.status())
        run(engine, session, duration=10)
        session.close()
        seen.append(session.status())
        clock.advance(10)
        seen.append(session.status())
        assert set(seen) <= set(STATUSES)
        assert seen == ["Pending", ACCEPTING, "Pending", NOT_ACCEPTING, "Closed"]

    def test_stat_2_details_has_the_client_keys_and_meanings(self) -> None:
        """STAT-2"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU, max_time="1h")
        clock.advance(10)
        run(engine, session, duration=20)
        clock.advance(30)
        details = session.details()
        assert set(details) == {
            "id",
            "backend_name",
            "interactive_timeout",
            "max_time",
            "active_timeout",
            "state",
            "accepting_jobs",
            "last_job_started",
            "last_job_completed",
            "started_at",
            "closed_at",
            "activated_at",
            "mode",
            "usage_time",
            "timestamps",
        }
        assert details["id"] == session.session_id
        assert (details["state"], details["accepting_jobs"], details["mode"]) == (
            "active",
            True,
            "dedicated",
        )
        assert details["started_at"] == details["last_job_started"] == "2026-01-01T00:00:10Z"
        assert details["last_job_completed"] == "2026-01-01T00:00:30Z"
        assert details["usage_time"] == 30.0
        assert details["closed_at"] is None
        started = datetime.fromisoformat(str(details["started_at"]))
        assert started.utcoffset() is not None and started.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert details["timestamps"] == [
            {"status": "open", "timestamp": "2026-01-01T00:00:00Z"},
            {"status": "active", "timestamp": "2026-01-01T00:00:10Z"},
        ]

    def test_stat_2_batch_details_say_batch(self) -> None:
        """STAT-2"""
        engine, _ = lifecycle_engine()
        assert engine.open_session(QPU, mode="batch").details()["mode"] == "batch"


class TestUsage:
    """If usage is read, it counts what the client's docstring says it counts."""

    def test_session_usage_runs_until_deactivation(self) -> None:
        """STAT-2 (usage_time): active from first job start until it goes inactive"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        clock.advance(100)
        run(engine, session, duration=10)
        clock.advance(500)
        assert session.usage() == 10 + 60

    def test_closed_session_usage_ends_with_its_last_job(self) -> None:
        """STAT-2 (usage_time)"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        session.close()
        clock.advance(500)
        assert session.usage() == 10

    def test_batch_usage_is_time_its_jobs_spend_on_the_qpu(self) -> None:
        """STAT-2 (usage_time)"""
        engine, clock = lifecycle_engine()
        batch = engine.open_session(QPU, mode="batch")
        run(engine, batch, duration=10)
        run(engine, duration=50)
        run(engine, batch, duration=7)
        clock.advance(1000)
        assert batch.usage() == 17


class TestPriority:
    """If a session is active or draining, its jobs go before others queued earlier."""

    def test_prio_1_active_session_jobs_run_before_earlier_queued_jobs(self) -> None:
        """PRIO-1"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        first = run(engine, session, duration=10)
        clock.advance(1)
        stray = run(engine, duration=10)
        clock.advance(1)
        second = run(engine, session, duration=10)
        clock.run_until_idle()
        order = sorted([first, stray, second], key=lambda job: job.started or 0)
        assert order == [first, second, stray]
        assert stray.started == second.finished + 60

    def test_prio_2_draining_session_keeps_priority_until_closed(self) -> None:
        """PRIO-2"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        first = run(engine, session, duration=10)
        stray = run(engine, duration=10)
        second = run(engine, session, duration=10)
        session.close()
        clock.run_until_idle()
        assert first.started == START
        assert second.started == START + 10
        assert stray.started == START + 20 == session.closed_at


class TestPlan:
    """If an instance is on the Open Plan, sessions are refused but batch and job mode work."""

    def test_plan_1_open_plan_cannot_open_a_session(self) -> None:
        """PLAN-1"""
        engine, clock = lifecycle_engine(Instance("free", plan="open"))
        with pytest.raises(PricingPlanError, match="batch mode or job mode"):
            engine.open_session(QPU, instance="free")
        batch = engine.open_session(QPU, instance="free", mode="batch")
        in_batch = run(engine, batch, instance="free")
        alone = run(engine, instance="free")
        clock.run_until_idle()
        assert in_batch.done() and alone.done()

    def test_plan_1_open_plan_cannot_submit_to_another_instances_session(self) -> None:
        """PLAN-1"""
        engine, _ = lifecycle_engine(Instance("free", plan="open"))
        session = engine.open_session(QPU)
        with pytest.raises(SessionError, match="belongs to instance 'local'"):
            run(engine, session, instance="free")


class TestUsagePatterns:
    """If a workload iterates quickly or several run in one session, the session serves them."""

    def test_use_1_iterative_workload_keeps_session_active(self) -> None:
        """USE-1"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        stray = None
        jobs = []
        for step in range(5):
            job = run(engine, session, duration=5)
            jobs.append(job)
            assert session.status() == ACCEPTING
            if step == 1:
                stray = run(engine, duration=5)
            job.result()
            assert session.status() == ACCEPTING
            clock.advance(30)  # the classical optimiser step, shorter than the TTL
        assert stray is not None and stray.status() == "QUEUED"
        clock.run_until_idle()
        assert stray.started == jobs[-1].finished + 60  # type: ignore[operator]

    def test_use_2_job_tags_tell_workloads_apart(self) -> None:
        """USE-2"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        cobyla = [run(engine, session, tags=["cobyla"]) for _ in range(3)]
        nelder = [run(engine, session, tags=["nelder-mead"]) for _ in range(2)]
        clock.run_until_idle()
        assert engine.jobs(tags=["cobyla"]) == cobyla
        assert engine.jobs(tags=["nelder-mead"], session_id=session.session_id) == nelder
        assert len(engine.jobs(session_id=session.session_id)) == 5


class TestJobs:
    """If a job is cancelled or inspected, it reports what the client's jobs report."""

    def test_cancelling_a_queued_job(self) -> None:
        """END-1 (a single job)"""
        engine, clock = lifecycle_engine()
        blocker = run(engine, duration=10)
        queued = run(engine)
        queued.cancel()
        clock.run_until_idle()
        assert blocker.done() and queued.status() == "CANCELLED"
        assert engine.jobs(pending=True) == []

    def test_cancelling_the_last_running_job_of_a_draining_session_closes_it(self) -> None:
        """END-4"""
        engine, _ = lifecycle_engine()
        session = engine.open_session(QPU)
        job = run(engine, session, duration=100)
        session.close()
        job.cancel()
        assert job.status() == "CANCELLED" and session.status() == "Closed"

    def test_job_records_times_and_identity(self) -> None:
        """STAT-2 (jobs)"""
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        clock.advance(3)
        job = run(engine, session, duration=4, tags=["t"])
        clock.run_until_idle()
        assert (job.created, job.started, job.finished) == (START + 3, START + 3, START + 7)
        assert (job.session_id, job.backend_name, job.job_tags, job.program) == (
            session.session_id,
            QPU,
            ["t"],
            "sampler",
        )
        assert engine.job(job.job_id()) is job
