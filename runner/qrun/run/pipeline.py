"""Running a manifest end to end: plan, execute, record.

This is the library face of ``qrun run``: ``run_manifest(manifest)`` returns a
:class:`RunReport` with the outcome, the record folder and what the record holds.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.providers import Service, provider_for
from qrun.run.execute import execute
from qrun.run.plan import make_plan
from qrun.run.record import claim_folder, default_folder, write_journal, write_record

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.manifest.model import Manifest
    from qrun.providers import Provider
    from qrun.run.execute import RunOutcome
    from qrun.run.record import RunRecord
    from qrun.run.results import ResultsDocument
    from qrun.workloads.context import Progress

__all__ = ["RunReport", "run_manifest", "service_settings"]


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


def run_manifest(
    manifest: Manifest,
    *,
    provider: Provider | None = None,
    settings: Service | None = None,
    output: Path | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Plan (raising every problem at once), run, and record ``manifest``.

    ``output`` is the record folder (default ``runs/<UTC timestamp>-<name>/`` beside the
    manifest). An interrupted run still writes its record; ``outcome.interrupted`` says so.
    """
    chosen = provider or provider_for(manifest.backend.kind, service_settings(manifest, settings))
    try:
        plan = make_plan(manifest, chosen)
        if output is None:
            folder = default_folder(manifest, chosen.clock.now())
        else:
            folder = claim_folder(output)
        try:
            outcome = execute(
                plan,
                chosen,
                clock=chosen.clock,
                progress=progress,
                on_submitted=lambda partial: write_journal(partial, folder),
            )
        except BaseException:
            with contextlib.suppress(OSError):  # nothing was submitted: no record to keep
                folder.rmdir()
            raise
        record = write_record(outcome, folder)
    finally:
        if provider is None:
            chosen.shutdown()
    return RunReport(outcome, folder, record)
