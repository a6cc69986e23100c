"""``qrun resume RUN_DIR``: go on with an interrupted run from its record folder.

Jobs already submitted are collected by id, never submitted again; the rest run in the
same session while it accepts jobs, else in a new one (see :mod:`qrun.run.resume`). A run
that finished is not run again: that is said, and the exit code is 0, so resuming until
done is safe to repeat.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.commands.run import add_service_arguments, show_report, stopped_by_signals

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from qrun.manifest.model import JSON
    from qrun.run.resume import ResumeReport

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's record folder")
    parser.add_argument("--json", action="store_true", help="print the results document to stdout")
    add_service_arguments(parser)


def _names(entries: object) -> str:
    if not isinstance(entries, tuple):
        return ""
    return ", ".join(
        f"{entry['name']} ({entry['job_id']}, {entry['status']})"
        for entry in entries
        if isinstance(entry, dict)
    )


def _said(note: Mapping[str, JSON], report: ResumeReport) -> list[str]:
    """What the resume did, in plain words, one line each."""
    lines = []
    collected = _names(note.get("collected"))
    if collected:
        lines.append(f"collected by id, not submitted again: {collected}")
    again = _names(note.get("submitted_again"))
    if again and note.get("jobs_outlive_process"):
        lines.append(f"cancelled before they ran, so submitted again: {again}")
    elif again:
        lines.append(f"jobs of the local provider end with its process; run again: {again}")
    run = report.run
    session = run.outcome.session_id if run is not None else None
    before = note.get("from_session")
    if note.get("session") == "same":
        lines.append(f"session {session} was still open: the remaining work ran in it")
    elif note.get("session") == "new":
        gone = f"session {before} is closed" if before else "no session was open"
        if before and not note.get("jobs_outlive_process"):
            gone = f"session {before} ended with the process that ran it"
        lines.append(f"{gone}; the remaining work ran in a new session {session}")
    elif note.get("session") == "not needed":
        lines.append(f"session {before} is closed; nothing was left to submit")
    workloads = note.get("workloads_restarted")
    if isinstance(workloads, tuple) and workloads:
        names = ", ".join(str(name) for name in workloads)
        lines.append(f"iterative workloads restarted from their initial point: {names}")
    return lines


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, about
    from qrun.providers import Service
    from qrun.run.progress import TerminalProgress, wants_progress
    from qrun.run.resume import resume_run

    settings = Service(channel=args.channel, instance=args.instance, url=args.url)
    display = TerminalProgress() if wants_progress() and not args.json else None
    with about(str(args.run_dir)), stopped_by_signals(), display or nullcontext():
        report = resume_run(args.run_dir, settings=settings, progress=display)
    if report.run is None:
        sys.stderr.write(
            f"qrun: {args.run_dir}: the run finished; there is nothing to resume "
            "(its record is as it was)\n"
        )
        return EXIT_OK
    for line in _said(report.note or {}, report):
        sys.stderr.write(f"qrun: resume: {line}\n")
    return show_report(report.run, as_json=args.json)
