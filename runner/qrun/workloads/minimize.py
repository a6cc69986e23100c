"""Running a ``minimize`` workload: ``scipy.optimize.minimize`` over jobs in the session.

The optimiser runs where the channel hosts it (a thread of the run, or a process of its
own) and asks for each evaluation (:mod:`qrun.workloads.asking`); the runner's thread
evaluates each request as one job and records it (:mod:`qrun.workloads.cost`). Whatever
happens (a job fails, the session ends, the run is interrupted) the runner returns a
:class:`~qrun.workloads.history.WorkloadResult` with the history so far, so one
workload's failure never loses another's results.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Literal

from qrun.errors import QrunError
from qrun.manifest.model import plain, to_python
from qrun.providers.base import TaskFailed, TaskStopped
from qrun.workloads.asking import AskingCost
from qrun.workloads.cost import EstimatorCost
from qrun.workloads.history import OptimizerResult, SessionCheck, TagCheck, WorkloadResult
from qrun.workloads.jobs import EvaluationJobs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.primitives import PrimitiveResult

    from qrun.providers.base import Host, Submission
    from qrun.workloads.asking import Ask, Optimisation
    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.history import Evaluation, WorkloadStatus
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["MAXITER_OPTION", "MinimizeRunner", "optimize"]

#: The option a method reads ``maxiter`` from, where it is not ``maxiter``.
MAXITER_OPTION = {"tnc": "maxfun"}


def _options(planned: PlannedWorkload) -> dict[str, object]:
    workload = planned.workload
    options = {key: to_python(value) for key, value in workload.method_options.items()}
    if workload.maxiter is not None:
        options.setdefault(MAXITER_OPTION.get(workload.method, "maxiter"), workload.maxiter)
    return options


def _optimizer_result(found: Mapping[str, object]) -> OptimizerResult:
    import numpy as np

    def whole(key: str) -> int | None:
        value = found.get(key)
        return None if value is None else int(value)  # type: ignore[call-overload]

    return OptimizerResult(
        success=bool(found.get("success")),
        message=str(found.get("message", "")),
        nfev=whole("nfev") or 0,
        nit=whole("nit"),
        njev=whole("njev"),
        x=tuple(float(v) for v in np.atleast_1d(np.asarray(found["x"], dtype=float))),
        fun=float(found["fun"]),  # type: ignore[arg-type]
    )


def _session_check(
    history: list[Evaluation],
    details_start: Mapping[str, object] | None,
    details_end: Mapping[str, object] | None,
) -> SessionCheck | None:
    if details_start is None:
        return None  # job mode: no session
    ttl = details_end.get("interactive_timeout") if details_end else None
    interactive_ttl = float(ttl) if isinstance(ttl, (int, float)) else None
    gaps = [item.gap for item in history if item.gap is not None]
    max_gap = max(gaps, default=None)
    states = Counter(item.session_state or "unknown" for item in history)
    # Only the session's very first job may find it not yet active.
    later = [item.session_state for item in history[1:]]
    first_ok = not history or history[0].session_state in ("open", "active")
    stayed_active = (
        first_ok
        and all(state == "active" for state in later)
        and (interactive_ttl is None or max_gap is None or max_gap < interactive_ttl)
    )
    return SessionCheck(
        interactive_ttl=interactive_ttl,
        max_gap=max_gap,
        states=dict(states),
        stayed_active=stayed_active,
        details_start=plain(details_start),
        details_end=plain(details_end),
    )


def _tag_check(
    planned: PlannedWorkload, context: WorkloadContext, history: list[Evaluation]
) -> TagCheck | None:
    tags = planned.workload.options.job_tags
    if not tags:
        return None
    found = tuple(context.channel.job_ids(tags))
    own = {item.job_id for item in history}
    return TagCheck(
        tags=tags,
        found=found,
        only_own=set(found) <= own,
        all_found=own <= set(found),
    )


def optimize(
    planned: PlannedWorkload,
    value: Callable[[NDArray[np.float64]], float],
    gradient: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    next_iteration: Callable[[], None],
) -> OptimizerResult:
    """``scipy.optimize.minimize`` as ``planned`` declares it, over the cost given."""
    from scipy.optimize import minimize

    workload = planned.workload

    def callback(intermediate_result: object) -> None:
        del intermediate_result
        next_iteration()

    found = minimize(
        value,
        planned.x0,
        method=workload.method,
        jac=gradient if planned.gradient else None,
        tol=workload.tol,
        options=_options(planned),
        callback=callback,
    )
    return _optimizer_result(found)


class _AskingOptimisation:
    """What runs where the channel hosts the optimiser: the optimisation, each cost asked."""

    def __init__(self, planned: PlannedWorkload) -> None:
        self._planned = planned
        self._jobs: EvaluationJobs | None = None  # built where the jobs are foreseen

    def __call__(self, ask: Callable[[Ask], PrimitiveResult]) -> OptimizerResult:
        cost = AskingCost(ask)
        return optimize(self._planned, cost.value, cost.gradient, cost.next_iteration)

    def job(self, request: Ask) -> Submission:
        if self._jobs is None:
            self._jobs = EvaluationJobs(self._planned)
        return self._jobs.submission(request)


class MinimizeRunner:
    """Runs ``minimize`` workloads: ``scipy.optimize.minimize``, one job per evaluation."""

    def task(self, planned: PlannedWorkload) -> Optimisation:
        """The optimisation, to run where the channel hosts it."""
        return _AskingOptimisation(planned)

    def run(
        self, planned: PlannedWorkload, context: WorkloadContext, host: Host[Ask, OptimizerResult]
    ) -> WorkloadResult:
        """Minimise ``planned``'s cost on ``host``, one job per evaluation; never raises
        for a failure of its own jobs or session (the result says what happened)."""
        return _minimize(planned, context, host)


def _minimize(
    planned: PlannedWorkload, context: WorkloadContext, host: Host[Ask, OptimizerResult]
) -> WorkloadResult:
    workload = planned.workload
    cost = EstimatorCost(planned, context)
    details_start = context.channel.details()
    status: WorkloadStatus = "DONE"
    error: str | None = None
    result: OptimizerResult | None = None
    interrupted = "the run was interrupted"

    try:
        result = host.serve(cost)
    except TaskStopped:
        status, error = "CANCELLED", interrupted
    except TaskFailed as failure:
        # A process stopped because of the interrupt ends without a word.
        status, error = (
            ("CANCELLED", interrupted) if context.stop.is_set() else ("ERROR", str(failure))
        )
    except Exception as failure:  # noqa: BLE001 - recorded; the other workloads go on
        # Once the run is interrupted, whatever ends a workload (its job cancelled, its
        # session closed) ends it because of the interrupt.
        status = "CANCELLED" if context.stop.is_set() else "ERROR"
        error = (
            str(failure)
            if isinstance(failure, QrunError)
            else f"{type(failure).__name__}: {failure}"
        )
    details_end = context.channel.details()
    history = list(cost.history)
    last = history[-1].job_id if history else "-"
    context.progress.finished(workload.name, last, status)
    reference_source: Literal["manifest", "exact"] | None = None
    if workload.reference is not None:
        reference_source = "manifest"
    elif planned.exact_minimum is not None:
        reference_source = "exact"
    return WorkloadResult(
        name=workload.name,
        method=workload.method,
        status=status,
        tags=workload.options.job_tags,
        num_parameters=int(planned.x0.size),
        x0=tuple(float(v) for v in planned.x0),
        history=tuple(history),
        result=result,
        error=error,
        reference=planned.reference,
        reference_source=reference_source,
        exact_minimum=planned.exact_minimum,
        exact_skipped=planned.exact_skipped,
        session=_session_check(history, details_start, details_end),
        tag_check=_tag_check(planned, context, history),
    )
