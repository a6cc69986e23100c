"""Several manifests at once: the engine of ``qrun run FILE… | DIR``.

Each manifest runs in its own ``qrun run MANIFEST`` child process, as if typed alone: its
own session (as its manifest says), its own record, its own signal handling and its own
workload processes. A failing or invalid manifest therefore cannot disturb the others,
and a crash stays in its process. At most ``max_parallel`` children run at once; the
rest wait their turn in the order given.

:meth:`ManyRun.interrupt` (the command calls it on Ctrl-C or SIGTERM) starts no more
children and passes one SIGINT to each running one, which then cancels and closes its
session and writes its record, as a single run does. The children run in process groups
of their own, so a terminal's Ctrl-C reaches them only this way, once.

Nothing here imports Qiskit: the children do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.clock import monotonic
from qrun.compute.choice import usable_cpus
from qrun.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_USER
from qrun.run.child_outcome import ChildOutcome, Status, read_child_outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "ManifestRun",
    "ManyReport",
    "ManyRun",
    "default_max_parallel",
    "output_folders",
    "worst_exit_code",
]

#: The most of a child's standard error kept for the summary (its tail).
_MAX_LOG_BYTES = 64 * 1024
#: The default of ``--max-parallel`` is the CPUs this process may use, at most this many.
_MAX_DEFAULT_PARALLEL = 8
#: Exit codes from best to worst; 130 (interrupted) is decided apart, see worst_exit_code.
_ORDER = (EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_BUG)


@dataclass(frozen=True)
class ManifestRun:
    """How one manifest of the many ended."""

    manifest: Path
    status: Status
    exit_code: int
    jobs: int | None = None  # jobs submitted; None if the run never started one
    seconds: float | None = None  # wall time of its process; None if never started
    folder: Path | None = None  # its record; None when none was kept
    error: str | None = None  # the first line of what went wrong
    log: str = ""  # the child's standard error (its tail)


@dataclass(frozen=True)
class ManyReport:
    """Every manifest's run, in the order the manifests were given."""

    runs: list[ManifestRun]
    interrupted: bool
    seconds: float
    max_parallel: int

    @property
    def exit_code(self) -> int:
        """The worst of the runs' exit codes (see :func:`worst_exit_code`)."""
        return worst_exit_code((run.exit_code for run in self.runs), interrupted=self.interrupted)


def worst_exit_code(codes: Iterable[int], *, interrupted: bool = False) -> int:
    """The exit code of several runs: 130 if any was interrupted (or the whole was), else
    the worst by 0 < 1 < 2 < 3 (ok < the input or the backend said no < a usage error <
    a bug in qrun). 0 for no runs."""
    worst = EXIT_OK
    for code in codes:
        if code == EXIT_INTERRUPTED:
            interrupted = True
        elif _rank(code) > _rank(worst):
            worst = code
    return EXIT_INTERRUPTED if interrupted else worst


def _rank(code: int) -> int:
    return _ORDER.index(code) if code in _ORDER else len(_ORDER)


def default_max_parallel() -> int:
    """How many manifests run at once unless told: the CPUs this process may use (a
    local simulation keeps one busy), at most 8 (each child is a Python process with
    Qiskit loaded, about 120 MB for a small run)."""
    return max(1, min(usable_cpus(), _MAX_DEFAULT_PARALLEL))


def output_folders(manifests: Sequence[Path], root: Path) -> list[Path]:
    """Record folders under ``root`` for ``-o``: ``root/<name>`` where the name is the
    manifest's path below the manifests' common folder, without its suffix
    (``studies/a/bell.yaml`` and ``studies/b/bell.yaml`` → ``a/bell``, ``b/bell``); a
    name taken twice gets ``-2``, ``-3``, …"""
    resolved = [manifest.resolve() for manifest in manifests]
    parents = [path.parent for path in resolved]
    common = Path(os.path.commonpath(parents)) if parents else Path()
    taken: set[Path] = set()
    folders = []
    for path in resolved:
        name = path.relative_to(common).with_suffix("")
        candidate, number = name, 1
        while candidate in taken:
            number += 1
            candidate = name.with_name(f"{name.name}-{number}")
        taken.add(candidate)
        folders.append(root / candidate)
    return folders


class ManyRun:
    """Runs several manifests, each in its own ``qrun run`` child process.

    ``outputs[i]`` is the ``-o`` of manifest ``i`` (None: its default place beside it);
    ``arguments`` are passed to every child (service options, ``--compute``).
    ``on_finished`` is called, on the calling thread, as each manifest ends.
    """

    def __init__(
        self,
        manifests: Sequence[Path],
        *,
        outputs: Sequence[Path | None],
        arguments: Sequence[str] = (),
        max_parallel: int,
        on_finished: Callable[[ManifestRun], None] | None = None,
    ) -> None:
        if len(outputs) != len(manifests):
            raise ValueError("one output (or None) per manifest")
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self._manifests = list(manifests)
        self._outputs = list(outputs)
        self._arguments = list(arguments)
        self._max_parallel = max(1, min(max_parallel, len(self._manifests)))
        self._on_finished = on_finished
        self._lock = threading.Lock()  # never taken by the thread that calls interrupt()
        self._stopping = False
        self._running: set[subprocess.Popen[bytes]] = set()

    def interrupt(self) -> None:
        """Start no more children; pass Ctrl-C (one SIGINT) to each running one. Safe to
        call from a signal handler on the thread that called :meth:`run`; calling it
        again does nothing."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)

    def run(self) -> ManyReport:
        """Run every manifest; return when all have ended (or, once interrupted, when
        the running ones have)."""
        started = monotonic()
        runs: dict[int, ManifestRun] = {}
        with (
            tempfile.TemporaryDirectory(prefix="qrun-many-") as scratch,
            ThreadPoolExecutor(self._max_parallel, thread_name_prefix="qrun-many") as pool,
        ):
            futures = {
                pool.submit(self._run_one, index, Path(scratch)): index
                for index in range(len(self._manifests))
            }
            for future in as_completed(futures):
                run = future.result()
                runs[futures[future]] = run
                if self._on_finished is not None:
                    self._on_finished(run)
        return ManyReport(
            runs=[runs[index] for index in range(len(self._manifests))],
            interrupted=self._stopping,
            seconds=monotonic() - started,
            max_parallel=self._max_parallel,
        )

    def _command(self, index: int, outcome_file: Path) -> list[str]:
        command = [sys.executable, "-m", "qrun", "run", str(self._manifests[index])]
        command += ["--outcome-file", str(outcome_file)]
        output = self._outputs[index]
        if output is not None:
            command += ["--output", str(output)]
        return command + self._arguments

    def _run_one(self, index: int, scratch: Path) -> ManifestRun:
        manifest = self._manifests[index]
        outcome_file = scratch / f"{index}.json"
        log_file = scratch / f"{index}.stderr"
        with self._lock:
            if self._stopping:
                return ManifestRun(
                    manifest, "interrupted", EXIT_INTERRUPTED, error="not started: interrupted"
                )
            started = monotonic()
            try:
                with log_file.open("wb") as log:
                    process = subprocess.Popen(
                        self._command(index, outcome_file),
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        start_new_session=True,  # Ctrl-C reaches it only through interrupt()
                    )
            except OSError as error:  # no process to be had (fork refused, no file left)
                return ManifestRun(
                    manifest, "failed", EXIT_USER, error=f"cannot start: {error.strerror}"
                )
            self._running.add(process)
        returncode = process.wait()
        seconds = monotonic() - started
        with self._lock:
            self._running.discard(process)
        return _judged(
            manifest,
            returncode,
            read_child_outcome(outcome_file),
            _tail(log_file),
            seconds=seconds,
            output=self._outputs[index],
        )


def _judged(
    manifest: Path,
    returncode: int,
    outcome: ChildOutcome | None,
    log: str,
    *,
    seconds: float,
    output: Path | None,
) -> ManifestRun:
    """A child's run from its exit code, the outcome it wrote (if it could) and its
    standard error."""
    interrupted_by = (-signal.SIGINT, -signal.SIGTERM)
    if returncode in interrupted_by:
        code = EXIT_INTERRUPTED
    elif returncode < 0:  # killed outright: not a verdict on the manifest nor a bug in qrun
        code = EXIT_USER
    else:
        code = returncode
    if outcome is not None:
        return ManifestRun(
            manifest,
            "failed" if code == EXIT_BUG else outcome.status,
            code,
            jobs=outcome.jobs,
            seconds=seconds,
            folder=outcome.folder,
            error=outcome.error if code != EXIT_BUG else _first_error(log),
            log=log,
        )
    if code == EXIT_OK:
        status: Status = "ok"
    elif code == EXIT_INTERRUPTED:
        status = "interrupted"
    else:
        status = "failed"
    error = _first_error(log)
    if returncode < 0 and returncode not in interrupted_by:
        error = f"killed by {signal.Signals(-returncode).name}"
    folder = output if output is not None and (output / "journal.json").exists() else None
    return ManifestRun(manifest, status, code, seconds=seconds, folder=folder, error=error, log=log)


def _first_error(log: str) -> str | None:
    """The first line qrun wrote about an error (``qrun: …``), else the last line (a
    traceback's exception)."""
    lines = [
        line
        for line in log.splitlines()
        if line.strip() and not line.startswith("qrun: internal error")
    ]
    for line in lines:
        if line.startswith("qrun: ") and not line.startswith(
            ("qrun: warning:", "qrun: note:", "qrun: not applied:", "qrun: record written to")
        ):
            return line.removeprefix("qrun: ")
    return lines[-1] if lines else None


def _tail(path: Path) -> str:
    """The last ``_MAX_LOG_BYTES`` of a child's standard error."""
    try:
        with path.open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - _MAX_LOG_BYTES))
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
