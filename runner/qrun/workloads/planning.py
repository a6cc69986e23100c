"""Planning iterative workloads: what only Qiskit can check about a ``minimize`` workload.

The cost circuit must have free parameters, the observable must be as wide as the
circuit, an explicit ``x0`` must hold one value per parameter, and a gradient method
needs a circuit the parameter-shift rule is exact for. Each problem is an
:class:`~qrun.manifest.diagnostics.Issue` at its place in the manifest, raised with every other
planning issue before the first job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.manifest.model import FromWorkload, RandomValues
from qrun.manifest.operator import sparse_pauli_op
from qrun.workloads.exact import find_exact_minimum

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.circuit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.model import Manifest, Minimize

__all__ = [
    "GRADIENT_METHODS",
    "SHIFTABLE_GATES",
    "PlannedWorkload",
    "plan_workloads",
]

#: SciPy methods that use a gradient; qrun gives them a parameter-shift gradient.
GRADIENT_METHODS = frozenset({"l-bfgs-b", "bfgs", "cg", "slsqp", "tnc", "trust-constr"})

#: Gates exp(-i θ P / 2) (P a Pauli string, up to a global phase), for which the
#: parameter-shift rule with shifts of ±π/2 gives the exact derivative.
SHIFTABLE_GATES = frozenset({"rx", "ry", "rz", "p", "u1", "rxx", "ryy", "rzz", "rzx"})


@dataclass(frozen=True)
class PlannedWorkload:
    """A ``minimize`` workload ready to run: ISA circuit, laid-out observable, start point."""

    workload: Minimize
    circuit: QuantumCircuit  # the ISA circuit; its parameters are the optimised ones
    observable: SparsePauliOp  # laid out on the ISA circuit's qubits
    x0: NDArray[np.float64]
    gradient: bool  # the method gets a parameter-shift gradient
    exact_minimum: float | None  # numpy eigvalsh of the observable, when small enough
    exact_skipped: str | None = None  # why there is no exact minimum

    @property
    def name(self) -> str:
        return self.workload.name

    @property
    def reference(self) -> float | None:
        """The minimum the result is compared with: the manifest's, else the exact one."""
        if self.workload.reference is not None:
            return self.workload.reference
        return self.exact_minimum


def _unshiftable(circuit: QuantumCircuit) -> list[str]:
    """Parameters the parameter-shift rule cannot differentiate exactly in ``circuit``."""
    from qiskit.circuit import Parameter

    uses: dict[str, int] = {parameter.name: 0 for parameter in circuit.parameters}
    bad: set[str] = set()
    for instruction in circuit.data:
        operation = instruction.operation
        for value in operation.params:
            names = [p.name for p in getattr(value, "parameters", ())]
            for name in names:
                uses[name] = uses.get(name, 0) + 1
            plain_rotation = operation.name in SHIFTABLE_GATES and isinstance(value, Parameter)
            if names and not plain_rotation:
                bad.update(names)
    bad.update(name for name, count in uses.items() if count != 1)
    return sorted(bad)


def _x0(
    workload: Minimize,
    count: int,
    described: str,
    manifest: Manifest,
    *,
    logical: Mapping[str, QuantumCircuit],
    issues: list[Issue],
) -> NDArray[np.float64] | None:
    import numpy as np

    x0 = workload.x0
    if isinstance(x0, FromWorkload):  # a stand-in until the source workload has ended
        source = next((w for w in manifest.workloads if w.name == x0.workload), None)
        theirs = None if source is None else logical.get(source.cost.circuit)
        if source is not None and theirs is not None and theirs.num_parameters != count:
            optimised = theirs.num_parameters
            issues.append(
                manifest.source.issue(
                    x0.path,
                    f"workload {x0.workload!r} optimises {optimised} "
                    f"parameter{'s' * (optimised != 1)} (circuit {source.cost.circuit!r}), "
                    f"but {described}; x0 takes its point, one value per parameter",
                )
            )
            return None
        return np.zeros(count)
    if isinstance(x0, RandomValues):
        return np.random.default_rng(x0.seed).uniform(x0.low, x0.high, count)
    values = np.asarray(x0.values, dtype=float)
    if values.ndim != 1 or values.size != count:
        given = values.size
        issues.append(
            manifest.source.issue(
                x0.path,
                f"x0 holds {given} value{'s' * (given != 1)}, but {described}; "
                "give one value per parameter (or a random range)",
            )
        )
        return None
    return values


def _plan_one(
    workload: Minimize,
    logical: QuantumCircuit,
    isa: QuantumCircuit,
    manifest: Manifest,
    *,
    logical_circuits: Mapping[str, QuantumCircuit],
    issues: list[Issue],
) -> PlannedWorkload | None:
    cost = workload.cost
    name = cost.circuit
    count = logical.num_parameters
    before = len(issues)
    if count == 0:
        issues.append(
            manifest.source.issue(
                f"{cost.path}.circuit",
                f"circuit {name!r} has no free parameters, so there is nothing to minimise; "
                "use a parametrised circuit (an ansatz such as efficient_su2)",
            )
        )
    observable = manifest.observables.get(cost.observable)
    if observable is not None and observable.num_qubits != logical.num_qubits:
        issues.append(
            manifest.source.issue(
                f"{cost.path}.observable",
                f"observable {cost.observable!r} acts on {observable.num_qubits} qubits but "
                f"circuit {name!r} has {logical.num_qubits}",
            )
        )
    if count == 0:
        return None
    described = f"circuit {name!r} has {count} parameter{'s' * (count != 1)}"
    x0 = _x0(workload, count, described, manifest, logical=logical_circuits, issues=issues)
    if isa.num_parameters != count:
        issues.append(
            manifest.source.issue(
                f"{cost.path}.circuit",
                f"transpiling circuit {name!r} left {isa.num_parameters} of its {count} "
                "parameters; each optimised parameter must reach the backend",
            )
        )
    gradient = workload.method in GRADIENT_METHODS
    if gradient and isa.num_parameters == count:
        unshiftable = _unshiftable(isa)
        if unshiftable:
            shown = ", ".join(unshiftable[:5]) + (", …" if len(unshiftable) > 5 else "")
            issues.append(
                manifest.source.issue(
                    f"{workload.path}.method",
                    f"method {workload.method!r} needs a parameter-shift gradient, which is "
                    f"exact only when each parameter enters one rotation gate once; in "
                    f"circuit {name!r} after transpilation that fails for {shown}. Use a "
                    "gradient-free method (cobyla, nelder-mead, powell, cobyqa)",
                )
            )
    if observable is None or x0 is None or len(issues) > before:
        return None
    operator = sparse_pauli_op(observable)
    exact = find_exact_minimum(observable)
    return PlannedWorkload(
        workload=workload,
        circuit=isa,
        observable=operator.apply_layout(isa.layout, num_qubits=isa.num_qubits),
        x0=x0,
        gradient=gradient,
        exact_minimum=exact.value,
        exact_skipped=exact.skipped,
    )


def plan_workloads(
    manifest: Manifest,
    logical: Mapping[str, QuantumCircuit],
    isa: Mapping[str, QuantumCircuit],
    issues: list[Issue],
) -> tuple[PlannedWorkload, ...]:
    """Every workload of ``manifest`` that plans; the others add Issues to ``issues``."""
    planned: list[PlannedWorkload] = []
    for workload in manifest.workloads:
        circuit = logical.get(workload.cost.circuit)
        transpiled = isa.get(workload.cost.circuit)
        if circuit is None or transpiled is None:
            continue  # the circuit already has an issue
        found = _plan_one(
            workload, circuit, transpiled, manifest, logical_circuits=logical, issues=issues
        )
        if found is not None:
            planned.append(found)
    return tuple(planned)
