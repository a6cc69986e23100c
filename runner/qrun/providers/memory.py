"""How much memory a simulation needs, how much the machine has, and which method fits.

A state vector of ``n`` qubits holds ``2**n`` complex amplitudes (16 bytes each in double
precision, 8 in single), a density matrix ``4**n``. A stabilizer tableau grows with
``n**2`` bits (counted as fitting), and a matrix product state with its bond dimensions,
which the two-qubit gates across each cut of the qubit line bound (and
``matrix_product_state_max_bond_dimension`` caps). The memory a simulation may use is
the machine's available memory, no more than Aer's own cap (half the system's memory,
or ``max_memory_mb`` when set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable

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
    "mps_bytes",
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
    """Estimated memory of simulating ``qubits`` with ``method``; None where it depends
    on the circuit (see :func:`mps_bytes`) or stays small (stabilizer tableaux)."""
    amplitude = 8 if precision == "single" else 16
    if method in ("statevector", "automatic", "tensor_network"):
        return amplitude << qubits
    if method == "density_matrix":
        return amplitude << (2 * qubits)
    return None


#: Two-qubit operations whose Schmidt rank is 2 (a controlled gate, a Pauli rotation);
#: any other two-qubit operation counts as rank 4, a wider one as rank 2**its width.
_RANK_TWO = frozenset(
    {
        "cx",
        "cy",
        "cz",
        "ch",
        "cp",
        "crx",
        "cry",
        "crz",
        "cu",
        "csx",
        "ecr",
        "rzz",
        "rxx",
        "ryy",
        "rzx",
        "cu1",
        "cu3",
    }
)


def mps_bytes(circuit: QuantumCircuit, precision: str = "double", max_bond: int = 0) -> int:
    """An upper bound of a matrix product state's memory for ``circuit``.

    Across the cut between qubits ``i`` and ``i+1`` the bond dimension is at most
    ``2**min(i+1, n-i-1)``, and at most the product of the Schmidt ranks of the gates
    that straddle that cut (``max_bond`` caps it when set); site ``i`` holds
    ``2 * left * right`` amplitudes.
    """
    amplitude = 8 if precision == "single" else 16
    qubits = circuit.num_qubits
    if qubits == 0:
        return 0
    crossing = [0.0] * (qubits - 1)  # log2 of the bond dimension at each cut
    for instruction in circuit.data:
        width = len(instruction.qubits)
        if width < 2 or instruction.operation.name in ("barrier", "measure"):
            continue
        indices = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        rank = 1.0 if width == 2 and instruction.operation.name in _RANK_TWO else float(width)
        for cut in range(min(indices), max(indices)):
            crossing[cut] += rank
    cap = max_bond.bit_length() - 1 if max_bond > 0 else None
    bonds = [0]
    for cut, gates in enumerate(crossing):
        bond = min(gates, cut + 1, qubits - cut - 1)
        bonds.append(int(bond) if cap is None else min(int(bond), cap))
    bonds.append(0)
    return sum(2 * amplitude << (bonds[i] + bonds[i + 1]) for i in range(qubits))


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


def _estimate(method: str, circuit: QuantumCircuit, settings: SimulatorSettings) -> int | None:
    if method == "matrix_product_state":
        bond = settings.option("matrix_product_state_max_bond_dimension")
        return mps_bytes(circuit, settings.precision, bond if isinstance(bond, int) else 0)
    return simulation_bytes(method, circuit.num_qubits, settings.precision)


#: Memory any machine has for a simulation: below it the budget is not asked for.
SMALL = 64 * 2**20


def choose_method(
    settings: SimulatorSettings,
    circuit: QuantumCircuit,
    *,
    noisy: bool,
    budget: Budget | Callable[[], Budget],
) -> Choice:
    """The method ``circuit`` (already reduced to its touched qubits) runs with, and
    its estimated memory.

    A method set in the manifest is kept. For ``automatic``: Aer's own choice while a
    state vector fits (it picks the stabilizer or density matrix method where they are
    cheaper); beyond that the stabilizer method for a Clifford circuit without noise,
    else a matrix product state. ``budget`` may be a function, asked only for a circuit
    larger than :data:`SMALL` (so small jobs never query the machine).
    """
    qubits = circuit.num_qubits
    method = settings.method
    if method != "automatic":
        return Choice(method, qubits, _estimate(method, circuit, settings), False)
    needed = simulation_bytes("statevector", qubits, settings.precision)
    if needed is not None and (
        needed <= SMALL or needed <= (budget if isinstance(budget, Budget) else budget()).bytes
    ):
        return Choice("automatic", qubits, needed, True)
    if not noisy and is_clifford(circuit):
        return Choice("stabilizer", qubits, None, True)
    method = "matrix_product_state"
    return Choice(method, qubits, _estimate(method, circuit, settings), True)


def fitting_method(
    circuit: QuantumCircuit, settings: SimulatorSettings, *, noisy: bool, budget: Budget
) -> str | None:
    """A method that would simulate ``circuit`` within ``budget``; None if none would."""
    if not noisy and is_clifford(circuit):
        return "stabilizer"
    for method in ("statevector", "matrix_product_state"):
        needed = _estimate(method, circuit, settings)
        if needed is not None and needed <= budget.bytes:
            return method
    return None


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
