"""What qrun needs to know about a QPY file without loading it: that it is one, its
format version, and how many circuits it holds.

QPY (``qiskit.qpy``) is a binary format, and its loader trusts its input; a manifest may
come from anyone, so a file is judged by its fixed-size header first (no Qiskit import),
and only a file that passes is handed to the loader at plan time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["QpyHeader", "is_qpy_name", "read_header"]

_MAGIC = b"QISKIT"
_HEADER = struct.Struct("!6sBBBBQ")  # magic, format version, Qiskit major.minor.patch, count


def is_qpy_name(file: str) -> bool:
    """Whether a circuit ``file`` is read as QPY (by its extension) rather than OpenQASM."""
    return file.lower().endswith(".qpy")


@dataclass(frozen=True)
class QpyHeader:
    """The header of a QPY file."""

    version: int  # the QPY format version
    qiskit: str  # the Qiskit version that wrote it
    count: int  # programs (circuits) in the file


def read_header(data: bytes) -> QpyHeader | None:
    """The header of ``data``, or None if ``data`` does not start like a QPY file.

    >>> read_header(b"QISKIT" + bytes([13, 1, 4, 0]) + (2).to_bytes(8, "big")).count
    2
    """
    if len(data) < _HEADER.size or not data.startswith(_MAGIC):
        return None
    _, version, major, minor, patch, count = _HEADER.unpack_from(data)
    return QpyHeader(version, f"{major}.{minor}.{patch}", count)
