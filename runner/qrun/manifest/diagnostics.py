"""Issues found in a manifest, and how they are shown to people and to tools.

An :class:`Issue` is one problem at one place: the file, the line and column of the YAML
node, the JSON path of that node (``$.primitives[1].pubs[0]``) and a message that says what
was expected. Every stage that judges a manifest (schema, references, Qiskit) reports
Issues, so all problems come out in one form and all at once, raised together as one
:class:`ManifestError`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from qrun.errors import QrunError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["Issue", "ManifestError", "render_json", "render_text"]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in one manifest, at one place."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


class ManifestError(QrunError):
    """A manifest failed validation; ``issues`` holds every problem found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__(render_text(self.issues))


def render_text(issues: Iterable[Issue]) -> str:
    """One line per issue, ``file:line:col: $.path: message``."""
    return "\n".join(str(issue) for issue in issues)


def render_json(issues: Iterable[Issue]) -> str:
    """The same issues as a JSON array of objects, for editors and other tools."""
    return json.dumps([asdict(issue) for issue in issues], indent=2)
