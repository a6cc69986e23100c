"""Executing a plan: open the session (or batch, or nothing), submit one job per primitive
in manifest order, close, and collect the results.

Iterative workloads run after the primitives are submitted, inside the same channel,
side by side or one after another (:mod:`qrun.workloads.scheduling`); each kind plugs in
at :data:`WORKLOAD_RUNNERS`, and their machinery is imported only for a plan that has
workloads. Their optimisers are placed where the channel hosts them before anything is
submitted. A keyboard interrupt stops the workloads from submitting
more and cancels the session at once, so no session is left open and billing; the
results of jobs that had already finished, and every workload's history so far, are
kept and the outcome is marked interrupted.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from qrun.errors import JobCancelledError, JobError, PricingPlanError
from qrun.manifest.diagnostics import ManifestError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from qiskit.primitives import PrimitiveResult

    from qrun.clock import Clock
    from qrun.providers import Channel, ExecutionMode, Job, Provider
    from qrun.run.plan import Plan, PlannedPrimitive
    from qrun.workloads.context import Progress
    from qrun.workloads.history import WorkloadResult
    from qrun.workloads.scheduling import WorkloadRunner, WorkloadScheduler

__all__ = [
    "WORKLOAD_RUNNERS",
    "JobRecord",
    "RunOutcome",
    "SilentProgress",
    "execute",
    "step_tag",
]


@dataclass
class JobRecord:
    """What the run record keeps of one job."""

    name: str  # the primitive (or workload) that submitted it
    kind: str
    job_id: str
    tags: tuple[str, ...]
    status: str
    submitted_at: float
    finished_at: float | None = None
    error: str | None = None


@dataclass
class RunOutcome:
    """What happened: the channel, its details before and after, the jobs and results."""

    plan: Plan
    mode: ExecutionMode
    started_at: float
    fallback: bool = False  # ran as a batch because the instance cannot open sessions
    session_id: str | None = None
    details_start: Mapping[str, object] | None = None
    details_end: Mapping[str, object] | None = None
    status_end: str | None = None
    jobs: list[JobRecord] = field(default_factory=list)
    results: dict[str, PrimitiveResult] = field(default_factory=dict)
    workload_results: dict[str, WorkloadResult] = field(default_factory=dict)
    interrupted: bool = False
    finished_at: float | None = None
    resumed: Mapping[str, object] | None = None  # how a resumed run continued (run.json)
    run_tag: str | None = None  # see step_tag

    @property
    def failed(self) -> list[JobRecord]:
        return [job for job in self.jobs if job.error is not None]

    @property
    def failed_workloads(self) -> list[WorkloadResult]:
        """Workloads that did not finish (a job failed, the session ended, …)."""
        return [result for result in self.workload_results.values() if result.status != "DONE"]


class SilentProgress:
    """No display (tests, ``--json``, CI, output that is not a terminal)."""

    def submitted(self, name: str, job_id: str) -> None:
        pass

    def waiting(self, name: str, job_id: str) -> None:
        pass

    def finished(self, name: str, job_id: str, status: str) -> None:
        pass


#: workload class name -> "module:class" of its runner (a
#: :class:`~qrun.workloads.scheduling.WorkloadRunner`), imported only when a plan has such
#: a workload. The schema's workload kinds and this registry are kept equal by a test.
WORKLOAD_RUNNERS: dict[str, str] = {"Minimize": "qrun.workloads.minimize:MinimizeRunner"}


def _runner(kind: str) -> WorkloadRunner:
    module, _, name = WORKLOAD_RUNNERS[kind].partition(":")
    return cast("WorkloadRunner", getattr(importlib.import_module(module), name)())


class _NoWorkloads:
    """The scheduler of a plan without workloads: nothing of theirs is imported."""

    def host(self) -> None:
        pass

    def start(self) -> None:
        pass

    def join(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def ordered(self) -> dict[str, WorkloadResult]:
        return {}


def _scheduler(
    plan: Plan, channel: Channel, clock: Clock, display: Progress, started_at: float
) -> WorkloadScheduler | _NoWorkloads:
    if not plan.workloads:
        return _NoWorkloads()
    from qrun.workloads.context import WorkloadContext
    from qrun.workloads.scheduling import WorkloadScheduler

    context = WorkloadContext(
        channel=channel,
        clock=clock,
        progress=display,
        run_started=started_at,
        session_opened=clock.now(),
    )
    kinds = {type(planned.workload).__name__ for planned in plan.workloads}
    return WorkloadScheduler(
        plan.workloads,
        {kind: _runner(kind) for kind in kinds},
        context,
        concurrent=plan.manifest.execution.workloads == "concurrent",
    )


def _open(plan: Plan, provider: Provider, outcome: RunOutcome) -> Channel:
    execution = plan.manifest.execution
    try:
        return provider.open(plan.backend, plan.mode, plan.max_time)
    except PricingPlanError as error:
        if plan.mode != "session":
            raise
        if not execution.fallback:
            message = (
                f"{error}; nothing was submitted. Run it as a batch (execution.mode: batch), "
                "or set execution.fallback: true to do so automatically."
            )
            issue = plan.manifest.source.issue(f"{execution.path}.mode", message)
            raise ManifestError([issue]) from error
    outcome.mode = "batch"
    outcome.fallback = True
    return provider.open(plan.backend, "batch", plan.max_time)


def step_tag(run_tag: str, primitive: str) -> str:
    """The tag a run's job for ``primitive`` carries beside the manifest's, so that a
    resumed run finds a job submitted just before its journal could name it."""
    return f"{run_tag}:{primitive}"


def _submit(
    primitive: PlannedPrimitive,
    channel: Channel,
    clock: Clock,
    outcome: RunOutcome,
    run_tag: str | None,
) -> tuple[Job, JobRecord]:
    options = primitive.primitive.options
    tagged = options
    if run_tag is not None:
        tags = (*options.job_tags, step_tag(run_tag, primitive.name))
        tagged = dataclasses.replace(options, job_tags=tags)
    job = channel.submit(primitive.primitive.kind, [pub.pub for pub in primitive.pubs], tagged)
    record = JobRecord(
        name=primitive.name,
        kind=primitive.primitive.kind,
        job_id=job.job_id(),
        tags=options.job_tags,
        status=job.status(),
        submitted_at=clock.now(),
    )
    outcome.jobs.append(record)
    return job, record


def _collect(job: Job, record: JobRecord, clock: Clock, outcome: RunOutcome) -> None:
    try:
        outcome.results[record.name] = job.result()
    except JobError as error:
        record.error = error.reason
    record.status = job.status()
    record.finished_at = clock.now()
    if isinstance(record.error, str) and record.status not in ("ERROR", "CANCELLED"):
        record.status = "ERROR"


def _keep_finished(submitted: list[tuple[Job, JobRecord]], outcome: RunOutcome) -> None:
    """After an interrupt: keep results of jobs that finished, cancel the others."""
    for job, record in submitted:
        if record.name in outcome.results:
            continue
        try:
            status = job.status()
            if status == "DONE":
                outcome.results[record.name] = job.result(timeout=0)
            elif status not in ("ERROR", "CANCELLED"):
                job.cancel()
                status = job.status()
        except (JobError, JobCancelledError) as error:
            record.error = error.reason
            status = job.status()
        record.status = status


def execute(
    plan: Plan,
    provider: Provider,
    *,
    clock: Clock,
    progress: Progress | None = None,
    on_submitted: Callable[[RunOutcome], None] | None = None,
    channel: Channel | None = None,
    earlier: Mapping[str, tuple[Job, JobRecord]] | None = None,
    run_tag: str | None = None,
) -> RunOutcome:
    """Run ``plan`` on ``provider``; return what happened (also when interrupted).

    ``on_submitted`` is called once the channel is open and after each submission, before
    any wait, so that a journal of the session and job ids can be written for a run that
    is interrupted. A resumed run passes the ``channel`` to go on in (else one is opened)
    and the jobs submitted ``earlier``, by primitive: those are collected, not submitted.
    With ``run_tag`` each job also carries :func:`step_tag` (the record lists the
    manifest's tags only).
    """
    display = progress or SilentProgress()
    outcome = RunOutcome(plan=plan, mode=plan.mode, started_at=clock.now(), run_tag=run_tag)
    if channel is None:
        channel = _open(plan, provider, outcome)
    else:
        outcome.mode = channel.mode
        outcome.fallback = plan.mode == "session" and channel.mode == "batch"
    outcome.session_id = channel.session_id
    outcome.details_start = channel.details()
    found = earlier or {}
    outcome.jobs.extend(record for _job, record in found.values())
    workloads = _scheduler(plan, channel, clock, display, outcome.started_at)
    submitted: list[tuple[Job, JobRecord]] = []
    try:
        if on_submitted is not None:
            on_submitted(outcome)
        workloads.host()  # before any job: a hosting may fork
        for primitive in plan.primitives:
            if primitive.name in found:
                submitted.append(found[primitive.name])
                continue
            job, record = _submit(primitive, channel, clock, outcome, run_tag)
            submitted.append((job, record))
            display.submitted(record.name, record.job_id)
            if on_submitted is not None:
                on_submitted(outcome)
        order = [record for _job, record in submitted]
        outcome.jobs.sort(key=order.index)  # manifest order, earlier jobs included
        workloads.start()
        workloads.join()
        channel.close()  # no more jobs: the session drains and then closes at once
        for job, record in submitted:
            display.waiting(record.name, record.job_id)
            _collect(job, record, clock, outcome)
            display.finished(record.name, record.job_id, record.status)
    except KeyboardInterrupt:
        outcome.interrupted = True
        workloads.stop()
        channel.cancel()
        workloads.join()
        _keep_finished(submitted, outcome)
    finally:
        workloads.close()  # nothing of the workloads is left running, whatever happened
        outcome.workload_results = workloads.ordered()
        outcome.details_end = channel.details()
        outcome.status_end = channel.status()
        outcome.finished_at = clock.now()
    return outcome
