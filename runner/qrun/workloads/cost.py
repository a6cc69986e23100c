"""A workload's cost as jobs: each evaluation is one estimator job in the channel.

A gradient is one job too: the parameter-shift rule needs the cost at ``x ± π/2·e_i`` for
every parameter ``i``, and those ``2n`` points go into ONE estimator PUB (a parameter
array of shape ``(2n,)``), so a gradient costs one round trip, not ``2n``.
Every job is recorded as an :class:`~qrun.workloads.history.Evaluation`, with the
session's state just before it was submitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.workloads.context import WorkloadStopped
from qrun.workloads.history import Evaluation

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from qiskit.primitives import PrimitiveResult, PubResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    from qrun.providers import Job
    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.history import EvaluationKind
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["EstimatorCost", "Pending", "read_evaluation"]

_SHIFT = math.pi / 2


class EstimatorCost:
    """The expectation value of a workload's observable, evaluated by jobs in a channel."""

    def __init__(self, planned: PlannedWorkload, context: WorkloadContext) -> None:
        from qiskit.primitives.containers.observables_array import ObservablesArray

        self.planned = planned
        self.context = context
        self.history: list[Evaluation] = []
        self.iteration = 1
        # One observables array for every job, so a worker process that has it once
        # is not sent it again.
        self._observables = ObservablesArray.coerce(planned.observable)
        self._precision = planned.workload.cost.precision
        self._options = planned.workload.options
        self._last_result: float | None = None
        self._names = tuple(parameter.name for parameter in planned.circuit.parameters)
        self._checked: set[tuple[int, ...]] = set()

    @property
    def observables(self) -> object:
        """The observables array every job of this cost uses (the same object each time)."""
        return self._observables

    def next_iteration(self) -> None:
        """The optimiser finished an iteration (its callback was called)."""
        self.iteration += 1

    def value(self, x: NDArray[np.float64]) -> float:
        """The cost at ``x``: one job."""
        return float(self.complete(self.submit("cost", x)))

    def gradient(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The parameter-shift gradient at ``x``: one job with 2n parameter sets."""
        import numpy as np

        return np.asarray(self.complete(self.submit("gradient", x)), dtype=float)

    def submit(self, kind: EvaluationKind, x: NDArray[np.float64]) -> Pending:
        """Submit the job for the cost (or its gradient) at ``x``; :meth:`complete` reads it.

        One evaluation is pending at a time: the optimiser waits for each.
        """
        import numpy as np

        context = self.context
        if context.stop.is_set():
            raise WorkloadStopped
        point = np.array(x, dtype=float)
        values = point
        if kind == "gradient":
            shifts = _SHIFT * np.eye(point.size)
            values = np.concatenate([point + shifts, point - shifts])
        state = context.channel.state()
        submitted = context.clock.now()
        job = context.channel.submit("estimator", [self._pub(values)], self._options)
        return Pending(kind, point, job, submitted, state)

    def _pub(self, values: NDArray[np.float64]) -> EstimatorPub:
        """The estimator PUB for ``values``: the first of each shape is coerced and
        validated in full, the others only differ from it in their values."""
        from qiskit.primitives.containers.bindings_array import BindingsArray
        from qiskit.primitives.containers.estimator_pub import EstimatorPub

        circuit = self.planned.circuit
        if values.shape not in self._checked:
            pub = EstimatorPub.coerce((circuit, self._observables, values), self._precision)
            self._checked.add(values.shape)
            return pub
        bindings = BindingsArray({self._names: values})
        return EstimatorPub(circuit, self._observables, bindings, self._precision, validate=False)

    def complete(self, pending: Pending) -> float | NDArray[np.float64]:
        """Wait for ``pending``'s job, record the evaluation, return the cost (a float) or
        the gradient (an array); raises as the job's ``result()`` does."""
        context = self.context
        job = pending.job
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
        return answer


def read_evaluation(
    kind: EvaluationKind, count: int, result: PrimitiveResult[PubResult]
) -> tuple[float | NDArray[np.float64], float, tuple[float, ...] | None]:
    """What an evaluation's job result says: the cost (a float) or the gradient (an
    array), its standard error, and the gradient's components (None for a cost).

    ``count`` is the number of parameters (a gradient job holds ``2 * count`` points).
    """
    import numpy as np

    data = result[0].data
    if kind == "cost":
        return float(data.evs), float(data.stds), None
    evs = np.asarray(data.evs)
    gradient: NDArray[np.float64] = (evs[:count] - evs[count:]) / 2
    spread = float(np.sqrt(np.mean(np.asarray(data.stds) ** 2) / 2))
    return gradient, spread, tuple(float(g) for g in gradient)


@dataclass(frozen=True)
class Pending:
    """A submitted evaluation: its job, and what the record needs from submission time."""

    kind: EvaluationKind
    point: NDArray[np.float64]
    job: Job
    submitted: float  # clock seconds
    session_state: str | None  # the session's state just before submission
