"""``qrun run MANIFEST`` (or ``qrun MANIFEST``): run a manifest's workload and record it."""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from qrun.compute.choice import add_compute_option, shared_compute
from qrun.manifest.model import ServiceChannel

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from qrun.run.pipeline import RunReport

__all__ = ["add_service_arguments", "configure", "main", "show_report", "stopped_by_signals"]


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """``--channel``, ``--instance`` and ``--url``: where the runtime provider connects."""
    group = parser.add_argument_group("service (ibm_* and least_busy backends)")
    group.add_argument(
        "--channel",
        choices=get_args(ServiceChannel),
        help="Runtime channel (default: the account's)",
    )
    group.add_argument("--instance", help="instance CRN or name")
    group.add_argument("--url", help="service URL; any Runtime-compatible service")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=Path, help="the manifest to run")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="record folder (default: runs/<UTC timestamp>-<name>/ beside the manifest)",
    )
    parser.add_argument("--json", action="store_true", help="print the results document to stdout")
    add_compute_option(parser)
    add_service_arguments(parser)


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM (how CI runners and schedulers stop a job) stops a run as Ctrl-C does: the
    first SIGINT or SIGTERM interrupts it; any later one is ignored, so the session's
    cancellation and the record's writing are not themselves cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from qrun.interrupts import interrupt_now

    def interrupt(_signal: int, _frame: object) -> None:
        for name in (signal.SIGINT, signal.SIGTERM):
            signal.signal(name, signal.SIG_IGN)
        if interrupt_now():  # else raised once the step that holds it back is whole
            raise KeyboardInterrupt

    previous = {name: signal.signal(name, interrupt) for name in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


def main(args: argparse.Namespace) -> int:
    from qrun.errors import about
    from qrun.manifest.load import load_manifest
    from qrun.providers import Service
    from qrun.run.pipeline import run_manifest
    from qrun.run.progress import TerminalProgress, wants_progress

    settings = Service(channel=args.channel, instance=args.instance, url=args.url)
    display = TerminalProgress() if wants_progress() and not args.json else None
    with about(str(args.manifest)), stopped_by_signals(), display or nullcontext():
        manifest = load_manifest(args.manifest)
        with shared_compute(args.compute) as compute:
            report = run_manifest(
                manifest, settings=settings, output=args.output, progress=display, compute=compute
            )
    return show_report(report, as_json=args.json)


def show_report(report: RunReport, *, as_json: bool) -> int:
    """Print a run's results (or its results document), say where its record is and what
    went wrong; return the run's exit code."""
    from qrun.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USER
    from qrun.run.summary import render_results

    outcome = report.outcome
    if as_json:
        sys.stdout.write(json.dumps(report.results, indent=2) + "\n")
    else:
        sys.stdout.write(render_results(report.record.results) + "\n")
    for use in outcome.plan.not_applied:
        sys.stderr.write(f"qrun: not applied: {use}\n")
    for warning in outcome.warnings:
        sys.stderr.write(f"qrun: warning: {warning}\n")
    sys.stderr.write(f"qrun: record written to {report.folder}\n")
    if outcome.interrupted:
        what = "unfinished jobs were cancelled"
        if outcome.session_id is not None:
            what = f"the {outcome.mode} {outcome.session_id} was cancelled and is closed"
        sys.stderr.write(
            f"qrun: interrupted; {what}, finished results kept; "
            f"`qrun resume {report.folder}` goes on from there\n"
        )
        return EXIT_INTERRUPTED
    for job in outcome.failed:
        sys.stderr.write(f"qrun: {job.name}: job {job.job_id} {job.status}: {job.error}\n")
    for workload in outcome.failed_workloads:
        sys.stderr.write(f"qrun: workload {workload.name} {workload.status}: {workload.error}\n")
    if outcome.failed or outcome.failed_workloads:
        return EXIT_USER
    return EXIT_OK
