"""The job that evaluates a request: one estimator PUB at the request's point.

Both sides of a workload build it from the planned workload alone: the runner's side
submits it (:class:`~qrun.workloads.cost.EstimatorCost`), and an optimiser hosted in a
process of its own may compute it while the engine schedules the job
(:meth:`~qrun.providers.base.Task.job`), so the two must never differ: they are this one
function of the request.

A gradient is one job too: the parameter-shift rule needs the cost at ``x ± π/2·e_i`` for
every parameter ``i``, and those ``2n`` points go into ONE estimator PUB (a parameter
array of shape ``(2n,)``), so a gradient costs one round trip, not ``2n``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from qrun.providers.base import Submission

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    from qrun.workloads.asking import Ask
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["EvaluationJobs"]

_SHIFT = math.pi / 2


class EvaluationJobs:
    """The submission of each request's job, for one planned workload."""

    def __init__(self, planned: PlannedWorkload) -> None:
        from qiskit.primitives.containers.observables_array import ObservablesArray

        self._circuit = planned.circuit
        # One observables array for every job, so a process that has it once is not
        # sent it again.
        self._observables = ObservablesArray.coerce(planned.observable)
        self._precision = planned.workload.cost.precision
        self._options = planned.workload.options
        self._names = tuple(parameter.name for parameter in planned.circuit.parameters)
        self._checked: set[tuple[int, ...]] = set()

    def submission(self, request: Ask) -> Submission:
        """What the job evaluating ``request`` is submitted with."""
        import numpy as np

        values = np.array(request.x, dtype=float)
        if request.kind == "gradient":
            shifts = _SHIFT * np.eye(values.size)
            values = np.concatenate([values + shifts, values - shifts])
        return Submission("estimator", [self._pub(values)], self._options)

    def _pub(self, values: NDArray[np.float64]) -> EstimatorPub:
        """The estimator PUB for ``values``: the first of each shape is coerced and
        validated in full, the others only differ from it in their values."""
        from qiskit.primitives.containers.bindings_array import BindingsArray
        from qiskit.primitives.containers.estimator_pub import EstimatorPub

        if values.shape not in self._checked:
            pub = EstimatorPub.coerce((self._circuit, self._observables, values), self._precision)
            self._checked.add(values.shape)
            return pub
        bindings = BindingsArray({self._names: values})
        return EstimatorPub(
            self._circuit, self._observables, bindings, self._precision, validate=False
        )
