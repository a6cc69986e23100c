"""Issues as GitHub Actions workflow commands, which GitHub shows on the changed lines.

``::error file=spec/exp.yaml,line=9,col=3::$.transpile.seed: …`` — one line per issue;
``%``, carriage returns and newlines are escaped in the message, and ``,`` and ``:`` too
in the properties, as the workflow-command syntax requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from qrun.manifest.diagnostics import Issue

__all__ = ["render_github"]


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(issues: Iterable[Issue]) -> str:
    """One ``::error`` workflow command per issue."""
    return "\n".join(
        f"::error file={_property(issue.file)},line={issue.line},col={issue.column}"
        f"::{_data(f'{issue.path}: {issue.message}')}"
        for issue in issues
    )
