"""Running a plan's workloads in the open channel: side by side, or one after another.

Workloads run on threads, so the caller's thread only waits and can take a keyboard
interrupt: :meth:`WorkloadScheduler.stop` then keeps every workload from submitting more
and cancels the jobs they wait for, and :meth:`~WorkloadScheduler.join` collects what each
had done. With ``execution.workloads: concurrent`` (the default) each workload has its own
thread; its jobs still go through the one channel, and the backend's scheduler decides
when they run. The optimisers of concurrent workloads run where the channel hosts them
(:attr:`~qrun.providers.base.Channel.hosting`): on the local provider each in a process
of its own, so they compute in parallel and each thread only waits for its workload's
end; elsewhere on the workloads' threads, where they share one interpreter lock and the
gain comes from the jobs overlapping on the backend.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from qrun.manifest.model import FromWorkload
from qrun.providers.hosting import ThreadHosting
from qrun.workloads.history import WorkloadResult, WorkloadStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qrun.providers.base import Host
    from qrun.workloads.asking import Ask, Optimisation
    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.history import OptimizerResult
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["WorkloadRunner", "WorkloadScheduler"]


class WorkloadRunner(Protocol):
    """Runs one kind of workload: its optimisation goes where the channel hosts it, and
    the runner evaluates and records what it asks for."""

    def task(self, planned: PlannedWorkload) -> Optimisation:
        """The optimisation of ``planned``, to run on its host."""
        ...

    def run(
        self, planned: PlannedWorkload, context: WorkloadContext, host: Host[Ask, OptimizerResult]
    ) -> WorkloadResult:
        """Run ``planned`` to its end on ``host``; return its result, never raise."""
        ...


_NOT_STARTED = "the run was interrupted before this workload started"


def _failed(
    planned: PlannedWorkload, status: WorkloadStatus, error: BaseException | str
) -> WorkloadResult:
    """The result of a workload that ended without an optimiser's result."""
    return WorkloadResult(
        name=planned.name,
        method=planned.workload.method,
        status=status,
        tags=planned.workload.options.job_tags,
        num_parameters=int(planned.x0.size),
        x0=tuple(float(v) for v in planned.x0),
        history=(),
        result=None,
        error=error if isinstance(error, str) else f"{type(error).__name__}: {error}",
        reference=planned.reference,
        exact_minimum=planned.exact_minimum,
        exact_skipped=planned.exact_skipped,
    )


class WorkloadScheduler:
    """Runs workloads on threads and keeps each one's result as soon as it ends.

    :meth:`host` places the optimisers before anything is submitted (a hosting may fork
    processes, which must not happen while a simulation runs on a thread of this one);
    :meth:`close` releases them, whatever happened.
    """

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
        self._hosts: dict[str, Host[Ask, OptimizerResult]] = {}
        # One event a thread, set when it has stored its last result: a Thread.join()
        # that a KeyboardInterrupt breaks marks the thread as ended while it still runs,
        # so waiting for the end goes through these instead.
        self._ended: list[threading.Event] = []
        # One event a workload, set when its result is stored (see wait()).
        self._done = {planned.name: threading.Event() for planned in workloads}
        self._lock = threading.Lock()
        self.results: dict[str, WorkloadResult] = {}

    def _runner(self, planned: PlannedWorkload) -> WorkloadRunner:
        return self._runners[type(planned.workload).__name__]

    def host(self) -> None:
        """Place every optimiser: where the channel hosts them when they run side by
        side, else on the workloads' threads."""
        if not self._workloads:
            return
        channel = self._context.channel
        side_by_side = self._concurrent and len(self._workloads) > 1
        hosting = channel.hosting if side_by_side else ThreadHosting(channel)
        # A workload that starts from another's point is placed when that one has ended.
        tasks = {
            planned.name: self._runner(planned).task(planned)
            for planned in self._workloads
            if not isinstance(planned.workload.x0, FromWorkload)
        }
        self._hosts = hosting.host(tasks)

    def _run(self, group: tuple[PlannedWorkload, ...], ended: threading.Event) -> None:
        try:
            self._run_group(group)
        finally:
            for planned in group:  # whatever happened, nobody waits for them forever
                self._done[planned.name].set()
            ended.set()

    def _run_group(self, group: tuple[PlannedWorkload, ...]) -> None:
        for planned in group:
            if self._context.stop.is_set():
                with self._lock:
                    self.results[planned.name] = _failed(planned, "CANCELLED", _NOT_STARTED)
                self._done[planned.name].set()
                continue
            source = planned.workload.x0
            if isinstance(source, FromWorkload):
                started = self._start_from(planned, source)
                if isinstance(started, WorkloadResult):
                    self._store(planned, started)
                    continue
                planned = started
            try:
                result = self._runner(planned).run(
                    planned, self._context, self._hosts[planned.name]
                )
            except Exception as error:  # noqa: BLE001 - recorded; the others go on
                result = _failed(planned, "ERROR", error)
            finally:
                self._hosts[planned.name].close()
            if isinstance(source, FromWorkload):
                result = replace(
                    result, x0_from=f"the {source.point} point of workload {source.workload!r}"
                )
            self._store(planned, result)

    def _start_from(
        self, planned: PlannedWorkload, source: FromWorkload
    ) -> PlannedWorkload | WorkloadResult:
        """``planned`` starting from ``source``'s point, placed on this thread once that
        workload has ended; or its result when there is no such point."""
        import numpy as np

        self._done[source.workload].wait()
        with self._lock:
            found = self.results.get(source.workload)
        point = None if found is None else found.point(source.point)[0]
        if point is None or self._context.stop.is_set():
            ended = "did not run" if found is None else f"ended {found.status}"
            return _failed(
                planned,
                "CANCELLED",
                f"x0 comes from workload {source.workload!r}, which {ended} without a "
                f"{source.point} point",
            )
        planned = replace(planned, x0=np.asarray(point, dtype=float))
        hosting = ThreadHosting(self._context.channel)
        host = hosting.host({planned.name: self._runner(planned).task(planned)})
        with self._lock:
            self._hosts.update(host)
        return planned

    def _store(self, planned: PlannedWorkload, result: WorkloadResult) -> None:
        with self._lock:
            self.results[planned.name] = result
        self._done[planned.name].set()

    def start(self) -> None:
        """Start the workloads (at once when concurrent, else one after another)."""
        if len(self._hosts) < len(self._workloads):
            self.host()
        groups = (
            [(planned,) for planned in self._workloads] if self._concurrent else [self._workloads]
        )
        for index, group in enumerate(groups):
            if not group:
                continue
            ended = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(group, ended), name=f"qrun-workload-{index}", daemon=True
            )
            self._ended.append(ended)
            thread.start()

    def wait(self, name: str) -> WorkloadResult | None:
        """Wait until workload ``name`` has ended and return its result; None when the
        plan has no such workload or the workloads were never started."""
        done = self._done.get(name)
        if done is None or not self._ended:
            return None
        done.wait()
        with self._lock:
            return self.results.get(name)

    def join(self) -> None:
        """Wait until every workload has ended."""
        for ended in self._ended:
            ended.wait()

    def stop(self) -> None:
        """Submit nothing more (the caller cancels the channel's queued jobs); optimisers
        hosted elsewhere give up at their next request."""
        self._context.stop.set()
        for host in self._hosts.values():
            host.stop()

    def close(self) -> None:
        """Release every host; nothing of them is left running."""
        for host in self._hosts.values():
            host.close()

    def ordered(self) -> dict[str, WorkloadResult]:
        """Every workload's result, in manifest order; one that never started (the run was
        interrupted first) is CANCELLED with no history."""
        with self._lock:
            return {
                planned.name: self.results.get(planned.name)
                or _failed(planned, "CANCELLED", _NOT_STARTED)
                for planned in self._workloads
            }
