"""Reading manifests: the one door from a YAML file to a trusted :class:`Manifest`.

:func:`check` returns every problem in a file — YAML, schema, cross-references — as
:class:`~qrun.manifest.diagnostics.Issue` objects, all at once. :func:`load_manifest` does the same
checks and, when there are none, returns the frozen model; otherwise it raises
:class:`~qrun.errors.ManifestError` carrying every issue. Neither imports Qiskit or NumPy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.limits import Limits
from qrun.manifest.references import check_references
from qrun.manifest.source import Folder, load_document

if TYPE_CHECKING:
    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.model import Manifest
    from qrun.manifest.source import Document

__all__ = ["check", "load_manifest"]


def _judge(
    path: Path, file: str | None, folder: Folder, limits: Limits
) -> tuple[Document | None, list[Issue]]:
    from qrun.manifest.schema import validate

    try:
        document = load_document(path, file)
    except ManifestError as error:
        return None, list(error.issues)
    # One stage's verdict on a node is enough: a later stage does not pile on.
    issues = list(document.issues)
    judged = {issue.path for issue in issues}
    if document.data is None:
        issues.append(document.source.issue("$", "the manifest is empty; it starts with `qrun: 1`"))
        return document, issues
    issues.extend(
        issue for issue in validate(document.data, document.source) if issue.path not in judged
    )
    judged = {issue.path for issue in issues}
    issues.extend(
        issue
        for issue in check_references(document.data, document.source, folder, limits)
        if issue.path not in judged
    )
    unique = sorted(set(issues), key=lambda issue: (issue.line, issue.column, issue.path))
    return document, unique


def check(
    path: str | Path, *, file: str | None = None, limits: Limits | None = None
) -> list[Issue]:
    """Every problem in the manifest at ``path``, in file order; empty if it is valid.

    ``file`` is the name shown in the issues (default: ``path`` as given); ``limits``
    bound the sizes it may ask for (default: :meth:`Limits.from_environment`).
    """
    location = Path(path)
    shown = file if file is not None else str(path)
    chosen = limits or Limits.from_environment()
    return _judge(location, shown, Folder(location.parent), chosen)[1]


def load_manifest(
    path: str | Path, *, file: str | None = None, limits: Limits | None = None
) -> Manifest:
    """The validated manifest at ``path`` (``file`` and ``limits`` as for :func:`check`).

    Raises :class:`~qrun.errors.ManifestError` with every issue if there is any.
    """
    from qrun.manifest.builder import build_manifest

    location = Path(path)
    folder = Folder(location.parent)
    shown = file if file is not None else str(path)
    chosen = limits or Limits.from_environment()
    document, issues = _judge(location, shown, folder, chosen)
    if issues or document is None:
        raise ManifestError(issues)
    return build_manifest(document, location.absolute(), folder)
