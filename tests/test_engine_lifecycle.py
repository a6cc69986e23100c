"""Edge cases of the session lifecycle that the features (``features/*.feature``) leave unsaid.

The rules themselves are specified once, in the features, and checked against this engine
by the conformance suite; the tests here pin what the engine decides where the features
are silent: instance limits, refusals, the exact times and words it reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.clock import VirtualClock
from qrun.engine import EndReason, Engine, Instance, Outcome
from qrun.errors import BackendError, JobCancelledError, JobFailedError, SessionError
from tests.engine_support import QPU, START, lifecycle_engine, run

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine import Work

ACCEPTING = "In progress, accepting new jobs"


class TestRefusals:
    """If a session is asked for something it cannot be, opening or submitting is refused."""

    def test_a_backend_the_engine_does_not_know_is_refused(self) -> None:
        engine, _ = lifecycle_engine()
        with pytest.raises(BackendError, match="unknown backend 'nowhere'"):
            engine.open_session("nowhere")

    def test_a_malformed_max_time_is_refused(self) -> None:
        engine, _ = lifecycle_engine()
        with pytest.raises(SessionError, match="max_time: 'soon' is not a duration"):
            engine.open_session(QPU, max_time="soon")

    def test_a_job_for_another_instance_s_session_is_refused(self) -> None:
        engine, _ = lifecycle_engine(Instance("free", plan="open"))
        session = engine.open_session(QPU)
        with pytest.raises(SessionError, match="belongs to instance 'local'"):
            run(engine, session, instance="free")


class TestInstanceLimits:
    """If an instance sets its own limits, its sessions report and obey them."""

    def test_max_time_above_the_instance_limit_is_capped_to_it(self) -> None:
        engine, _ = lifecycle_engine(Instance("short", max_ttl=3600))
        assert engine.open_session(QPU, max_time="10h").details()["max_time"] == 28800.0
        capped = engine.open_session(QPU, instance="short", max_time="2h")
        assert capped.details()["max_time"] == 3600.0

    def test_the_instance_max_ttl_is_the_default_max_time(self) -> None:
        engine, _ = lifecycle_engine(Instance("custom", interactive_ttl=30, max_ttl=3600))
        details = engine.open_session(QPU, instance="custom").details()
        assert (details["max_time"], details["interactive_timeout"]) == (3600.0, 30.0)

    def test_an_idle_session_closes_after_the_instance_idle_limit(self) -> None:
        engine, clock = lifecycle_engine(Instance("short", idle_close=120))
        session = engine.open_session(QPU, instance="short")
        clock.advance(119)
        assert session.status() == "Pending"
        clock.advance(1)
        assert session.status() == "Closed"


class TestReportedTimes:
    """If details() reports times, they are ISO-8601 UTC strings with Z, one per change."""

    def test_each_state_change_is_timestamped(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        clock.advance(70)
        stray = run(engine, duration=100)
        run(engine, session, duration=10)
        clock.advance(100)
        assert not stray.running() and session.status() == ACCEPTING
        details = session.details()
        assert details["started_at"] == "2026-01-01T00:00:00Z"
        assert details["activated_at"] == "2026-01-01T00:02:50Z"
        assert details["last_job_started"] == "2026-01-01T00:02:50Z"
        assert details["last_job_completed"] == "2026-01-01T00:00:10Z"
        assert details["timestamps"] == [
            {"status": "open", "timestamp": "2026-01-01T00:00:00Z"},
            {"status": "active", "timestamp": "2026-01-01T00:00:00Z"},
            {"status": "inactive", "timestamp": "2026-01-01T00:01:10Z"},
            {"status": "active", "timestamp": "2026-01-01T00:02:50Z"},
        ]

    def test_a_job_records_its_times_and_identity(self) -> None:
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


class TestUsage:
    """If usage is read, it counts what the client's docstring says it counts."""

    def test_session_usage_runs_until_deactivation(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        clock.advance(100)
        run(engine, session, duration=10)
        clock.advance(500)
        assert session.usage() == 10 + 60

    def test_a_session_closed_while_its_job_runs_stops_counting_when_the_job_ends(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        session.close()
        clock.advance(500)
        assert session.usage() == 10

    def test_batch_usage_is_time_its_jobs_spend_on_the_qpu(self) -> None:
        engine, clock = lifecycle_engine()
        batch = engine.open_session(QPU, mode="batch")
        run(engine, batch, duration=10)
        run(engine, duration=50)
        run(engine, batch, duration=7)
        clock.advance(1000)
        assert batch.usage() == 17


class TestEnding:
    """If a session or job ends early, running work finishes or stops as the engine decides."""

    def test_a_cancelled_session_s_running_job_finishes_with_its_result(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        running = run(engine, session, duration=30)
        run(engine, session)
        clock.advance(5)
        session.cancel()
        assert running.running()
        clock.advance(25)
        assert running.result() is not None and running.finished == START + 30

    def test_closing_an_active_session_with_nothing_queued_frees_the_backend(self) -> None:
        engine, clock = lifecycle_engine()
        session = engine.open_session(QPU)
        run(engine, session, duration=10)
        clock.advance(20)
        stray = run(engine)
        assert stray.status() == "QUEUED"
        session.close()
        assert session.status() == "Closed" and stray.running()

    def test_cancelling_a_queued_job_outside_a_session(self) -> None:
        engine, clock = lifecycle_engine()
        blocker = run(engine, duration=10)
        queued = run(engine)
        queued.cancel()
        clock.run_until_idle()
        assert blocker.done() and queued.status() == "CANCELLED"
        assert engine.jobs(pending=True) == []

    def test_cancelling_the_last_running_job_of_a_draining_session_closes_it(self) -> None:
        engine, _ = lifecycle_engine()
        session = engine.open_session(QPU)
        job = run(engine, session, duration=100)
        session.close()
        job.cancel()
        assert job.status() == "CANCELLED" and session.status() == "Closed"


class TestEndReasons:
    """If a job ends, it declares why, next to the words a user reads."""

    def test_each_way_of_ending_declares_its_reason(self) -> None:
        engine, clock = lifecycle_engine()
        timed_out = engine.open_session(QPU, max_time=10)
        completed = run(engine, timed_out, duration=20)
        expired = run(engine, timed_out)
        clock.advance(20)
        cancelled_session = engine.open_session(QPU)
        running = run(engine, cancelled_session)
        dropped = run(engine, cancelled_session)
        cancelled_session.cancel()
        clock.advance(10)
        cancelled = run(engine)
        cancelled.cancel()
        reasons = [job.end_reason for job in (completed, expired, running, dropped, cancelled)]
        assert reasons == [
            EndReason.COMPLETED,
            EndReason.MAX_TTL,
            EndReason.COMPLETED,
            EndReason.SESSION_CANCELLED,
            EndReason.CANCELLED,
        ]
        assert [job.status() for job in (completed, expired, dropped, cancelled)] == [
            "DONE",
            "ERROR",
            "CANCELLED",
            "CANCELLED",
        ]
        assert completed.error_message() is None
        with pytest.raises(JobFailedError, match="session max TTL reached: the job was still"):
            expired.result()
        with pytest.raises(JobCancelledError, match="the session was cancelled while the job"):
            dropped.result()
        with pytest.raises(JobCancelledError, match="cancelled by the user"):
            cancelled.result()

    def test_a_failed_computation_declares_failed_with_its_error(self) -> None:
        engine = Engine(VirtualClock(START), _BrokenSimulator())
        job = run(engine)
        with pytest.raises(JobFailedError, match="the simulator broke"):
            job.result()
        assert (job.status(), job.end_reason) == ("ERROR", EndReason.FAILED)
        assert job.error_message() == "the simulator broke"

    def test_a_job_still_pending_has_no_reason(self) -> None:
        engine, _ = lifecycle_engine()
        running, queued = run(engine), run(engine)
        assert (running.end_reason, queued.end_reason) == (None, None)


class _BrokenSimulator:
    """An executor whose every computation fails."""

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        done(Outcome(error="the simulator broke"))

    def shutdown(self) -> None:
        """Nothing to release."""
