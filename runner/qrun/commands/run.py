"""``qrun run MANIFEST`` (or ``qrun MANIFEST``): run a manifest's workload and record it.

``qrun run FILE… | DIR`` runs several manifests (a folder: the manifests directly in it),
each in its own ``qrun run`` child process (see :mod:`qrun.run.many`), and prints a
summary table (``--json``: the summary as JSON). A single FILE runs as it always has.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from qrun.compute.choice import add_compute_option, shared_compute
from qrun.manifest.model import ServiceChannel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from qrun.compute import Compute
    from qrun.manifest.model import Manifest
    from qrun.providers import Service
    from qrun.run.child_outcome import ChildOutcome
    from qrun.run.many import ManifestRun
    from qrun.run.pipeline import RunReport

__all__ = [
    "add_service_arguments",
    "configure",
    "forwarded_signals",
    "main",
    "manifests_in",
    "show_report",
    "stopped_by_signals",
]


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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "manifests",
        nargs="+",
        type=Path,
        metavar="MANIFEST",
        help="the manifest to run; several files, or a folder (the *.yaml and *.yml "
        "manifests directly in it), run each in its own process",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="record folder (default: runs/<UTC timestamp>-<name>/ beside the manifest); "
        "for several manifests, each record goes to DIR/<manifest name>/",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results document to stdout (several manifests: the summary)",
    )
    parser.add_argument(
        "-j",
        "--max-parallel",
        type=_positive,
        metavar="N",
        help="several manifests: how many run at once (default: the CPUs qrun may use, at most 8)",
    )
    # How a child of a many-manifest run reports back (qrun.run.child_outcome).
    parser.add_argument("--outcome-file", type=Path, help=argparse.SUPPRESS)
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
        for name in _STOPS:
            signal.signal(name, signal.SIG_IGN)
        if interrupt_now():  # else raised once the step that holds it back is whole
            raise KeyboardInterrupt

    with _on_stop(interrupt):
        yield


#: The signals that stop a run: Ctrl-C, and how CI runners and schedulers stop a job.
_STOPS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _on_stop(handler: Callable[[int, object], None]) -> Iterator[None]:
    """``handler`` answers SIGINT and SIGTERM meanwhile; the handlers before come back
    after."""
    previous = {name: signal.signal(name, handler) for name in _STOPS}
    try:
        yield
    finally:
        for name, restored in previous.items():
            signal.signal(name, restored)


def main(args: argparse.Namespace) -> int:
    paths: list[Path] = args.manifests
    if len(paths) == 1 and not paths[0].is_dir():
        if args.outcome_file is not None:
            return _run_child(args, paths[0], args.outcome_file)
        return _run_one(args, paths[0])
    return _run_many(args, paths)


def _run_one(args: argparse.Namespace, path: Path) -> int:
    report = _run(args, path)
    return show_report(report, as_json=args.json)


def _run(args: argparse.Namespace, path: Path) -> RunReport:
    from qrun.errors import about
    from qrun.manifest.load import load_manifest
    from qrun.providers import Service
    from qrun.run.pipeline import run_manifest
    from qrun.run.progress import TerminalProgress, wants_progress

    settings = Service(channel=args.channel, instance=args.instance, url=args.url)
    display = TerminalProgress() if wants_progress() and not args.json else None
    with about(str(path)), stopped_by_signals(), display or nullcontext():
        manifest = load_manifest(path)
        with _compute_for(args.compute, manifest, settings) as compute:
            return run_manifest(
                manifest, settings=settings, output=args.output, progress=display, compute=compute
            )


@contextmanager
def _compute_for(chosen: Compute, manifest: Manifest, settings: Service) -> Iterator[Compute]:
    """Where this manifest's jobs compute: ``chosen`` (with a Ray head started for it if
    need be) when they compute on this machine; when a Runtime service computes them, the
    choice does not apply, no head is started, and the user is told."""
    from qrun.providers import provider_name

    if provider_name(manifest.backend.kind, settings) == "local":
        with shared_compute(chosen) as compute:
            yield compute
        return
    if chosen.kind != "local":
        sys.stderr.write(
            f"qrun: note: --compute {chosen}: the jobs of "
            f"{manifest.backend.name or 'the least busy backend'} compute on the Runtime "
            "service, not here; the choice does not apply to this run\n"
        )
    yield chosen


def _run_child(args: argparse.Namespace, path: Path, outcome_file: Path) -> int:
    """A single run started by a many-manifest run: as :func:`_run_one`, and how it
    ended written to ``outcome_file`` for the parent."""
    from qrun.errors import QrunError
    from qrun.manifest.diagnostics import ManifestError
    from qrun.run.child_outcome import ChildOutcome, write_child_outcome

    try:
        report = _run(args, path)
    except ManifestError as error:
        write_child_outcome(outcome_file, ChildOutcome("invalid", error=_first_line(error)))
        raise
    except QrunError as error:
        write_child_outcome(outcome_file, ChildOutcome("failed", error=_first_line(error)))
        raise
    except KeyboardInterrupt:
        write_child_outcome(outcome_file, ChildOutcome("interrupted", error="interrupted"))
        raise
    code = show_report(report, as_json=args.json)
    write_child_outcome(outcome_file, _child_outcome(report, code))
    return code


def _first_line(error: BaseException) -> str:
    return next(iter(str(error).splitlines()), type(error).__name__)


def _child_outcome(report: RunReport, code: int) -> ChildOutcome:
    from qrun.errors import EXIT_INTERRUPTED, EXIT_OK
    from qrun.run.child_outcome import ChildOutcome

    outcome = report.outcome
    jobs = len(outcome.jobs) + sum(len(w.history) for w in outcome.workload_results.values())
    if code == EXIT_OK:
        return ChildOutcome("ok", folder=report.folder, jobs=jobs)
    if code == EXIT_INTERRUPTED:
        closed = (
            "" if outcome.session_id is None else f"; {outcome.mode} {outcome.session_id} closed"
        )
        return ChildOutcome(
            "interrupted", folder=report.folder, jobs=jobs, error=f"interrupted{closed}"
        )
    errors = [f"{job.name}: job {job.job_id} {job.status}: {job.error}" for job in outcome.failed]
    errors += [f"workload {w.name} {w.status}: {w.error}" for w in outcome.failed_workloads]
    return ChildOutcome(
        "failed",
        folder=report.folder,
        jobs=jobs,
        error=errors[0].splitlines()[0] if errors else None,
    )


def _run_many(args: argparse.Namespace, paths: list[Path]) -> int:
    """Every manifest among ``paths`` in its own child process; the summary at the end."""
    from qrun.run.many import ManyRun, default_max_parallel, output_folders
    from qrun.run.many_summary import render_table, summary_document

    manifests = manifests_in(paths)
    outputs: list[Path | None] = (
        list(output_folders(manifests, args.output))
        if args.output is not None
        else [None] * len(manifests)
    )
    total = len(manifests)
    finished = 0

    def on_finished(run: ManifestRun) -> None:
        nonlocal finished
        finished += 1
        _show_finished(run, finished, total)

    with _shared_compute(args) as compute:
        runner = ManyRun(
            manifests,
            outputs=outputs,
            arguments=_service_arguments(args) + compute,
            max_parallel=args.max_parallel or default_max_parallel(),
            on_finished=on_finished,
        )
        with forwarded_signals(runner.interrupt):
            report = runner.run()
    if args.json:
        sys.stdout.write(json.dumps(summary_document(report), indent=2) + "\n")
    else:
        sys.stdout.write(render_table(report) + "\n")
    return report.exit_code


def _show_finished(run: ManifestRun, done: int, total: int) -> None:
    """A line on stderr as a manifest ends; what a failed one said, indented below it."""
    from qrun.run.many_summary import progress_line

    lines = [progress_line(run, done, total)]
    if run.status != "ok":
        said = [
            line
            for line in run.log.splitlines()
            if line.strip() and not line.startswith("qrun: record written to")
        ]
        lines += [f"    {line}" for line in said] or ([f"    {run.error}"] if run.error else [])
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def manifests_in(paths: list[Path]) -> list[Path]:
    """The manifests to run: each FILE as given; each DIR's ``*.yaml`` and ``*.yml``
    files directly in it (not in subfolders, where records keep their manifests'
    copies) that are manifests as ``qrun validate --manifests-only`` tells them, by
    name. A file named twice runs once. A folder without a manifest is an error."""
    from qrun.commands.validate import manifests_among
    from qrun.errors import QrunError

    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        candidates = sorted(
            entry
            for entry in path.iterdir()
            if entry.suffix in (".yaml", ".yml") and entry.is_file()
        )
        manifests = [Path(name) for name in manifests_among([str(entry) for entry in candidates])]
        if not manifests:
            raise QrunError(
                f"{path}: no manifest in this folder (a *.yaml or *.yml file with a line "
                "starting `qrun:`); subfolders are not searched"
            )
        found += manifests
    seen: set[Path] = set()
    unique = []
    for manifest in found:
        key = manifest.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(manifest)
    return unique


def _service_arguments(args: argparse.Namespace) -> list[str]:
    """The service options, for every child."""
    arguments = []
    for option, value in (
        ("--channel", args.channel),
        ("--instance", args.instance),
        ("--url", args.url),
    ):
        if value is not None:
            arguments += [option, str(value)]
    return arguments


@contextmanager
def _shared_compute(args: argparse.Namespace) -> Iterator[list[str]]:
    """``--compute`` for every child, one compute for them all: ``ray`` without an
    address starts one local Ray head for the whole run, which every child joins."""
    with shared_compute(args.compute) as shared:
        yield ["--compute", str(shared)]


_STOPPING = (
    "qrun: interrupted; each running manifest cancels and closes its session and writes "
    "its record, no other starts\n"
)


@contextmanager
def forwarded_signals(interrupt: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``interrupt`` (which passes them on to the children)
    instead of stopping this process, which goes on to wait for the children and show
    the summary."""

    said = False

    def handler(_signal: int, _frame: object) -> None:
        nonlocal said
        if not said:  # os.write: a signal may land inside a write to sys.stderr
            said = True
            os.write(2, _STOPPING.encode())
        interrupt()

    with _on_stop(handler):
        yield


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
