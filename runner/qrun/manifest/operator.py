"""A manifest observable as the ``SparsePauliOp`` Qiskit computes with.

Both written forms (dense Pauli strings, or sparse terms with their qubits) go through
``SparsePauliOp.from_sparse_list``, so a 127-qubit observable of a few terms costs a few
terms. Qiskit is imported when an operator is built, never when a manifest is validated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qiskit.quantum_info import SparsePauliOp

    from qrun.manifest.model import Observable

__all__ = ["sparse_pauli_op"]


def sparse_pauli_op(observable: Observable) -> SparsePauliOp:
    """The ``SparsePauliOp`` of ``observable`` (on its ``num_qubits`` qubits)."""
    from qiskit.quantum_info import SparsePauliOp

    return SparsePauliOp.from_sparse_list(observable.sparse_list(), observable.num_qubits)
