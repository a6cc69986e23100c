"""A transpiled circuit reduced to the qubits it touches, with its observables and noise.

An ISA circuit for a 127-qubit device spans all 127 qubits, though a GHZ state on five
of them leaves the other 122 idle in ``|0>``. Simulating it on the qubits it touches
gives the same results as the whole device would, at the cost of a five-qubit
simulation:

* the circuit keeps its classical bits and registers, so counts keep their bit order;
* an observable laid out to the device is reduced by the value each idle qubit's factor
  takes in ``|0>`` (``I`` and ``Z``: 1, ``X`` and ``Y``: 0, projectors their overlap);
* the noise model keeps the errors of the touched qubits (gates among them, their
  readout), renumbered as the reduced circuit numbers them. An idle qubit has no
  operation, so a device noise model has no error to apply to it.

A qubit counts as touched when an operation other than a barrier or a delay acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.circuit import QuantumCircuit
    from qiskit.primitives.containers.observables_array import ObservablesArray
    from qiskit.quantum_info import SparseObservable
    from qiskit.transpiler import Target
    from qiskit_aer.noise import NoiseModel

__all__ = [
    "Reduced",
    "ReducedObservables",
    "active_qubits",
    "reduce_circuit",
    "reduce_noise",
    "reduce_observable",
    "reduce_observables",
    "reduce_target",
]

_IDLE = frozenset({"barrier", "delay"})

#: A bit term's label, and its expectation value on a qubit left in |0>.
_TERMS: dict[int, tuple[str, float]] = {
    1: ("Z", 1.0),
    2: ("X", 0.0),
    3: ("Y", 0.0),
    9: ("0", 1.0),
    5: ("1", 0.0),
    10: ("+", 0.5),
    6: ("-", 0.5),
    11: ("r", 0.5),
    7: ("l", 0.5),
}


@dataclass(frozen=True)
class Reduced:
    """``circuit`` on the touched ``qubits`` (device indices, in increasing order; the
    reduced circuit's qubit ``i`` is device qubit ``qubits[i]``) of a circuit that had
    ``num_qubits``."""

    circuit: QuantumCircuit
    qubits: tuple[int, ...]
    num_qubits: int

    @property
    def whole(self) -> bool:
        """Whether every qubit is touched (nothing was left out)."""
        return len(self.qubits) == self.num_qubits


def active_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Indices of the qubits an operation other than a barrier or delay acts on."""
    touched: set[int] = set()
    for instruction in circuit.data:
        if instruction.operation.name in _IDLE:
            continue
        for qubit in instruction.qubits:
            touched.add(circuit.find_bit(qubit).index)
    return tuple(sorted(touched))


def reduce_circuit(circuit: QuantumCircuit) -> Reduced:
    """``circuit`` on its touched qubits; the circuit itself when it touches them all."""
    from qiskit.circuit import QuantumCircuit, QuantumRegister

    qubits = active_qubits(circuit)
    if len(qubits) == circuit.num_qubits:
        return Reduced(circuit, qubits, circuit.num_qubits)
    register = QuantumRegister(len(qubits), "q")
    reduced = QuantumCircuit(
        register, name=circuit.name, global_phase=circuit.global_phase, metadata=circuit.metadata
    )
    in_registers = {bit for creg in circuit.cregs for bit in creg}
    loose = [bit for bit in circuit.clbits if bit not in in_registers]
    if loose:
        reduced.add_bits(loose)
    for creg in circuit.cregs:
        reduced.add_register(creg)
    position = {circuit.qubits[index]: register[new] for new, index in enumerate(qubits)}
    for instruction in circuit.data:
        kept = [position[qubit] for qubit in instruction.qubits if qubit in position]
        if instruction.operation.name in _IDLE:
            if not kept:
                continue
            if len(kept) != len(instruction.qubits):
                if instruction.operation.name == "delay":
                    continue  # a delay acts on one qubit; this one is idle
                from qiskit.circuit import Barrier

                reduced.append(Barrier(len(kept)), kept, copy=False)
                continue
        reduced.append(instruction.operation, kept, instruction.clbits, copy=False)
    return Reduced(reduced, qubits, circuit.num_qubits)


def reduce_observable(
    observable: SparseObservable, qubits: Sequence[int], num_qubits: int
) -> SparseObservable:
    """``observable`` on the device's ``num_qubits``, as seen by a circuit reduced to
    ``qubits``: each idle qubit's factor replaced by its value in ``|0>``."""
    from qiskit.quantum_info import SparseObservable

    if len(qubits) == num_qubits:
        return observable
    position = {qubit: new for new, qubit in enumerate(qubits)}
    terms: list[tuple[str, list[int], complex]] = []
    for term in observable:
        coefficient = complex(term.coeff)
        label: list[str] = []
        indices: list[int] = []
        for index, bit in zip(term.indices, term.bit_terms, strict=True):
            letter, idle_value = _TERMS[int(bit)]
            new = position.get(int(index))
            if new is None:
                coefficient *= idle_value
            else:
                label.append(letter)
                indices.append(new)
        if coefficient != 0:
            terms.append(("".join(label), indices, coefficient))
    return SparseObservable.from_sparse_list(terms, num_qubits=len(qubits))


@dataclass(frozen=True)
class ReducedObservables:
    """An estimator PUB's observables reduced; where one reduces to zero (an ``X`` on an
    idle qubit in every term), it stands as the identity and ``zero`` marks it, for its
    expectation value is then 0 (an observables array cannot hold a zero observable)."""

    observables: ObservablesArray
    zero: NDArray[np.bool_] | None


def reduce_observables(
    observables: ObservablesArray, qubits: Sequence[int], num_qubits: int
) -> ReducedObservables:
    """Every observable of an estimator PUB reduced (see :func:`reduce_observable`)."""
    import numpy as np
    from qiskit.primitives.containers.observables_array import ObservablesArray
    from qiskit.quantum_info import SparseObservable

    if len(qubits) == num_qubits:
        return ReducedObservables(observables, None)
    array = observables.sparse_observables_array()
    reduced = np.empty(array.shape, dtype=object)
    zero = np.zeros(array.shape, dtype=bool)
    for index in np.ndindex(array.shape):
        observable = reduce_observable(array[index], qubits, num_qubits).simplify()
        if observable == SparseObservable.zero(len(qubits)):
            zero[index] = True
            observable = SparseObservable.identity(len(qubits))
        reduced[index] = observable
    return ReducedObservables(ObservablesArray(reduced), zero if zero.any() else None)


def reduce_target(target: Target, qubits: Sequence[int]) -> Target:
    """The device ``target`` restricted to ``qubits`` and renumbered as a reduced circuit
    numbers them: their instructions, durations, errors and qubit properties (T1, T2)."""
    from qiskit.transpiler import Target

    position = {qubit: new for new, qubit in enumerate(qubits)}
    properties = target.qubit_properties
    reduced = Target(
        description=f"{target.description or 'device'} on qubits {list(qubits)}",
        num_qubits=len(qubits),
        dt=target.dt,
        qubit_properties=[properties[qubit] for qubit in qubits] if properties else None,
    )
    for name in target.operation_names:
        operation = target.operation_from_name(name)
        entries = target[name]
        if entries is None or None in entries:  # a global instruction
            reduced.add_instruction(operation, name=name)
            continue
        kept = {
            tuple(position[qubit] for qubit in qargs): entry
            for qargs, entry in entries.items()
            if qargs is not None and all(qubit in position for qubit in qargs)
        }
        if kept:
            reduced.add_instruction(operation, kept, name=name)
    return reduced


@dataclass(frozen=True)
class _Device:
    """What ``NoiseModel.from_backend`` reads of a BackendV2, for a reduced target."""

    target: Target
    version: int = 2

    @property
    def operation_names(self) -> list[str]:
        return list(self.target.operation_names)

    @property
    def dt(self) -> float | None:
        dt: float | None = self.target.dt
        return dt


def reduce_noise(target: Target, qubits: Sequence[int]) -> NoiseModel:
    """Aer's noise model of the device ``target`` (gate, readout and thermal relaxation
    errors, as ``NoiseModel.from_backend`` builds it), for ``qubits`` only."""
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(_Device(reduce_target(target, qubits)))
