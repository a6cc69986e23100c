"""What ``qrun run FILE… | DIR`` shows: a line as each manifest ends (:func:`progress_line`),
the summary table at the end (:func:`render_table`) and the same as JSON
(:func:`summary_document`, ``--json``). Pure functions of a :class:`ManyReport`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from qrun.run.child_outcome import Status

if TYPE_CHECKING:
    from qrun.manifest.model import JSON
    from qrun.run.many import ManifestRun, ManyReport

__all__ = ["FORMAT", "progress_line", "render_table", "summary_document"]

FORMAT = "qrun.many/1"
_HEADER = ("manifest", "status", "jobs", "wall", "record", "first error")


def shown_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the working folder) where it lies below
    it, else as it is."""
    base = Path.cwd() if base is None else base
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _seconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def progress_line(run: ManifestRun, done: int, total: int) -> str:
    """``[3/20] ok          bell.yaml: 1 job, 1.4s, record runs/…``."""
    what = [f"[{done}/{total}] {run.status:<11} {shown_path(run.manifest)}"]
    facts = []
    if run.jobs is not None:
        facts.append(f"{run.jobs} job{'s' if run.jobs != 1 else ''}")
    if run.seconds is not None:
        facts.append(_seconds(run.seconds))
    if run.folder is not None:
        facts.append(f"record {shown_path(run.folder)}")
    if facts:
        what.append(": " + ", ".join(facts))
    return "".join(what)


def render_table(report: ManyReport) -> str:
    """One row per manifest (manifest, status, jobs, wall time, record folder, first
    error), then a line of totals."""
    rows = [_HEADER] + [
        (
            shown_path(run.manifest),
            run.status,
            "-" if run.jobs is None else str(run.jobs),
            _seconds(run.seconds),
            "-" if run.folder is None else shown_path(run.folder),
            run.error or "",
        )
        for run in report.runs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADER) - 1)]
    right = {2, 3}  # numbers
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.append(_totals(report))
    return "\n".join(lines)


def _totals(report: ManyReport) -> str:
    counts = _counts(report)
    parts = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    total = len(report.runs)
    line = (
        f"{total} manifest{'s' if total != 1 else ''}: {parts or 'none'}; "
        f"{report.seconds:.1f}s, up to {report.max_parallel} at once"
    )
    if report.interrupted:
        line += "; interrupted"
    return line


def _counts(report: ManyReport) -> dict[Status, int]:
    counts: dict[Status, int] = dict.fromkeys(get_args(Status), 0)
    for run in report.runs:
        counts[run.status] += 1
    return counts


def summary_document(report: ManyReport) -> dict[str, JSON]:
    """The summary as JSON: totals and one object per manifest, in the order given."""
    counts: dict[str, JSON] = dict(_counts(report).items())
    runs = tuple(_run_document(run) for run in report.runs)
    return {
        "format": FORMAT,
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "seconds": round(report.seconds, 3),
        "max_parallel": report.max_parallel,
        "counts": counts,
        "runs": runs,
    }


def _run_document(run: ManifestRun) -> JSON:
    return {
        "manifest": os.fspath(run.manifest),
        "status": run.status,
        "exit_code": run.exit_code,
        "jobs": run.jobs,
        "seconds": None if run.seconds is None else round(run.seconds, 3),
        "record": None if run.folder is None else os.fspath(run.folder),
        "error": run.error,
    }
