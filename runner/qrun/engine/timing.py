"""A job's modelled QPU time, used when a virtual clock runs the engine.

For every PUB: the circuit's duration is the longest path through its per-qubit timelines
(each instruction starts when all its qubits are free and takes the backend's published
duration for it on those qubits); one shot costs that plus the backend's repetition delay;
the PUB costs ``shots × parameter sets × measurement settings`` shots. Estimator PUBs need
one measurement setting per qubit-wise commuting group of their observables' Pauli terms and
``ceil(1 / precision²)`` shots. A quantum program (an ``executor`` job) costs, for every
item, its circuit's shot time × the program's shots × the item's size. Backends without
published timing (``aer``) use the constants in :mod:`qrun.engine.backends`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from qrun.engine.backends import AER_GATE_1Q, AER_GATE_2Q, AER_MEASURE
from qrun.engine.directives import is_directive
from qrun.engine.work import DEFAULT_PRECISION

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit.transpiler import Target

    from qrun.engine.backends import BackendSpec
    from qrun.engine.work import Work

__all__ = ["circuit_duration", "estimate_duration"]

#: Gates that take no time: frame changes done in software, and the identity.
_VIRTUAL = frozenset({"rz", "id", "delay_zero"})
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def estimate_duration(work: Work, spec: BackendSpec) -> float:
    """Modelled seconds the backend would be busy with ``work``."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.quantum_info import SparsePauliOp

    target = spec.target if spec.noisy else None
    total = 0.0
    if work.program == "executor":
        for program in work.pubs:
            for item in program.items:
                per_shot = circuit_duration(item.circuit, target) + spec.rep_delay
                total += per_shot * program.shots * item.size()
        return total
    for pub in work.pubs:
        per_shot = circuit_duration(pub.circuit, target) + spec.rep_delay
        if isinstance(pub, EstimatorPub):
            paulis = sorted({p for obs in pub.observables.ravel() for p in obs})
            settings = len(SparsePauliOp(paulis).group_commuting(qubit_wise=True)) if paulis else 1
            precision = pub.precision or DEFAULT_PRECISION
            shots = math.ceil(1 / precision**2) * settings
        else:
            shots = pub.shots or 0
        total += per_shot * shots * max(1, pub.parameter_values.size)
    return total


def circuit_duration(circuit: QuantumCircuit, target: Target | None) -> float:
    """Seconds from the first instruction to the last, along the busiest qubit timeline."""
    timeline: dict[int, float] = {}
    for instruction in circuit.data:
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        start = max((timeline.get(q, 0.0) for q in qubits), default=0.0)
        end = start + _instruction_duration(instruction.operation, tuple(qubits), target)
        for q in qubits:
            timeline[q] = end
    return max(timeline.values(), default=0.0)


def _instruction_duration(
    operation: object, qubits: tuple[int, ...], target: Target | None
) -> float:
    name: str = getattr(operation, "name", "")
    if name in _VIRTUAL or (is_directive(operation) and name != "delay"):
        return 0.0
    if name == "delay":
        unit = getattr(operation, "unit", "dt")
        value = float(getattr(operation, "duration", 0.0))
        if unit in _TIME_UNITS:
            return value * _TIME_UNITS[unit]
        return value * (target.dt or 0.0) if target is not None and target.dt else 0.0
    if target is not None and name in target.operation_names:
        properties = target[name].get(qubits)
        if properties is not None and properties.duration is not None:
            return float(properties.duration)
    if name in {"measure", "reset"}:
        return AER_MEASURE
    return AER_GATE_2Q if len(qubits) >= 2 else AER_GATE_1Q
