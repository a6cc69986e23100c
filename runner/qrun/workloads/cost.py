"""The runner's side of a workload's cost: each evaluation is one estimator job in the channel.

Each evaluation's job is built by :class:`~qrun.workloads.jobs.EvaluationJobs`. Every job
is recorded as an :class:`~qrun.workloads.history.Evaluation`, with the session's state
just before it was submitted. :class:`EstimatorCost` is the evaluator of a workload's
requests (:class:`~qrun.workloads.asking.Ask`), wherever its optimiser runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.workloads.asking import read_evaluation
from qrun.workloads.context import WorkloadStopped
from qrun.workloads.history import Evaluation
from qrun.workloads.jobs import EvaluationJobs

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from qrun.providers import Channel, Job
    from qrun.workloads.asking import Ask
    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.history import EvaluationKind
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["EstimatorCost", "Pending"]


class EstimatorCost:
    """The expectation value of a workload's observable, evaluated by jobs in a channel;
    one evaluation is pending at a time (the optimiser waits for each)."""

    def __init__(self, planned: PlannedWorkload, context: WorkloadContext) -> None:
        self.planned = planned
        self.context = context
        self.history: list[Evaluation] = []
        self.iteration = 1
        self._jobs = EvaluationJobs(planned)
        self._last_result: float | None = None
        self._pending: Pending | None = None

    def submit(self, request: Ask, channel: Channel) -> Job:
        """Submit the job for the cost (or its gradient) at ``request.x`` through
        ``channel``; :meth:`complete` records it."""
        import numpy as np

        context = self.context
        if context.stop.is_set():
            raise WorkloadStopped
        self.iteration += request.iterations
        state = context.channel.state()
        submitted = context.clock.now()
        submission = self._jobs.submission(request)
        job = channel.submit(submission.kind, submission.pubs, submission.options)
        point = np.array(request.x, dtype=float)
        self._pending = Pending(request.kind, point, job, submitted, state)
        return job

    def complete(self, job: Job) -> None:
        """Wait for the pending evaluation's ``job`` and record it; raises as the job's
        ``result()`` does."""
        context = self.context
        pending = self._pending
        if pending is None or pending.job is not job:
            raise RuntimeError("complete() is called with the job submit() returned")
        self._pending = None
        result = job.result()
        finished = context.clock.now()
        gap = None if self._last_result is None else pending.submitted - self._last_result
        self._last_result = finished
        answer, std, gradient = read_evaluation(pending.kind, pending.point.size, result)
        evaluation = Evaluation(
            index=len(self.history) + 1,
            iteration=self.iteration,
            kind=pending.kind,
            parameters=tuple(float(v) for v in pending.point),
            value=float(answer) if gradient is None else None,
            std=std,
            job_id=job.job_id(),
            submitted=pending.submitted - context.run_started,
            wall_time=finished - pending.submitted,
            session_time=finished - context.session_opened,
            gap=gap,
            session_state=pending.session_state,
            gradient=gradient,
        )
        self.history.append(evaluation)
        context.progress.waiting(f"{self.planned.name} #{evaluation.index}", evaluation.job_id)


@dataclass(frozen=True)
class Pending:
    """A submitted evaluation: its job, and what the record needs from submission time."""

    kind: EvaluationKind
    point: NDArray[np.float64]
    job: Job
    submitted: float  # clock seconds
    session_state: str | None  # the session's state just before submission
