"""The journal of a run (``journal.json``): enough to find an interrupted run again.

It is written when the session opens, after each submission, before any wait, and last
of all the record's files when the run ends; each time the whole file is replaced (it is
written beside and renamed over), so a run killed at any moment leaves either the
journal before or the journal after, never half of one. ``qrun resume`` reads it back
with :func:`read_journal`. Its format (``qrun.journal/1``)::

    format      "qrun.journal/1"
    qrun        the version of qrun that wrote it
    state       "running" (the run never ended), "interrupted" (Ctrl-C or SIGTERM ended
                it and its record was written) or "finished"
    manifest    {"file": the manifest run, "sha256": of its text (also in manifest.yaml)}
    provider    "local" or "runtime"
    service     {"channel", "instance", "url"}: where the runtime provider connected
    run_tag     where jobs outlive the process, each job of the run carries the tag
                "<run_tag>:<primitive>" besides the manifest's, so that a job submitted
                just before a kill, not yet in the journal, is found by it (else null)
    backend     the backend's name, as resolved
    session_id  the session or batch (null in job mode)
    mode        "session", "batch" or "job"
    jobs        per job submitted so far: name (its primitive), kind, job_id, tags,
                status, submitted_at
    resumes     one entry per ``qrun resume`` of this run (see run.json's ``resumed``)

Credentials are never in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast, get_args

from qrun.clock import iso_time
from qrun.errors import QrunError
from qrun.manifest.model import ExecutionMode, Service, ServiceChannel, plain

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from qrun.manifest.model import JSON
    from qrun.run.execute import JobRecord, RunOutcome

__all__ = [
    "JOURNAL_FILE",
    "JOURNAL_FORMAT",
    "Journal",
    "JournalContext",
    "JournalError",
    "JournaledJob",
    "job_fields",
    "journal_document",
    "read_journal",
    "replace_file",
    "write_journal",
]

JOURNAL_FILE = "journal.json"
JOURNAL_VERSION = 1
JOURNAL_FORMAT = f"qrun.journal/{JOURNAL_VERSION}"
_FORMAT = re.compile(r"qrun\.journal/(\d+)")
_STATES = ("running", "interrupted", "finished")


class JournalError(QrunError):
    """A folder that is not a record qrun can resume, or a journal it cannot read."""


@dataclass(frozen=True)
class JournalContext:
    """What the journal holds beyond the run's outcome: where the run connected, its
    resumes (this one included) and the run's tag."""

    service: Service = field(default_factory=Service)
    resumes: tuple[JSON, ...] = ()
    run_tag: str | None = None


def job_fields(job: JobRecord) -> dict[str, object]:
    """What the journal keeps of a job (``run.json`` adds how it ended)."""
    return {
        "name": job.name,
        "kind": job.kind,
        "job_id": job.job_id,
        "tags": list(job.tags),
        "status": job.status,
        "submitted_at": iso_time(job.submitted_at),
    }


def _qrun_version() -> str:
    from qrun import __version__

    return __version__


def journal_document(
    outcome: RunOutcome, context: JournalContext, *, ended: bool
) -> dict[str, JSON]:
    """``journal.json`` for ``outcome``: ``ended`` once the run's record is written."""
    state = "running"
    if ended:
        state = "interrupted" if outcome.interrupted else "finished"
    plan = outcome.plan
    return {
        "format": JOURNAL_FORMAT,
        "qrun": _qrun_version(),
        "state": state,
        "manifest": {"file": str(plan.manifest.file), "sha256": plan.manifest.sha256},
        "provider": plan.backend.provider,
        "service": {
            "channel": context.service.channel,
            "instance": context.service.instance,
            "url": context.service.url,
        },
        "run_tag": outcome.run_tag,
        "backend": plan.backend.name,
        "session_id": outcome.session_id,
        "mode": outcome.mode,
        "jobs": tuple(plain(job_fields(job)) for job in outcome.jobs),
        "resumes": context.resumes,
    }


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over ``path``: a process killed at any
    moment leaves the old content or the new, whole."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_journal(folder: Path, document: Mapping[str, JSON]) -> None:
    """Replace ``folder``'s journal with ``document``."""
    replace_file(folder / JOURNAL_FILE, json.dumps(document, indent=2) + "\n")


# ------------------------------------------------------------------ reading it back


@dataclass(frozen=True)
class JournaledJob:
    """A job the journal says was submitted."""

    name: str
    kind: str
    job_id: str
    tags: tuple[str, ...]
    status: str
    submitted_at: str | None = None


@dataclass(frozen=True)
class Journal:
    """A journal read back from a record folder."""

    folder: Path
    qrun: str
    state: str
    manifest_file: str
    manifest_sha256: str
    provider: str
    service: Service
    run_tag: str | None
    backend: str
    session_id: str | None
    mode: ExecutionMode
    jobs: tuple[JournaledJob, ...]
    resumes: tuple[JSON, ...]

    @property
    def ended(self) -> bool:
        """Whether the run ended and wrote its record (``state`` is not ``running``)."""
        return self.state != "running"


class _Reader:
    """Typed access to the journal's JSON, each problem named by its JSON path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, expected: str) -> JournalError:
        return JournalError(f"{self.where}: {path}: expected {expected}")

    def mapping(self, value: object, path: str) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.fail(path, "an object")
        return value

    def text(self, document: Mapping[str, object], key: str, path: str) -> str:
        value = document.get(key)
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", "a string")
        return value

    def optional_text(self, document: Mapping[str, object], key: str, path: str) -> str | None:
        value = document.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{path}.{key}", "a string or null")
        return value

    def choice(
        self, document: Mapping[str, object], key: str, path: str, known: tuple[object, ...]
    ) -> str | None:
        value = document.get(key)
        if value not in known:
            raise self.fail(f"{path}.{key}", " or ".join(repr(each) for each in known))
        return cast("str | None", value)

    def items(self, document: Mapping[str, object], key: str, path: str) -> list[object]:
        value = document.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}", "a list")
        return value


def _format_version(value: object, where: str) -> int:
    if value is None:
        raise JournalError(
            f"{where} has no format: it was written by a qrun that could not resume runs"
        )
    match = _FORMAT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise JournalError(f"{where}: $.format: expected {JOURNAL_FORMAT!r}, found {value!r}")
    return int(match.group(1))


def read_journal(folder: Path) -> Journal:
    """The journal of the record ``folder``; :class:`JournalError` (exit 1) when the folder
    is no run record, its journal does not parse, or a newer qrun wrote it."""
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise JournalError(f"{folder} {what}; qrun resume takes a run's record folder")
    path = folder / JOURNAL_FILE
    where = str(path)
    if not path.is_file():
        raise JournalError(
            f"{folder} is not a run record: it has no {JOURNAL_FILE} (qrun run writes one "
            "into its record folder as soon as the session opens)"
        )
    try:
        text = path.read_text(encoding="utf-8")
        loaded: object = json.loads(text)
    except UnicodeDecodeError:
        raise JournalError(f"{where} does not parse: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise JournalError(
            f"{where}:{error.lineno}:{error.colno}: does not parse as JSON: {error.msg}"
        ) from None
    except OSError as error:
        raise JournalError(f"cannot read {where}: {error.strerror}") from None
    reader = _Reader(where)
    document = reader.mapping(loaded, "$")
    version = _format_version(document.get("format"), where)
    written_by = document.get("qrun")
    if version > JOURNAL_VERSION:
        raise JournalError(
            f"{where} was written by a newer qrun ({written_by}, format "
            f"qrun.journal/{version}); this qrun ({_qrun_version()}) reads {JOURNAL_FORMAT}. "
            "Resume it with that qrun or a later one."
        )
    state = str(reader.choice(document, "state", "$", _STATES))
    manifest = reader.mapping(document.get("manifest"), "$.manifest")
    service = reader.mapping(document.get("service", {}), "$.service")
    jobs = []
    for index, item in enumerate(reader.items(document, "jobs", "$")):
        path_of = f"$.jobs[{index}]"
        entry = reader.mapping(item, path_of)
        tags = entry.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise reader.fail(f"{path_of}.tags", "a list of strings")
        jobs.append(
            JournaledJob(
                name=reader.text(entry, "name", path_of),
                kind=reader.text(entry, "kind", path_of),
                job_id=reader.text(entry, "job_id", path_of),
                tags=tuple(tags),
                status=reader.text(entry, "status", path_of),
                submitted_at=reader.optional_text(entry, "submitted_at", path_of),
            )
        )
    return Journal(
        folder=folder,
        qrun=str(written_by),
        state=state,
        manifest_file=reader.text(manifest, "file", "$.manifest"),
        manifest_sha256=reader.text(manifest, "sha256", "$.manifest"),
        provider=reader.text(document, "provider", "$"),
        service=Service(
            channel=cast(
                "ServiceChannel | None",
                reader.choice(service, "channel", "$.service", (None, *get_args(ServiceChannel))),
            ),
            instance=reader.optional_text(service, "instance", "$.service"),
            url=reader.optional_text(service, "url", "$.service"),
        ),
        run_tag=reader.optional_text(document, "run_tag", "$"),
        backend=reader.text(document, "backend", "$"),
        session_id=reader.optional_text(document, "session_id", "$"),
        mode=cast("ExecutionMode", reader.choice(document, "mode", "$", get_args(ExecutionMode))),
        jobs=tuple(jobs),
        resumes=tuple(plain(item) for item in reader.items(document, "resumes", "$")),
    )
