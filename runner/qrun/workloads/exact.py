"""The exact minimum of an observable, when it is small and tame enough to diagonalise.

It is the reference a workload's result is compared with when the manifest gives none.
It is never worth failing a plan for: an observable wider than :data:`MAX_EXACT_QUBITS`
is skipped (its matrix would take too long or too much memory), and so is one whose
matrix is not finite or that the eigensolver cannot handle; either way the reason is
returned, to be recorded in place of the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from qrun.manifest.operator import sparse_pauli_op

if TYPE_CHECKING:
    from qrun.manifest.model import Observable

__all__ = ["MAX_EXACT_QUBITS", "ExactMinimum", "exact_minimum", "find_exact_minimum"]

#: Widest observable whose matrix is diagonalised (2^10 x 2^10 complex: 16 MiB, ~0.3 s).
MAX_EXACT_QUBITS = 10


class ExactMinimum(NamedTuple):
    """The smallest eigenvalue, or None and why it was not computed."""

    value: float | None
    skipped: str | None = None


def find_exact_minimum(observable: Observable) -> ExactMinimum:
    """The smallest eigenvalue of ``observable``, or why it is skipped."""
    width = observable.num_qubits
    if width > MAX_EXACT_QUBITS:
        return ExactMinimum(
            None,
            f"no exact minimum: observable {observable.name!r} acts on {width} qubits, more "
            f"than the {MAX_EXACT_QUBITS} diagonalised exactly",
        )
    import numpy as np

    with np.errstate(all="ignore"):
        matrix = sparse_pauli_op(observable).to_matrix()
        if not np.all(np.isfinite(matrix)):
            return ExactMinimum(
                None,
                f"no exact minimum: the matrix of observable {observable.name!r} is not "
                "finite (its coefficients are too large)",
            )
        try:
            value = float(np.linalg.eigvalsh(matrix)[0])
        except (np.linalg.LinAlgError, ValueError) as error:
            return ExactMinimum(
                None, f"no exact minimum: diagonalising {observable.name!r} failed ({error})"
            )
    if not np.isfinite(value):
        return ExactMinimum(None, f"no exact minimum: {observable.name!r} gave {value}")
    return ExactMinimum(value)


def exact_minimum(observable: Observable) -> float | None:
    """The smallest eigenvalue of ``observable``, or None when it is skipped
    (:func:`find_exact_minimum` says why)."""
    return find_exact_minimum(observable).value
