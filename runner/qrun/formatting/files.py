"""Checking and rewriting manifest files in the canonical layout.

A file is judged first, exactly as ``qrun validate`` judges it; one with any issue is left
untouched and its issues are returned. A valid file's canonical text is checked to mean
the same as the original (the same values, read by qrun's own YAML reader) before it is
written, and it is written whole: to a temporary file beside it, then renamed over it.
Many files are handled by a pool of processes, one per core.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.errors import QrunError
from qrun.manifest.load import check
from qrun.manifest.source import parse_document

if TYPE_CHECKING:
    from collections.abc import Sequence

    from qrun.manifest.diagnostics import Issue

__all__ = ["Formatted", "format_files"]

#: Fewer files than this are formatted in the calling process.
_POOL_FROM = 32


@dataclass(frozen=True)
class Formatted:
    """One file's verdict: its issues (then it was left untouched), or its text before
    and in the canonical layout."""

    file: str
    issues: tuple[Issue, ...] = ()
    before: str = ""
    after: str = ""
    error: str | None = None  # it could not be laid out without changing its meaning

    @property
    def changed(self) -> bool:
        return not self.issues and self.error is None and self.before != self.after


def _format_one(file: str, write: bool) -> Formatted:
    from qrun.formatting.layout import canonical_text

    issues = check(file)
    if issues:
        return Formatted(file, issues=tuple(issues))
    from ruamel.yaml.error import YAMLError

    path = Path(file)
    before = path.read_bytes().decode("utf-8-sig")
    try:
        after = canonical_text(before)
    except YAMLError as error:  # YAML that qrun reads but the round trip does not
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Formatted(file, before=before, after=before, error=f"cannot lay it out: {problem}")
    if after == before:
        return Formatted(file, before=before, after=after)
    if parse_document(file, after).data != parse_document(file, before).data:
        return Formatted(
            file,
            before=before,
            after=before,
            error="its canonical layout would read back as different values; left untouched",
        )
    if write:
        _replace(path, after)
    return Formatted(file, before=before, after=after)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole: a temporary file beside it, then a rename."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise QrunError(f"{path}: cannot write: {error.strerror}") from None


def _format_chunk(files: Sequence[str], write: bool) -> list[Formatted]:
    return [_format_one(file, write) for file in files]


def format_files(files: Sequence[str], *, write: bool) -> list[Formatted]:
    """Every file's verdict, in order; canonical text written back if ``write``."""
    workers = min(os.cpu_count() or 1, len(files) // (_POOL_FROM // 2) or 1)
    if len(files) < _POOL_FROM or workers < 2:
        return _format_chunk(files, write)
    from qrun.formatting.layout import canonical_text

    canonical_text("qrun: 1\n")  # warm the schema and ruamel.yaml before forking
    size = -(-len(files) // (workers * 4))
    chunks = [files[start : start + size] for start in range(0, len(files), size)]
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        parts = pool.map(_format_chunk, chunks, [write] * len(chunks))
        return [outcome for part in parts for outcome in part]
