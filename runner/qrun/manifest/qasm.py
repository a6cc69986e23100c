"""What qrun needs to know about OpenQASM text without parsing it: its version."""

from __future__ import annotations

import re

__all__ = ["header_version"]

_HEADER = re.compile(
    r"(?:\s|//[^\n]*\n|/\*.*?\*/)*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.DOTALL | re.ASCII
)


def header_version(text: str) -> int | None:
    """The major version in the program's ``OPENQASM x.y;`` header (after any comments),
    or ``None`` if the program does not start with one.

    >>> header_version("// Bell\\nOPENQASM 2.0;\\ninclude \\"qelib1.inc\\";")
    2
    """
    match = _HEADER.match(text)
    return int(match.group(1)) if match else None
