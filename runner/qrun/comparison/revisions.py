"""Manifests as they were at a git revision: ``HEAD~1:exp.yaml``.

``REV:PATH`` names the file ``PATH`` (relative to the current folder, as for any file
argument) in the commit ``REV`` of the repository that holds it, read with ``git show``
run in that repository. The files the manifest names beside it (every string under a
``file`` key, e.g. ``circuits.<name>.file``) are read from the same revision, and all of
them are written to a private temporary folder with the same layout, so the manifest is
then loaded, checked and planned exactly as a file on disk would be — and can read
nothing outside its own folder at that revision.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from qrun.errors import QrunError
from qrun.manifest.source import MAX_BYTES, parse_document

if TYPE_CHECKING:
    from contextlib import ExitStack

__all__ = ["ManifestAt", "is_revision", "manifest_at"]


@dataclass(frozen=True)
class ManifestAt:
    """Where to load a manifest from, and the name its issues and reports show."""

    path: Path
    shown: str


def is_revision(argument: str) -> bool:
    """Whether ``argument`` names a file at a git revision rather than a file on disk."""
    return ":" in argument and not Path(argument).exists()


def _git(folder: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise QrunError("git is not installed; a REV:PATH argument needs it") from None
    except subprocess.TimeoutExpired:
        raise QrunError(f"git {args[0]} did not answer within 60 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise QrunError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def _existing_folder(path: Path) -> Path:
    for folder in (path.parent, *path.parents):
        if folder.is_dir():
            return folder
    return Path.cwd()


def _file_names(data: object) -> set[str]:
    """Every string under a ``file`` key, anywhere in the manifest's values."""
    names: set[str] = set()
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "file" and isinstance(value, str):
                    names.add(value)
                else:
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(node)
    return names


def _inside(folder: PurePosixPath, name: str) -> PurePosixPath | None:
    """``folder/name`` if it stays inside ``folder`` (else the loader reports it)."""
    if "\0" in name or PurePosixPath(name).is_absolute():
        return None
    parts: list[str] = []
    for part in PurePosixPath(name).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return folder.joinpath(*parts) if parts else None


def _blob(top: Path, revision: str, path: PurePosixPath) -> bytes | None:
    """The file at ``path`` in ``revision`` (None if it is not a file there or too large)."""
    spec = f"{revision}:{path.as_posix()}"
    try:
        kind = _git(top, "cat-file", "-t", spec).decode().strip()
        size = int(_git(top, "cat-file", "-s", spec).decode().strip())
    except QrunError:
        return None
    if kind != "blob" or size > MAX_BYTES:
        return None
    return _git(top, "cat-file", "blob", spec)


def manifest_at(argument: str, scratch: ExitStack) -> ManifestAt:
    """The manifest ``REV:PATH`` copied, with the files it names, into a temporary
    folder that ``scratch`` removes; a clear error if the revision or file does not exist."""
    revision, _, name = argument.partition(":")
    if not revision or not name:
        raise QrunError(f"{argument!r}: write a git revision as REV:PATH, e.g. HEAD~1:exp.yaml")
    wanted = (Path.cwd() / name).absolute()
    try:
        top = Path(_git(_existing_folder(wanted), "rev-parse", "--show-toplevel").decode().strip())
    except QrunError as error:
        raise QrunError(f"{argument}: not in a git repository ({error})") from None
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except QrunError:
        raise QrunError(f"{argument}: no revision {revision!r} in the repository {top}") from None
    try:
        relative = PurePosixPath(wanted.resolve().relative_to(top.resolve()).as_posix())
    except ValueError:
        raise QrunError(f"{argument}: {name} is outside the repository {top}") from None
    text = _blob(top, revision, relative)
    if text is None:
        raise QrunError(f"{argument}: no file {relative.as_posix()} at revision {revision}")
    folder = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="qrun-diff-")))
    target = folder / relative.name
    target.write_bytes(text)
    try:
        data = parse_document(argument, text.decode("utf-8-sig")).data
    except (QrunError, UnicodeDecodeError):
        data = None  # the loader reports what is wrong with it
    for file_name in sorted(_file_names(data)):
        inside = _inside(relative.parent, file_name)
        blob = None if inside is None else _blob(top, revision, inside)
        if inside is None or blob is None:
            continue  # missing or outside the folder: the loader says so
        local = folder / inside.relative_to(relative.parent)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(blob)
    return ManifestAt(target, argument)
