"""What a local run will simulate, checked before the first job.

For a backend of the local provider, planning checks the manifest's simulator options
against the installed Aer (a GPU device on a CPU-only build, a method it lacks), then,
for each ISA circuit: the qubits it touches (the ones simulated), the method it runs
with, whether that method can simulate its gates (a T gate under ``stabilizer``), and
the memory the simulation needs against the memory this machine has. Each problem is an
Issue at its place: an option's at the option, a circuit's size at the circuit, with
the estimated memory, the memory available and a method that would fit.

The result, :func:`plan_simulation`'s document, is what the run record states as
applied (``run.json``'s ``simulator``).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from qrun.providers.memory import (
    choose_method,
    describe_bytes,
    fitting_method,
    is_clifford,
    is_clifford_operation,
    machine_budget,
)
from qrun.providers.reduction import reduce_circuit
from qrun.providers.simulator import method_operations, unavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.model import JSON, Manifest
    from qrun.providers import ResolvedBackend

__all__ = ["plan_simulation"]


def _unsupported(
    method: str, circuit: QuantumCircuit, logical: QuantumCircuit | None
) -> str | None:
    """Why ``method`` cannot simulate ``circuit``; None when it can (or Aer chooses).
    The operations named are the manifest's circuit's where it has such operations."""
    if method == "automatic":
        return None
    if method == "stabilizer":
        if is_clifford(circuit):
            return None
        names = _non_clifford(logical) if logical is not None else []
        names = names or _non_clifford(circuit)
        return (
            f"uses {', '.join(names)}, and the stabilizer method simulates Clifford "
            "operations only (rz and p at multiples of pi/2, with fixed angles)"
        )
    known = method_operations(method)
    missing = sorted({i.operation.name for i in circuit.data} - known)
    if missing:
        return f"uses {', '.join(missing)}, which the {method} method does not simulate"
    return None


def _non_clifford(circuit: QuantumCircuit) -> list[str]:
    return sorted(
        {
            instruction.operation.name
            for instruction in circuit.data
            if not is_clifford_operation(instruction.operation)
        }
    )


def plan_simulation(
    manifest: Manifest,
    backend: ResolvedBackend,
    isa: Mapping[str, QuantumCircuit],
    issues: list[Issue],
    logical: Mapping[str, QuantumCircuit] | None = None,
) -> dict[str, JSON] | None:
    """Check the local simulation of every ISA circuit; what will be applied, or None
    where the backend is not simulated locally."""
    from qrun.providers.local import LocalBackend

    if not isinstance(backend, LocalBackend):
        return None
    settings = backend.simulator
    source = manifest.source
    problems = unavailable(settings) + _noise_problems(backend.kind, settings.noise_model)
    for option, reason in problems:
        issues.append(source.issue(f"{manifest.backend.path}.options.{option}", reason))
    if problems:
        return None
    noisy = backend.kind == "fake" or settings.noise_model is not None
    budget = machine_budget(settings)
    method_path = f"{manifest.backend.path}.options.method"
    if "method" not in manifest.backend.options:
        method_path = manifest.backend.path
    circuits: dict[str, JSON] = {}
    for name, circuit in isa.items():
        spec = manifest.circuits[name]
        reduced = reduce_circuit(circuit)
        choice = choose_method(settings, reduced.circuit, noisy=noisy, budget=budget)
        why = _unsupported(choice.method, reduced.circuit, (logical or {}).get(name))
        if why is not None:
            line, column = source.position(spec.path)
            issues.append(
                source.issue(
                    method_path,
                    f"method {choice.method!r} cannot simulate circuit {name!r} "
                    f"(line {line}, column {column}): it {why}",
                )
            )
            continue
        if choice.bytes is not None and choice.bytes > budget.bytes:
            fits = fitting_method(reduced.circuit, settings, noisy=noisy, budget=budget)
            advice = (
                f"the {fits} method would fit: set backend.options.method: {fits}"
                if fits is not None and fits != choice.method
                else "no method would fit: simulate fewer qubits, or cap "
                "matrix_product_state_max_bond_dimension for an approximate simulation"
            )
            issues.append(
                source.issue(
                    spec.path,
                    f"circuit {name!r} touches {choice.qubits} qubits: simulating them with "
                    f"the {choice.method} method needs about {describe_bytes(choice.bytes)}, "
                    f"more than the {describe_bytes(budget.bytes)} this machine has for it "
                    f"({budget.source}; {describe_bytes(budget.available)} available); "
                    f"{advice}",
                )
            )
            continue
        circuits[name] = {
            "device_qubits": circuit.num_qubits,
            "simulated_qubits": reduced.qubits if noisy else reduced.circuit.num_qubits,
            "method": choice.method,
            "method_chosen_by": "qrun" if choice.automatic else "manifest",
            "estimated_bytes": choice.bytes,
        }
    applied: dict[str, JSON] = {
        "options": dict(settings.applied()),
        "noise": _noise(backend.kind, settings.noise_model),
        "memory_budget_bytes": budget.bytes,
        "circuits": circuits,
    }
    return applied


def _noise_problems(kind: str, noise_model: str | None) -> list[tuple[str, str]]:
    """(option, why) when ``noise_model`` cannot apply: on a fake backend, which has its
    own device's noise, or naming no fake device."""
    if noise_model is None:
        return []
    if kind != "aer":
        return [
            (
                "noise_model",
                "noise_model is for the aer simulator; a fake backend is simulated with its "
                "own device's noise (remove the option, or use name: aer with this noise_model)",
            )
        ]
    from qrun.engine.backends import fake_backend_names

    names = fake_backend_names()
    if noise_model in names:
        return []
    close = difflib.get_close_matches(noise_model, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return [
        (
            "noise_model",
            f"unknown fake device {noise_model!r}; {hint}the installed qiskit-ibm-runtime "
            f"ships {len(names)} of them, e.g. fake_manila, fake_sherbrooke, fake_torino",
        )
    ]


def _noise(kind: str, noise_model: str | None) -> str:
    if kind == "fake":
        return "the device's, on the simulated qubits"
    if noise_model is not None:
        return f"{noise_model}'s, on the simulated qubits"
    return "none (ideal)"
