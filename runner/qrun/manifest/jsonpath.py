"""JSON paths as qrun prints them: ``$``, ``$.primitives[1].pubs[0]``, ``$.labels['a b']``.

Keys that look like identifiers are written ``.key``; any other key is quoted,
``['key']``, so a path printed in a message always reads back to the same node.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ROOT", "Segment", "child", "parse", "render"]

#: A step into a mapping (by key) or a sequence (by index).
Segment = str | int

ROOT = "$"

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def child(path: str, segment: Segment) -> str:
    """The path of ``segment`` inside the node at ``path``."""
    if isinstance(segment, int):
        return f"{path}[{segment}]"
    if _PLAIN_KEY.match(segment):
        return f"{path}.{segment}"
    quoted = segment.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{quoted}']"


def render(segments: Iterable[Segment]) -> str:
    """The path of the node reached by ``segments`` from the root."""
    path = ROOT
    for segment in segments:
        path = child(path, segment)
    return path


def parse(path: str) -> list[Segment]:
    """The segments of ``path`` (the inverse of :func:`render`).

    Raises ``ValueError`` for text that is not a path qrun writes.
    """
    if not path.startswith(ROOT):
        raise ValueError(f"not a JSON path: {path!r}")
    segments: list[Segment] = []
    position = len(ROOT)
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            raise ValueError(f"not a JSON path: {path!r}")
        key, index, quoted = match.groups()
        if key is not None:
            segments.append(key)
        elif index is not None:
            segments.append(int(index))
        else:
            segments.append(re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    return segments
