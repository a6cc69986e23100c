"""The exact minimum of an observable, when it is small enough to diagonalise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrun.manifest.model import Observable

__all__ = ["MAX_EXACT_QUBITS", "exact_minimum"]

#: Widest observable whose matrix is diagonalised (2^10 x 2^10 complex: 16 MiB, ~0.3 s).
MAX_EXACT_QUBITS = 10


def exact_minimum(observable: Observable) -> float | None:
    """The smallest eigenvalue of ``observable``, or None when it is wider than
    :data:`MAX_EXACT_QUBITS` qubits."""
    if observable.num_qubits > MAX_EXACT_QUBITS:
        return None
    import numpy as np
    from qiskit.quantum_info import SparsePauliOp

    matrix = SparsePauliOp.from_list(list(observable.terms)).to_matrix()
    return float(np.linalg.eigvalsh(matrix)[0])
