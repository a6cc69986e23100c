"""A job's modelled QPU time, used when a virtual clock runs the engine.

For every PUB: the circuit's duration is the longest path through its per-qubit timelines
(each instruction starts when all its qubits are free and takes the backend's published
duration for it on those qubits); one shot costs that plus the backend's repetition delay;
the PUB costs ``shots × parameter sets × measurement settings`` shots (:func:`executions`,
which the plan counts too). Estimator PUBs need one measurement setting per qubit-wise
commuting group of their observables' Pauli terms and ``ceil(1 / precision²)`` shots per
setting. A quantum program (an ``executor`` job) costs, for every
item, its circuit's shot time × the program's shots × the item's size. Backends without
published timing (``aer``) use the constants in :mod:`qrun.engine.backends`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.engine.backends import AER_GATE_1Q, AER_GATE_2Q, AER_MEASURE
from qrun.engine.directives import is_directive
from qrun.manifest.model import JobOptions, shots_for_precision

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub
    from qiskit.transpiler import Target

    from qrun.engine.backends import BackendSpec
    from qrun.engine.work import Work

__all__ = ["circuit_duration", "estimate_duration", "executions", "shots_per_setting"]

#: Gates that take no time: frame changes done in software, and the identity.
_VIRTUAL = frozenset({"rz", "id", "delay_zero"})
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def estimate_duration(work: Work, spec: BackendSpec) -> float:
    """Modelled seconds the backend would be busy with ``work``."""
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
        total += per_shot * executions(pub)
    return total


def shots_per_setting(pub: SamplerPub | EstimatorPub) -> int:
    """Shots a PUB takes for each parameter set and measurement setting: a sampler's
    shots, or what an estimator's target precision needs (defaults resolved as
    :class:`~qrun.manifest.model.JobOptions` does for a PUB without them)."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    defaults = JobOptions()
    if isinstance(pub, EstimatorPub):
        return shots_for_precision(defaults.precision(pub.precision))
    return defaults.shots(pub.shots)


def executions(pub: SamplerPub | EstimatorPub) -> int:
    """Circuit executions a PUB costs on the QPU: shots × parameter sets × measurement
    settings (one per qubit-wise commuting group of an estimator's Pauli terms)."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.quantum_info import SparsePauliOp

    settings = 1
    if isinstance(pub, EstimatorPub):
        paulis = sorted({p for obs in pub.observables.ravel() for p in obs})
        settings = len(SparsePauliOp(paulis).group_commuting(qubit_wise=True)) if paulis else 1
    return shots_per_setting(pub) * settings * max(1, int(pub.parameter_values.size))


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
