"""Realistic timing on the real clock: jobs wait in a queue, then run at least a while.

Off by default: on the system clock a job is queued only while its backend is busy and
runs as long as it computes, which is far quicker than a QPU. With ``timing:`` in the
configuration (or ``qrun serve --queue-latency S --min-duration S``) every job that starts
is reported ``Queued`` for ``queue_latency`` more seconds, then ``Running``, and completes
no sooner than ``min_duration`` seconds after that — so a user's timeout, cancel-while-
queued and retrieve-while-running code meets the states it meets on IBM's service. The
backend is held meanwhile, so jobs behind it wait too. A job cancelled in that time ends
cancelled. Under a virtual clock jobs already last a modelled QPU time and these settings
do not apply.

:class:`TimedExecutor` delays a job's outcome until both have passed; the service reports
the queued part (:meth:`RealTiming.reported`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.clock import SystemClock

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine import Executor
    from qrun.engine.job import JobStatus
    from qrun.engine.work import Outcome, Work

__all__ = ["RealTiming", "TimedExecutor"]


@dataclass(frozen=True)
class RealTiming:
    """Seconds a started job still shows as queued, and the least it then runs."""

    queue_latency: float = 0.0
    min_duration: float = 0.0

    def __bool__(self) -> bool:
        return self.queue_latency > 0 or self.min_duration > 0

    def reported(
        self, status: JobStatus, started: float | None, now: float
    ) -> tuple[JobStatus, float | None]:
        """The status and start time a client is shown for a job the engine started at
        ``started``: still queued during the latency."""
        if started is None or not self.queue_latency:
            return status, started
        begins = started + self.queue_latency
        if status == "RUNNING" and now < begins:
            return "QUEUED", None
        if status == "CANCELLED" and now < begins:
            return status, None
        return status, begins


class TimedExecutor:
    """An executor whose jobs end no sooner than ``queue_latency + min_duration`` seconds
    after they start, computed by ``inner``."""

    def __init__(self, inner: Executor, timing: RealTiming) -> None:
        self.inner = inner
        self.timing = timing
        self._clock = SystemClock()

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        due = self._clock.now() + self.timing.queue_latency + self.timing.min_duration

        def computed(outcome: Outcome) -> None:
            if self._clock.now() >= due:
                done(outcome)
            else:
                self._clock.call_at(due, lambda: done(outcome))

        self.inner.start(work, computed)

    def shutdown(self) -> None:
        self.inner.shutdown()
        self._clock.close()
