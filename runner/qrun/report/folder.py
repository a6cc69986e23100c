"""A record folder's report: read ``run.json`` and ``results.json``, write ``report.html``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from qrun.errors import QrunError
from qrun.report.page import render_report

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["REPORT_FILE", "read_record", "write_report"]

#: The report's file name in a record folder.
REPORT_FILE = "report.html"


def _document(path: Path, *, required: bool) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise QrunError(f"{path.parent} is not a run record: it has no {path.name}") from None
        return {}
    except OSError as error:
        raise QrunError(f"cannot read {path}: {error.strerror}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise QrunError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise QrunError(f"{path} does not hold a JSON object")
    return document


def read_record(folder: Path) -> tuple[dict[str, object], dict[str, object]]:
    """``run.json`` (required) and ``results.json`` (empty if missing) of a record folder."""
    if not folder.is_dir():
        raise QrunError(f"{folder} is not a folder")
    return (
        _document(folder / "run.json", required=True),
        _document(folder / "results.json", required=False),
    )


def write_report(
    folder: Path,
    run: dict[str, object] | None = None,
    results: dict[str, object] | None = None,
) -> Path:
    """Write ``report.html`` into a record ``folder`` (from ``run`` and ``results`` when
    given, else from the folder's files); return its path."""
    if run is None or results is None:
        run, results = read_record(folder)
    path = folder / REPORT_FILE
    partial = folder / f".{REPORT_FILE}.partial"
    try:
        partial.write_text(render_report(run, results), encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        raise QrunError(f"cannot write {path}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return path
