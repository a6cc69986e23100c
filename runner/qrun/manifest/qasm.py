"""What qrun needs to know about OpenQASM text without parsing it: its version, and the
files it includes.

A manifest reads no file outside its folder, and an OpenQASM ``include`` would read one:
only the standard include file of each version, which the parsers have built in, may
be named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STANDARD_INCLUDES", "Include", "header_version", "includes"]

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


#: The include file each OpenQASM version has built in; no other is read.
STANDARD_INCLUDES = {2: "qelib1.inc", 3: "stdgates.inc"}

# Comments and strings are skipped whole, so an include inside either is not one.
_TOKEN = re.compile(
    r'//[^\n]*|/\*.*?(?:\*/|\Z)|"[^"\n]*"|\binclude\b\s*("[^"\n]*"|\S*)', re.DOTALL | re.ASCII
)


@dataclass(frozen=True)
class Include:
    """An ``include`` statement: the file it names and where (1-based) it is written."""

    name: str
    line: int
    column: int


def includes(text: str) -> list[Include]:
    """Every ``include`` statement of the program, outside comments and strings.

    >>> includes('OPENQASM 2.0;\\ninclude "qelib1.inc"; // include "x";')
    [Include(name='qelib1.inc', line=2, column=1)]
    """
    found = []
    for match in _TOKEN.finditer(text):
        if match.group(1) is None:
            continue
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - text.rfind("\n", 0, start)
        found.append(Include(match.group(1).strip('"'), line, column))
    return found
