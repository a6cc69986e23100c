"""Circuit directives: instructions that are not operations on the backend.

A directive tells the compiler or the control system something (keep these apart, wait
here, store this classical value); it is not a gate, so it is not counted in a circuit's
size or depth, not checked against the backend's target, and takes no time of its own,
except ``delay``, whose whole purpose is time.
"""

from __future__ import annotations

__all__ = ["DIRECTIVES", "is_directive"]

#: Names of the instructions that are directives, besides any Qiskit marks as one.
DIRECTIVES = frozenset({"barrier", "delay", "store"})


def is_directive(operation: object) -> bool:
    """Whether ``operation`` (an ``Instruction``) is a directive rather than an operation."""
    return getattr(operation, "name", "") in DIRECTIVES or bool(
        getattr(operation, "_directive", False)
    )
