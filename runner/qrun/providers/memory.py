"""How much memory a simulation needs, how much the machine has, and which method fits.

A state vector of ``n`` qubits holds ``2**n`` complex amplitudes (16 bytes each in double
precision, 8 in single), a density matrix ``4**n``. A stabilizer tableau grows with
``n**2`` bits, and a matrix product state with its bond dimension, which the circuit's
entanglement (or ``matrix_product_state_max_bond_dimension``) bounds: both are counted
as fitting. The memory a simulation may use is the machine's available memory, no more
than Aer's own cap (half the system's memory, or ``max_memory_mb`` when set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from qiskit.circuit import Operation, QuantumCircuit

    from qrun.providers.simulator import SimulatorSettings

__all__ = [
    "Budget",
    "Choice",
    "choose_method",
    "describe_bytes",
    "fitting_method",
    "is_clifford",
    "is_clifford_operation",
    "machine_budget",
    "simulation_bytes",
]

#: Methods whose memory grows with the qubits only polynomially (counted as fitting).
BOUNDED = ("stabilizer", "matrix_product_state", "extended_stabilizer")

#: Operations the stabilizer method simulates (``rz`` and ``p`` at multiples of pi/2).
_CLIFFORD = frozenset(
    {
        "barrier",
        "delay",
        "measure",
        "reset",
        "id",
        "x",
        "y",
        "z",
        "h",
        "s",
        "sdg",
        "sx",
        "sxdg",
        "cx",
        "cy",
        "cz",
        "swap",
        "ecr",
        "pauli",
        "rz",
        "p",
    }
)


@dataclass(frozen=True)
class Budget:
    """Bytes a simulation may use, and where that figure comes from."""

    bytes: int
    available: int  # the machine's available memory
    source: str  # e.g. "available memory", "max_memory_mb"


@dataclass(frozen=True)
class Choice:
    """The method a circuit is simulated with and its estimated memory (None: bounded)."""

    method: str
    qubits: int
    bytes: int | None
    automatic: bool  # chosen by qrun because the manifest asked for 'automatic'


def simulation_bytes(method: str, qubits: int, precision: str = "double") -> int | None:
    """Estimated memory of simulating ``qubits`` with ``method``; None where bounded."""
    amplitude = 8 if precision == "single" else 16
    if method in ("statevector", "automatic", "tensor_network"):
        return amplitude << qubits
    if method == "density_matrix":
        return amplitude << (2 * qubits)
    return None


def machine_budget(settings: SimulatorSettings) -> Budget:
    """The memory one simulation may use on this machine with these settings."""
    import psutil  # type: ignore[import-untyped]  # a dependency of qiskit-aer

    memory = psutil.virtual_memory()
    available = int(memory.available)
    budget, source = min(available, int(memory.total) // 2), "available memory"
    if budget < available:
        source = "Aer's cap of half the system memory"
    cap = settings.option("max_memory_mb")
    if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
        budget, source = min(available, cap * 2**20), "max_memory_mb"
    return Budget(budget, available, source)


def is_clifford_operation(operation: Operation) -> bool:
    """Whether the stabilizer method simulates ``operation`` (a fixed-angle ``rz`` or
    ``p`` at a multiple of pi/2 included)."""
    import math

    if operation.name not in _CLIFFORD:
        return False
    if operation.name in ("rz", "p"):
        (angle,) = getattr(operation, "params", (None,))
        try:
            quarter = float(cast("float", angle)) / (math.pi / 2)
        except TypeError:  # a parameter: its value is known only when bound
            return False
        if abs(quarter - round(quarter)) > 1e-9:
            return False
    return True


def is_clifford(circuit: QuantumCircuit) -> bool:
    """Whether every operation is one the stabilizer method simulates."""
    return all(is_clifford_operation(instruction.operation) for instruction in circuit.data)


def choose_method(
    settings: SimulatorSettings, circuit: QuantumCircuit, *, noisy: bool, budget: Budget
) -> Choice:
    """The method ``circuit`` (already reduced to its touched qubits) runs with.

    A method set in the manifest is kept. For ``automatic``: Aer's own choice while a
    state vector fits (it picks the stabilizer or density matrix method where they are
    cheaper); beyond that the stabilizer method for a Clifford circuit without noise,
    else a matrix product state.
    """
    qubits = circuit.num_qubits
    method = settings.method
    if method != "automatic":
        return Choice(method, qubits, simulation_bytes(method, qubits, settings.precision), False)
    needed = simulation_bytes("statevector", qubits, settings.precision)
    if needed is not None and needed <= budget.bytes:
        return Choice("automatic", qubits, needed, True)
    if not noisy and is_clifford(circuit):
        return Choice("stabilizer", qubits, None, True)
    return Choice("matrix_product_state", qubits, None, True)


def fitting_method(circuit: QuantumCircuit, *, noisy: bool) -> str:
    """A method whose memory stays bounded for ``circuit``."""
    if not noisy and is_clifford(circuit):
        return "stabilizer"
    return "matrix_product_state"


def describe_bytes(count: int) -> str:
    """``count`` bytes for a reader: "16.0 GiB", "1.2e+04 TiB"."""
    if count >= 2**80:  # beyond any machine: say it as a power of two
        return f"about 2^{count.bit_length() - 1} bytes"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    if size >= 1e5:
        return f"{size:.1e} {unit}"
    return f"{size:.1f} {unit}"
