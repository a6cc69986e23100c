"""Executing a plan: open the session (or batch, or nothing), submit one job per primitive
in manifest order, close, and collect the results.

Iterative workloads run after the primitives are submitted, inside the same channel,
side by side or one after another (:mod:`qrun.workloads.scheduling`). A primitive whose
PUBs take their parameter values from workloads (:mod:`qrun.run.chaining`) is submitted
when those workloads have ended, with their points bound, in manifest order; the
others are submitted first, as always, and keep running alongside. Each kind plugs in
at :data:`WORKLOAD_RUNNERS`, and their machinery is imported only for a plan that has
workloads. Their optimisers are placed where the channel hosts them before anything is
submitted. A keyboard interrupt stops the workloads from submitting
more and cancels the session at once, so no session is left open and billing; the
results of jobs that had already finished, and every workload's history so far, are
kept and the outcome is marked interrupted.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from qrun.errors import JobCancelledError, JobError, PricingPlanError
from qrun.interrupts import Holding
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.model import FromWorkload
from qrun.run.chaining import Feed, bind
from qrun.run.review import max_time_warning

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
    feeds: list[Feed] = field(default_factory=list)  # which workload point fed which PUB
    interrupted: bool = False
    finished_at: float | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. a max_time the instance cut
    resumed: Mapping[str, object] | None = None  # how a resumed run continued (run.json)
    run_tag: str | None = None  # see step_tag
    compute: str | None = None  # where a local run's jobs computed (run.json)

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

    def wait(self, name: str) -> WorkloadResult | None:
        del name
        return None

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
        tagged = replace(options, job_tags=tags)
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


def _feed(
    planned: PlannedPrimitive, results: Mapping[str, WorkloadResult | None]
) -> tuple[PlannedPrimitive | None, list[Feed]]:
    """``planned`` with each chained PUB bound to its workload's point, and the feeds;
    None (nothing to submit) when a workload it waits for gave no such point."""
    feeds: list[Feed] = []
    pubs = list(planned.pubs)
    for position, pub in enumerate(pubs):
        spec = planned.primitive.pubs[pub.index]
        values = spec.parameter_values
        if not isinstance(values, FromWorkload):
            continue
        result = results.get(values.workload)
        point, cost = (None, None) if result is None else result.point(values.point)
        fed = Feed(planned.name, pub.index, spec.path, values.workload, values.point, point, cost)
        if point is None:
            status = "did not run" if result is None else f"ended {result.status}"
            problem = f"workload {values.workload!r} {status} without a {values.point} point"
            if result is not None and result.error:
                problem += f" ({result.error})"
            fed = replace(fed, problem=f"{problem}; the PUB was not submitted")
        else:
            pubs[position] = replace(pub, pub=bind(pub.pub, point))
        feeds.append(fed)
    if any(item.values is None for item in feeds):
        return None, feeds
    return replace(planned, pubs=tuple(pubs)), feeds


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


def _steps(
    plan: Plan,
    workloads: WorkloadScheduler | _NoWorkloads,
    outcome: RunOutcome,
    submit: Callable[[PlannedPrimitive], None],
    *,
    found: Mapping[str, tuple[Job, JobRecord]],
    submitted: list[tuple[Job, JobRecord]],
) -> None:
    """Submit the primitives in manifest order: unchained ones at once, then the
    workloads start, then each chained one once its workloads have ended. A primitive
    whose job an earlier attempt submitted (``found``) is collected, not submitted."""
    for primitive in plan.primitives:
        if primitive.primitive.sources:
            continue  # chained: submitted once its workloads have ended, below
        if primitive.name in found:
            submitted.append(found[primitive.name])
            continue
        submit(primitive)
    names = [primitive.name for primitive in plan.primitives]
    outcome.jobs.sort(  # manifest order, jobs of an earlier attempt included
        key=lambda record: names.index(record.name) if record.name in names else len(names)
    )
    workloads.start()
    for primitive in plan.primitives:  # chained ones, in manifest order
        sources = primitive.primitive.sources
        if sources and primitive.name in found:
            submitted.append(found[primitive.name])
        elif sources:
            bound, feeds = _feed(primitive, {name: workloads.wait(name) for name in sources})
            outcome.feeds.extend(feeds)
            if bound is not None:
                submit(bound)


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
    # A Ctrl-C while the session opens would leave it open and unknown to the record: it
    # is held back until the run knows the session, then handled as any other.
    with Holding() as held:
        if channel is None:
            channel = _open(plan, provider, outcome)
        else:
            outcome.mode = channel.mode
            outcome.fallback = plan.mode == "session" and channel.mode == "batch"
        outcome.session_id = channel.session_id
        outcome.details_start = channel.details()
        workloads = _scheduler(plan, channel, clock, display, outcome.started_at)
    found = earlier or {}
    outcome.jobs.extend(record for _job, record in found.values())
    submitted: list[tuple[Job, JobRecord]] = []

    def submit(primitive: PlannedPrimitive) -> None:
        job, record = _submit(primitive, channel, clock, outcome, run_tag)
        submitted.append((job, record))
        display.submitted(record.name, record.job_id)
        if on_submitted is not None:
            on_submitted(outcome)

    try:
        if on_submitted is not None:
            on_submitted(outcome)
        with Holding():  # processes and threads start whole
            workloads.host()  # before any job: a hosting may fork
        held.deliver()  # a Ctrl-C that came meanwhile is handled below, record and all
        _steps(plan, workloads, outcome, submit, found=found, submitted=submitted)
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
        cut = max_time_warning(plan, outcome.details_start) or max_time_warning(
            plan, outcome.details_end
        )
        if cut is not None:
            outcome.warnings.append(cut)
    return outcome
