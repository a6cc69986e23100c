"""Running a manifest end to end: plan, execute, record.

This is the library face of ``qrun run``: ``run_manifest(manifest)`` returns a
:class:`RunReport` with the outcome, the record folder and what the record holds.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.providers import Service, provider_for, provider_name
from qrun.run.execute import execute
from qrun.run.journal import JournalContext, journal_document, replace_file, write_journal
from qrun.run.plan import make_plan
from qrun.run.record import claim_folder, default_folder, write_record

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from qrun.compute import Compute
    from qrun.manifest.model import JSON, Manifest
    from qrun.providers import Channel, Job, Provider
    from qrun.run.execute import JobRecord, RunOutcome
    from qrun.run.plan import Plan
    from qrun.run.record import RunRecord
    from qrun.run.results import ResultsDocument
    from qrun.workloads.context import Progress

__all__ = ["RunReport", "record_run", "run_manifest", "service_settings"]


@dataclass(frozen=True)
class RunReport:
    """What a run produced."""

    outcome: RunOutcome
    folder: Path
    record: RunRecord

    @property
    def results(self) -> ResultsDocument:
        """The results document (``results.json``)."""
        return self.record.document


def service_settings(manifest: Manifest, overrides: Service | None) -> Service:
    """The manifest's ``service`` with any command-line value taking precedence."""
    service = manifest.service
    given = overrides or Service()
    return Service(
        channel=given.channel or (service.channel if service else None),
        instance=given.instance or (service.instance if service else None),
        url=given.url or (service.url if service else None),
    )


def _compute_of(provider: Provider) -> str | None:
    """Where ``provider``'s jobs compute, as ``--compute`` names it (the local provider
    says); None where a service computes them."""
    compute = getattr(provider, "compute", None)
    return None if compute is None else str(compute)


def record_run(
    plan: Plan,
    provider: Provider,
    folder: Path,
    *,
    context: JournalContext,
    progress: Progress | None = None,
    channel: Channel | None = None,
    earlier: Mapping[str, tuple[Job, JobRecord]] | None = None,
    resumed: Mapping[str, JSON] | None = None,
) -> RunReport:
    """Execute ``plan`` and record it in ``folder``: the journal as the session opens and
    after each submission, the whole record (journal last) when the run ends.
    ``channel``, ``earlier`` and ``resumed`` are a resumed run's (see
    :mod:`qrun.run.resume`)."""

    copy = folder / "manifest.yaml"

    def journal(partial: RunOutcome) -> None:
        if not copy.exists():  # first, so that a journal always has its manifest beside it
            replace_file(copy, plan.manifest.text)
        write_journal(folder, journal_document(partial, context, ended=False))

    outcome = execute(
        plan,
        provider,
        clock=provider.clock,
        progress=progress,
        on_submitted=journal,
        channel=channel,
        earlier=earlier,
        run_tag=context.run_tag if provider.keeps_jobs else None,
    )
    outcome.resumed = resumed
    outcome.compute = _compute_of(provider)
    record = write_record(outcome, folder, context)
    return RunReport(outcome, folder, record)


def _provider(manifest: Manifest, service: Service, compute: Compute | None) -> Provider:
    local = provider_name(manifest.backend.kind, service) == "local"
    if local and compute is not None and compute.kind != "local":  # else the registry's
        from qrun.providers.local import LocalProvider

        return LocalProvider(service, compute=compute)
    return provider_for(manifest.backend.kind, service)


def run_manifest(
    manifest: Manifest,
    *,
    provider: Provider | None = None,
    settings: Service | None = None,
    output: Path | None = None,
    progress: Progress | None = None,
    compute: Compute | None = None,
) -> RunReport:
    """Plan (raising every problem at once), run, and record ``manifest``.

    ``output`` is the record folder (default ``runs/<UTC timestamp>-<name>/`` beside the
    manifest). ``compute`` is where a local run's jobs compute (default: threads of this
    process); jobs of a Runtime service compute there, whatever it says.
    An interrupted run still writes its record; ``outcome.interrupted`` says so.
    The manifest's copy and the journal are written as soon as the session opens, so a run
    killed after that can be resumed (``qrun resume``).
    """
    service = service_settings(manifest, settings)
    chosen = provider or _provider(manifest, service, compute)
    try:
        plan = make_plan(manifest, chosen)
        if output is None:
            folder = default_folder(manifest, chosen.clock.now())
        else:
            folder = claim_folder(output)
        try:
            context = JournalContext(service, run_tag=f"qrun-run-{uuid.uuid4().hex[:16]}")
            report = record_run(plan, chosen, folder, context=context, progress=progress)
        except BaseException:
            if not (folder / "journal.json").exists():  # no session opened: nothing to keep
                with contextlib.suppress(OSError):
                    (folder / "manifest.yaml").unlink(missing_ok=True)
                    folder.rmdir()
            raise
    finally:
        if provider is None:
            chosen.shutdown()
    return report
