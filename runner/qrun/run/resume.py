"""Resuming an interrupted run from its record folder (``qrun resume RUN_DIR``).

What a resume does, from the journal (:mod:`qrun.run.journal`) and the manifest's copy:

- A run whose journal says ``finished`` is not run again: :func:`resume_run` returns a
  report with ``finished_before`` set and nothing else happens.
- Where jobs outlive the process (the runtime provider), every job the journal lists is
  looked up by its id and collected; none is submitted again, except one the service
  reports ``CANCELLED`` (it never ran to its end: an interrupted run cancels its queued
  jobs), which is submitted anew. The primitives that have no job yet are submitted in
  the same session if it is still open and accepting jobs, otherwise in a new one.
- Where jobs end with their process (the local provider), a job that has no result in
  the record is run again, in a new session; the results an interrupted run recorded are
  kept.
- Iterative workloads are restarted from their initial point: their jobs depend on the
  optimiser's state, which ended with the process.

Each of these is said in ``run.json`` (``resumed``) and in the journal's ``resumes``; the
record folder is completed in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qrun.clock import iso_time
from qrun.errors import BackendError
from qrun.manifest.model import Service, plain
from qrun.run.execute import JobRecord, step_tag
from qrun.run.journal import JournalContext, JournaledJob, JournalError, read_journal
from qrun.run.pipeline import record_run, service_settings

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from qiskit.primitives import PrimitiveResult

    from qrun.manifest.model import JSON, Manifest
    from qrun.providers import Channel, Job, Provider
    from qrun.run.journal import Journal
    from qrun.run.pipeline import RunReport
    from qrun.run.plan import Plan
    from qrun.workloads.context import Progress

__all__ = ["ResumeReport", "resume_run"]


@dataclass(frozen=True)
class ResumeReport:
    """What a resume did: ``run`` is None when the run had finished before."""

    folder: Path
    journal: Journal
    run: RunReport | None
    note: Mapping[str, JSON] | None

    @property
    def finished_before(self) -> bool:
        return self.run is None


class _KeptResult:
    """A job of an interrupted local run whose result the record kept: already done."""

    def __init__(self, job_id: str, result: PrimitiveResult) -> None:
        self._job_id = job_id
        self._result = result

    def job_id(self) -> str:
        return self._job_id

    def status(self) -> str:
        return "DONE"

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        del timeout
        return self._result

    def cancel(self) -> None:
        pass


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _manifest(journal: Journal) -> Manifest:
    """The manifest as it was run: the original file while it is unchanged (files it
    refers to are found beside it), else the record's copy."""
    from pathlib import Path

    from qrun.manifest.load import load_manifest

    copy = journal.folder / "manifest.yaml"
    try:
        text = copy.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise JournalError(
            f"{journal.folder} is not a whole run record: {copy.name} is missing"
        ) from None
    if _sha256(text) != journal.manifest_sha256:
        raise JournalError(f"{copy} was changed after the run started; it cannot be resumed")
    original = Path(journal.manifest_file)
    try:
        unchanged = _sha256(original.read_text(encoding="utf-8")) == journal.manifest_sha256
    except (OSError, UnicodeDecodeError):
        unchanged = False
    return load_manifest(original if unchanged else copy)


def _submitted_at(job: JournaledJob, otherwise: float) -> float:
    """When the journal says ``job`` was submitted (system-clock seconds), else ``otherwise``."""
    if job.submitted_at is None:
        return otherwise
    try:
        return datetime.fromisoformat(job.submitted_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return otherwise


def _record(job: JournaledJob, status: str, now: float) -> JobRecord:
    return JobRecord(
        name=job.name,
        kind=job.kind,
        job_id=job.job_id,
        tags=job.tags,
        status=status,
        submitted_at=_submitted_at(job, now),
    )


def _kept_results(journal: Journal) -> Mapping[str, PrimitiveResult]:
    """The results an interrupted run wrote into its record (none after a kill)."""
    from qrun.run.results import load_results

    if not journal.ended:
        return {}
    try:
        return load_results(journal.folder)
    except Exception:  # noqa: BLE001 - a record cut short keeps nothing usable
        return {}


def _candidates(journal: Journal, provider: Provider, plan: Plan) -> dict[str, list[JournaledJob]]:
    """Per primitive, the jobs submitted for it: the journal's, then any job carrying its
    step tag that the journal does not name (submitted just before a kill)."""
    names = [primitive.name for primitive in plan.primitives]
    kinds = {primitive.name: primitive.primitive.kind for primitive in plan.primitives}
    found: dict[str, list[JournaledJob]] = {name: [] for name in names}
    for entry in journal.jobs:
        if entry.name in found:
            found[entry.name].append(entry)
    if provider.keeps_jobs and journal.run_tag is not None:
        known = {entry.job_id for entry in journal.jobs}
        for name in names:
            for job_id in provider.job_ids([step_tag(journal.run_tag, name)]):
                if job_id not in known:
                    found[name].insert(0, JournaledJob(name, kinds[name], job_id, (), "TAGGED"))
    return found


def _found_jobs(
    journal: Journal, plan: Plan, provider: Provider, note: dict[str, JSON]
) -> dict[str, tuple[Job, JobRecord]]:
    """The jobs that are collected rather than submitted, by primitive."""
    now = provider.clock.now()
    collected: list[JSON] = []
    again: list[JSON] = []
    found: dict[str, tuple[Job, JobRecord]] = {}
    kept = {} if provider.keeps_jobs else _kept_results(journal)
    tags = {primitive.name: primitive.primitive.options.job_tags for primitive in plan.primitives}
    for name, entries in _candidates(journal, provider, plan).items():
        for entry in entries:
            if provider.keeps_jobs:
                job: Job = provider.job(entry.job_id)
                status = job.status()
            elif name in kept:
                job, status = _KeptResult(entry.job_id, kept[name]), "DONE"
            else:
                status = entry.status
            said = {"name": name, "job_id": entry.job_id, "status": status}
            if entry.status == "TAGGED":
                said["found_by"] = "tag"
            if status == "CANCELLED" or (not provider.keeps_jobs and name not in kept):
                again.append(said)
                continue
            record = _record(entry, status, now)
            record.tags = tags[name]
            found[name] = (job, record)
            collected.append(said)
            break
    note["collected"] = tuple(collected)
    note["submitted_again"] = tuple(again)
    return found


def _channel(
    journal: Journal,
    plan: Plan,
    provider: Provider,
    note: dict[str, JSON],
    earlier: Mapping[str, object],
) -> Channel | None:
    """The session to go on in, if it still accepts jobs; None: a new one is opened. When
    nothing is left to submit, no new session is opened (jobs are only collected)."""
    channel = None
    if journal.session_id is not None and journal.mode != "job":
        channel = provider.attach(plan.backend, journal.mode, journal.session_id)
    left = len(plan.primitives) > len(earlier) or plan.workloads
    if journal.mode == "job":
        note["session"] = "none"
    elif channel is not None:
        note["session"] = "same"
    elif not left:
        note["session"] = "not needed"
        channel = provider.open(plan.backend, "job", None)
    else:
        note["session"] = "new"
    return channel


def _pinned(manifest: Manifest, journal: Journal) -> Manifest:
    """``manifest`` on the backend the run used (``least_busy`` may pick another now)."""
    if manifest.backend.kind != "least_busy":
        return manifest
    backend = dataclasses.replace(manifest.backend, kind="ibm", name=journal.backend)
    return dataclasses.replace(manifest, backend=backend)


def resume_run(
    folder: Path,
    *,
    provider: Provider | None = None,
    settings: Service | None = None,
    progress: Progress | None = None,
) -> ResumeReport:
    """Continue the interrupted run recorded in ``folder`` (see the module docstring).

    ``settings`` override the service the journal names (command-line values);
    ``provider`` is used as given (tests). Raises :class:`JournalError` for a folder that
    is not a resumable record.
    """
    from qrun.providers import provider_for, provider_name
    from qrun.run.plan import make_plan

    journal = read_journal(folder)
    if journal.state == "finished":
        return ResumeReport(folder, journal, None, None)
    manifest = _pinned(_manifest(journal), journal)
    given = settings or Service()
    service = service_settings(
        manifest,
        Service(
            channel=given.channel or journal.service.channel,
            instance=given.instance or journal.service.instance,
            url=given.url or journal.service.url,
        ),
    )
    chosen = provider
    if chosen is None:
        name = provider_name(manifest.backend.kind, service)
        if name != journal.provider:
            raise JournalError(
                f"{folder}: the run used the {journal.provider} provider, and these service "
                f"settings choose the {name} one"
            )
        chosen = provider_for(manifest.backend.kind, service)
    try:
        plan = make_plan(manifest, chosen)
        if plan.backend.name != journal.backend:
            raise BackendError(
                f"the run used backend {journal.backend}; the service now resolves "
                f"{plan.backend.name}"
            )
        note: dict[str, JSON] = {
            "at": iso_time(chosen.clock.now()),
            "qrun": plain(_version()),
            "state_before": journal.state,
            "from_session": journal.session_id,
            "jobs_outlive_process": chosen.keeps_jobs,
        }
        earlier = _found_jobs(journal, plan, chosen, note)
        channel = _channel(journal, plan, chosen, note, earlier)
        note["workloads_restarted"] = tuple(planned.name for planned in plan.workloads)
        context = JournalContext(service, (*journal.resumes, note), run_tag=journal.run_tag)
        report = record_run(
            plan,
            chosen,
            folder,
            context=context,
            progress=progress,
            channel=channel,
            earlier=earlier,
            resumed=note,
        )
    finally:
        if provider is None:
            chosen.shutdown()
    return ResumeReport(folder, journal, report, note)


def _version() -> str:
    from qrun import __version__

    return __version__
