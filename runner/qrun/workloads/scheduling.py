"""Running a plan's workloads in the open channel: side by side, or one after another.

Workloads run on threads, so the caller's thread only waits and can take a keyboard
interrupt: :meth:`WorkloadScheduler.stop` then keeps every workload from submitting more
and cancels the jobs they wait for, and :meth:`~WorkloadScheduler.join` collects what each
had done. With ``execution.workloads: concurrent`` (the default) each workload has its own
thread; its jobs still go through the one channel, and the backend's scheduler decides
when they run. Where the context has workload processes (the local provider), the
optimisers run in parallel in those processes and each thread only waits for its
workload's end (:mod:`qrun.workloads.process`); otherwise the optimisers' Python shares
one interpreter lock and the gain comes from the jobs overlapping on the backend.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from qrun.workloads.history import WorkloadResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["WorkloadRunner", "WorkloadScheduler"]


class WorkloadRunner(Protocol):
    """Runs one planned workload to its end; returns its result, never raises."""

    def __call__(self, planned: PlannedWorkload, context: WorkloadContext) -> WorkloadResult: ...


def _failed(planned: PlannedWorkload, error: BaseException) -> WorkloadResult:
    return WorkloadResult(
        name=planned.name,
        method=planned.workload.method,
        status="ERROR",
        tags=planned.workload.options.job_tags,
        num_parameters=int(planned.x0.size),
        x0=tuple(float(v) for v in planned.x0),
        history=(),
        result=None,
        error=f"{type(error).__name__}: {error}",
        reference=planned.reference,
        exact_minimum=planned.exact_minimum,
    )


class WorkloadScheduler:
    """Runs workloads on threads and keeps each one's result as soon as it ends."""

    def __init__(
        self,
        workloads: tuple[PlannedWorkload, ...],
        runners: Mapping[str, WorkloadRunner],
        context: WorkloadContext,
        *,
        concurrent: bool,
    ) -> None:
        self._workloads = workloads
        self._runners = runners
        self._context = context
        self._concurrent = concurrent
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.results: dict[str, WorkloadResult] = {}

    def _run(self, group: tuple[PlannedWorkload, ...]) -> None:
        for planned in group:
            if self._context.stop.is_set():
                return
            runner = self._runners[type(planned.workload).__name__]
            try:
                result = runner(planned, self._context)
            except Exception as error:  # noqa: BLE001 - recorded; the others go on
                result = _failed(planned, error)
            with self._lock:
                self.results[planned.name] = result

    def start(self) -> None:
        """Start the workloads (at once when concurrent, else one after another)."""
        groups = (
            [(planned,) for planned in self._workloads] if self._concurrent else [self._workloads]
        )
        for index, group in enumerate(groups):
            if not group:
                continue
            thread = threading.Thread(
                target=self._run, args=(group,), name=f"qrun-workload-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def join(self) -> None:
        """Wait until every workload has ended."""
        for thread in self._threads:
            thread.join()

    def stop(self) -> None:
        """Submit nothing more (the caller cancels the channel's queued jobs); workload
        processes give up at their next request."""
        self._context.stop.set()
        if self._context.processes is not None:
            self._context.processes.stop()

    def ordered(self) -> dict[str, WorkloadResult]:
        """The results so far, in manifest order."""
        with self._lock:
            return {
                planned.name: self.results[planned.name]
                for planned in self._workloads
                if planned.name in self.results
            }
