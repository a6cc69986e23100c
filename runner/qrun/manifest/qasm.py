"""What qrun needs to know about OpenQASM text without parsing it: its version, and the
files it includes.

A manifest reads no file outside its folder, and an OpenQASM ``include`` would read one:
only the standard include file of each version, which the parsers have built in, may
be named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STANDARD_INCLUDES", "Include", "declared_width", "header_version", "includes"]

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


# Register declarations: OpenQASM 2 ``qreg q[5];`` / ``creg c[5];``, OpenQASM 3
# ``qubit[5] q;`` / ``bit[5] c;`` (a bare ``qubit q;`` is one).
_REGISTER = re.compile(
    r"\b(?:(?:qreg|creg)\s+\w+\s*\[\s*(\d+)\s*\]|(?:qubit|bit)\s*(?:\[\s*(\d+)\s*\])?\s+\w+)",
    re.ASCII,
)


def declared_width(text: str) -> int:
    """The most qubits or bits the program declares (the larger of the two totals),
    counted without parsing it, so that an oversized program is refused before it is.

    >>> declared_width("OPENQASM 3.0; qubit[3] q; bit[2] c; qubit a;")
    4
    """
    qubits = bits = 0
    for match in _REGISTER.finditer(_without_comments(text)):
        size = int(match.group(1) or match.group(2) or 1)
        if match.group(0).startswith(("qreg", "qubit")):
            qubits += size
        else:
            bits += size
    return max(qubits, bits)


def _without_comments(text: str) -> str:
    return _COMMENT.sub(" ", text)


_COMMENT = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)


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
