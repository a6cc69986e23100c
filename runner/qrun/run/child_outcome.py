"""What one ``qrun run`` child tells the ``qrun run FILE… | DIR`` that started it.

A run of several manifests starts one ``qrun run MANIFEST`` process per manifest and
passes it a file to write (the hidden option ``--outcome-file``). When the child ends it
writes there, whole and once, a small JSON document: how its manifest ended (its exit
code says the rest), where its record is, how many jobs it ran and the first line of
what went wrong. A child that dies before it can write one (killed outright, a bug) is
judged by its exit code and its standard error instead (:mod:`qrun.run.many`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from qrun.run.journal import replace_file

__all__ = ["FORMAT", "ChildOutcome", "Status", "read_child_outcome", "write_child_outcome"]

#: How a manifest of a many-manifest run ended.
Status = Literal["ok", "failed", "invalid", "interrupted"]

FORMAT = "qrun.child-outcome/1"
#: The most of an outcome file that is read: a few hundred bytes are expected.
_MAX_BYTES = 64 * 1024
_STATUSES: dict[str, Status] = {status: status for status in get_args(Status)}


@dataclass(frozen=True)
class ChildOutcome:
    """How one manifest's run ended, as its child process saw it."""

    status: Status
    folder: Path | None = None  # the record folder, None when no record was kept
    jobs: int | None = None  # jobs submitted, None when the run never started
    error: str | None = None  # the first line of the first thing that went wrong


def write_child_outcome(path: Path, outcome: ChildOutcome) -> None:
    """Write ``outcome`` to ``path`` whole: a reader never sees half of it."""
    document = {
        "format": FORMAT,
        "status": outcome.status,
        "folder": None if outcome.folder is None else str(outcome.folder),
        "jobs": outcome.jobs,
        "error": outcome.error,
    }
    replace_file(path, json.dumps(document) + "\n")


def read_child_outcome(path: Path) -> ChildOutcome | None:
    """The outcome a child wrote to ``path``; None if it wrote none or not one this
    version of qrun understands."""
    try:
        with path.open("rb") as stream:
            document = json.loads(stream.read(_MAX_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None
    status = _STATUSES.get(str(document.get("status")))
    folder = document.get("folder")
    jobs = document.get("jobs")
    error = document.get("error")
    if (
        status is None
        or not isinstance(folder, str | None)
        or not isinstance(jobs, int | None)
        or not isinstance(error, str | None)
    ):
        return None
    return ChildOutcome(
        status=status,
        folder=None if folder is None else Path(folder),
        jobs=jobs,
        error=error,
    )
