"""The run record: one folder per run with everything needed to review or redo it.

Layout (documented for users in ``docs/record.md``)::

    runs/<UTC timestamp>-<name>/
      manifest.yaml     the manifest exactly as run (its sha256 is in run.json)
      run.json          backend, mode, versions, session id and details, jobs
      journal.json      job ids, written after each submission and before any wait
      results.json      results in the qrun.results/2 form (see qrun.run.results)
      summary.md        a short human summary
      histograms/*.png  one per sampler PUB and classical register
      plots/*.png       one convergence plot per iterative workload
      report.html       the report a reviewer opens in a browser (written last)

:func:`build_record` makes the whole record as values from a run's outcome, without
changing the outcome; :func:`write_record` puts those values on disk, in one place.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import platform
import re
from typing import TYPE_CHECKING, NamedTuple

from qrun.clock import iso_time
from qrun.errors import QrunError
from qrun.manifest.model import plain
from qrun.run.journal import JOURNAL_FILE, JournalContext, job_fields, journal_document
from qrun.run.results import RunResults, primitive_record
from qrun.run.summary import summary_markdown

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from qrun.manifest.model import JSON, Manifest
    from qrun.run.execute import JobRecord, RunOutcome
    from qrun.run.results import ResultsDocument
    from qrun.workloads.history import WorkloadResult

__all__ = [
    "RUN_FORMAT",
    "ConvergencePlot",
    "Histogram",
    "RunRecord",
    "build_record",
    "default_folder",
    "package_versions",
    "recorded_workloads",
    "run_document",
    "run_name",
    "run_results",
    "write_record",
]

RUN_FORMAT = "qrun.run/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_QRUN_DISTRIBUTION = "qiskit-qrun"


def _safe(name: str) -> str:
    return _UNSAFE.sub("-", name)


#: Longest run name in a record folder's name (file systems allow 255 bytes a name).
MAX_NAME_CHARS = 64


def run_name(manifest: Manifest) -> str:
    """The run's name: ``metadata.name``, else the manifest's file name without suffix,
    in letters, digits, ``.``, ``_`` and ``-`` only, and at most 64 characters."""
    name = _safe(manifest.metadata.name or manifest.file.stem)[:MAX_NAME_CHARS]
    return name.strip("-.") or "run"


def default_folder(manifest: Manifest, now: float, root: Path | None = None) -> Path:
    """A new folder ``<root>/<UTC timestamp>-<name>``, created here so that no other run
    can take it; ``root`` defaults to ``runs/`` beside the manifest. A suffix keeps two
    runs started in the same second apart."""
    stamp = iso_time(now, basic=True)
    base = (root or manifest.base_dir / "runs") / f"{stamp}-{run_name(manifest)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        folder = base if number == 1 else base.with_name(f"{base.name}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def claim_folder(folder: Path) -> Path:
    """``folder`` for a new record: created, or empty if it exists; a run never writes
    into a folder that holds anything else (another run's record, say)."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise QrunError(f"{folder} is a file, not a folder for a run record") from None
        if any(folder.iterdir()):
            raise QrunError(
                f"{folder} is not empty; a run writes its record into a new or empty folder"
            ) from None
    except OSError as error:
        raise QrunError(f"cannot create the record folder {folder}: {error.strerror}") from None
    return folder


def _installed(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def package_versions(*, runtime: bool) -> dict[str, str]:
    """Versions of what produced the results, as installed (qiskit-ibm-runtime only when
    it was used). qrun's own is its distribution's, the one ``pyproject.toml`` sets."""
    names = ["qiskit", "qiskit-aer"] + (["qiskit-ibm-runtime"] if runtime else [])
    versions = {"qrun": _installed(_QRUN_DISTRIBUTION), "python": platform.python_version()}
    for name in names:
        versions[name] = _installed(name)
    return versions


# ------------------------------------------------------------------ the record as values


class Histogram(NamedTuple):
    """One histogram image: its place in the record, its title and the counts drawn."""

    path: str
    title: str
    counts: Mapping[str, int]


class ConvergencePlot(NamedTuple):
    """One workload's convergence plot and its place in the record."""

    path: str
    workload: WorkloadResult


class RunRecord(NamedTuple):
    """Everything a record folder holds, as values: :func:`write_record` writes them."""

    manifest: str  # manifest.yaml
    run: Mapping[str, JSON]  # run.json
    journal: Mapping[str, JSON]  # journal.json
    results: RunResults  # results.json is results.to_json()
    document: ResultsDocument  # that document
    summary: str  # summary.md
    histograms: tuple[Histogram, ...]
    plots: tuple[ConvergencePlot, ...]


def _job_entry(job: JobRecord) -> JSON:
    return plain(
        {
            **job_fields(job),
            "finished_at": iso_time(job.finished_at),
            "error": job.error,
        }
    )


def _plot_path(workload: str) -> str:
    return f"plots/{_safe(workload)}.png"


def recorded_workloads(outcome: RunOutcome) -> tuple[WorkloadResult, ...]:
    """Each workload's result as the record keeps it: naming its convergence plot."""
    return tuple(
        result.with_plot(_plot_path(name)) for name, result in outcome.workload_results.items()
    )


def run_results(outcome: RunOutcome, workloads: tuple[WorkloadResult, ...] = ()) -> RunResults:
    """The typed results of ``outcome``: every primitive in manifest order (also those
    whose job did not finish), and ``workloads`` (see :func:`recorded_workloads`)."""
    jobs = {job.name: job for job in outcome.jobs}
    primitives = []
    for planned in outcome.plan.primitives:
        job = jobs.get(planned.name)
        primitives.append(
            primitive_record(
                name=planned.name,
                kind=planned.primitive.kind,
                job_id=job.job_id if job else None,
                status=job.status if job else "NOT SUBMITTED",
                circuits=[pub.circuit for pub in planned.pubs],
                result=outcome.results.get(planned.name),
            )
        )
    return RunResults(tuple(primitives), workloads, tuple(outcome.feeds))


def _histograms(results: RunResults) -> tuple[Histogram, ...]:
    return tuple(
        Histogram(
            path=f"histograms/{_safe(f'{found.primitive}-{found.pub}-{found.register}')}.png",
            title=(
                f"{found.primitive} pub {found.pub} ({found.circuit}), register {found.register}"
            ),
            counts=found.counts,
        )
        for found in results.register_counts()
    )


def _workload_summary(result: WorkloadResult) -> dict[str, JSON]:
    return {
        "name": result.name,
        "method": result.method,
        "status": result.status,
        "error": result.error,
        "tags": result.tags,
        "jobs": len(result.history),
        "energy": result.energy,
        "reference": result.reference,
        "reference_error": result.reference_error,
        "session_stayed_active": None if result.session is None else result.session.stayed_active,
        "tag_check_ok": None if result.tag_check is None else result.tag_check.ok,
        "plot": result.plot,
    }


def run_document(
    outcome: RunOutcome, results: RunResults, histograms: tuple[Histogram, ...]
) -> dict[str, JSON]:
    """``run.json``: what ran where, when, and what the record holds."""
    plan = outcome.plan
    manifest = plan.manifest
    backend = plan.backend
    return {
        "format": RUN_FORMAT,
        "name": run_name(manifest),
        "manifest": {"file": str(manifest.file), "sha256": manifest.sha256},
        "backend": {
            "name": backend.name,
            "kind": backend.kind,
            "provider": backend.provider,
            "chosen_by": backend.chosen_by,
            "num_qubits": backend.num_qubits,
            **({} if plan.simulator is None else {"simulator": plan.simulator}),
        },
        "execution": {
            "requested_mode": plan.mode,
            "mode": outcome.mode,
            "fallback": outcome.fallback,
            "max_time": plan.max_time,
        },
        "warnings": tuple(outcome.warnings),
        "versions": package_versions(runtime=backend.provider == "runtime"),
        "session": {
            "id": outcome.session_id,
            "status_end": outcome.status_end,
            "details_start": plain(outcome.details_start),
            "details_end": plain(outcome.details_end),
        },
        "plan": {
            "jobs": plan.jobs,
            "estimated_qpu_seconds": plan.estimated_seconds,
            "primitives": tuple(
                {
                    "name": primitive.name,
                    "kind": primitive.kind,
                    "pubs": tuple(
                        {
                            "circuit": pub.circuit,
                            "shape": tuple(pub.shape),
                            "executions": pub.executions,
                        }
                        for pub in primitive.pubs
                    ),
                }
                for primitive in plan.primitives
            ),
            "workloads": tuple(
                {
                    "name": planned.name,
                    "circuit": planned.workload.cost.circuit,
                    "observable": planned.workload.cost.observable,
                    "method": planned.workload.method,
                    "num_parameters": int(planned.x0.size),
                    "parameter_shift_gradient": planned.gradient,
                    "exact_minimum": planned.exact_minimum,
                }
                for planned in plan.workloads
            ),
            "workloads_run": manifest.execution.workloads,
        },
        "simulation": plan.simulation,
        "compute": outcome.compute,
        "options": tuple(
            {
                "owner": use.owner,
                "option": use.note.option,
                "path": use.note.path,
                "line": use.line,
                "column": use.column,
                "value": plain(use.note.value),
                "applied": use.note.applied,
                "note": use.note.note,
            }
            for use in plan.options
        ),
        "jobs": tuple(_job_entry(job) for job in outcome.jobs),
        "workloads": tuple(_workload_summary(result) for result in results.workloads),
        "chains": tuple(feed.to_json() for feed in results.feeds),
        "interrupted": outcome.interrupted,
        "resumed": plain(outcome.resumed),
        "started_at": iso_time(outcome.started_at),
        "finished_at": iso_time(outcome.finished_at),
        "results": "results.json",
        "histograms": tuple(histogram.path for histogram in histograms),
    }


def build_record(outcome: RunOutcome, context: JournalContext | None = None) -> RunRecord:
    """The whole record of ``outcome`` as values; ``outcome`` is left as it is.
    ``context`` completes the journal (see :mod:`qrun.run.journal`)."""
    results = run_results(outcome, recorded_workloads(outcome))
    histograms = _histograms(results)
    plots = tuple(ConvergencePlot(_plot_path(result.name), result) for result in results.workloads)
    return RunRecord(
        manifest=outcome.plan.manifest.text,
        run=run_document(outcome, results, histograms),
        journal=journal_document(outcome, context or JournalContext(), ended=True),
        results=results,
        document=results.to_json(),
        summary=summary_markdown(outcome, results, run_name(outcome.plan.manifest)),
        histograms=histograms,
        plots=plots,
    )


# ------------------------------------------------------------------- the record on disk


def _json(document: object, *, indent: int | None = 2) -> str:
    return json.dumps(document, indent=indent) + "\n"


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A path to write ``path``'s new content to; it replaces ``path`` whole once written,
    so a reader (or an interrupted run) never finds a file half-written."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _put(folder: Path, name: str, text: str) -> None:
    with _replacing(folder / name) as partial:
        partial.write_text(text, encoding="utf-8")


def write_record(
    outcome: RunOutcome, folder: Path, context: JournalContext | None = None
) -> RunRecord:
    """Write the whole record of ``outcome`` into ``folder``; return what was written.
    The journal is written last: once it says the run ended, every other file is there."""
    record = build_record(outcome, context)
    folder.mkdir(parents=True, exist_ok=True)
    _put(folder, "manifest.yaml", record.manifest)
    _put(folder, "results.json", _json(record.document, indent=None))
    _put(folder, "run.json", _json(record.run))
    _put(folder, "summary.md", record.summary)
    if record.plots:  # drawing code is imported only by runs that draw
        from qrun.workloads.plot import write_convergence_plot

        (folder / "plots").mkdir(exist_ok=True)
        for plot in record.plots:
            with _replacing(folder / plot.path) as partial:
                write_convergence_plot(plot.workload, partial)
    if record.histograms:
        from qrun.run.histogram import write_histogram

        (folder / "histograms").mkdir(exist_ok=True)
        for histogram in record.histograms:
            with _replacing(folder / histogram.path) as partial:
                write_histogram(histogram.counts, histogram.title, partial)
    from qrun.report import write_report

    write_report(folder, dict(record.run), dict(record.document))
    _put(folder, JOURNAL_FILE, _json(record.journal))
    return record
