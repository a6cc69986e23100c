"""The plan of a run: the resolved backend, ISA circuits, PUBs and an estimate of the work.

Planning is the last step before anything is submitted, and the one where Qiskit judges
the manifest: circuits must build and transpile for the backend, observables must be as
wide as their circuits, parameter values must fit the circuit's parameters, a sampler's
circuit must measure something. Every such problem becomes an Issue at its place in the
manifest, and all of them are raised together as one :class:`~qrun.errors.ManifestError`.

The plan also says what becomes of each Runtime option (:class:`OptionUse`): on the local
simulator, which ones it applies and which only IBM Quantum applies; on IBM Quantum, that
each goes to the client unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.engine.directives import is_directive
from qrun.engine.timing import executions, shots_per_setting
from qrun.errors import BackendError
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.model import (
    EstimatorPub,
    FromWorkload,
    Linspace,
    Manifest,
    NestedNames,
    ParameterValues,
    Primitive,
    RandomValues,
    SamplerPub,
)
from qrun.manifest.operator import sparse_pauli_op
from qrun.manifest.options import local_notes, runtime_notes
from qrun.run.chaining import check_chains
from qrun.run.circuits import build_circuits
from qrun.run.simulation import plan_simulation
from qrun.run.transpilation import preset_pass_manager

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.circuit import QuantumCircuit
    from qiskit.primitives.containers.estimator_pub import EstimatorPub as QiskitEstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub as QiskitSamplerPub
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import Target

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.model import JSON, Circuit, PrimitiveKind, PrimitiveOptions
    from qrun.manifest.options import OptionNote
    from qrun.providers import ExecutionMode, Provider, ResolvedBackend
    from qrun.workloads.planning import PlannedWorkload

__all__ = ["OptionUse", "Plan", "PlannedPrimitive", "PlannedPub", "make_plan"]

#: Repetition delay assumed between shots when a backend does not report one.
DEFAULT_REP_DELAY = 250e-6


@dataclass(frozen=True)
class PlannedPub:
    """One PUB ready to submit (a Qiskit ``SamplerPub`` or ``EstimatorPub``)."""

    index: int
    circuit: str
    path: str
    pub: object
    shape: tuple[int, ...]
    shots: int  # per parameter set and measurement setting, defaults resolved
    executions: int  # circuit executions on the QPU (shots x bindings x settings)


@dataclass(frozen=True)
class PlannedPrimitive:
    """One primitive of the manifest: one job with all its PUBs."""

    primitive: Primitive
    pubs: tuple[PlannedPub, ...]
    estimated_seconds: float | None  # modelled QPU time; None on an ideal simulator

    @property
    def name(self) -> str:
        return self.primitive.name

    @property
    def kind(self) -> str:
        return self.primitive.kind


@dataclass(frozen=True)
class OptionUse:
    """What a run does with one option of a primitive or workload, and where it is written."""

    owner: str  # the primitive's or workload's name
    note: OptionNote
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.note.note}"


@dataclass(frozen=True)
class Plan:
    """Everything a run will submit, resolved before the first job."""

    manifest: Manifest
    backend: ResolvedBackend
    mode: ExecutionMode
    max_time: float | None
    circuits: Mapping[str, QuantumCircuit]  # ISA circuits by name
    primitives: tuple[PlannedPrimitive, ...]
    workloads: tuple[PlannedWorkload, ...] = ()
    options: tuple[OptionUse, ...] = ()  # every option written, in manifest order
    simulation: str | None = None  # how a local run computes results; None on IBM Quantum

    @property
    def not_applied(self) -> tuple[OptionUse, ...]:
        """The options this run does not apply (a local run's mitigation, twirling …)."""
        return tuple(use for use in self.options if not use.note.applied)

    max_ttl: float | None = None  # the instance's longest session, if known before opening
    pricing_plan: str | None = None  # the instance's plan (open, premium …), if known
    simulator: Mapping[str, JSON] | None = None  # what a local simulation applies

    @property
    def jobs(self) -> int:
        """Jobs known before the run: one per primitive (a workload's depend on its
        optimiser)."""
        return len(self.primitives)

    @property
    def estimated_seconds(self) -> float | None:
        estimates = [primitive.estimated_seconds for primitive in self.primitives]
        if not estimates or any(estimate is None for estimate in estimates):
            return None
        return sum(estimate for estimate in estimates if estimate is not None)


# ------------------------------------------------------------------------- circuits


def _transpile(
    circuits: Mapping[str, QuantumCircuit],
    specs: Mapping[str, Circuit],
    backend: ResolvedBackend,
    manifest: Manifest,
    issues: list[Issue],
) -> dict[str, QuantumCircuit]:
    from qiskit.transpiler import TranspilerError

    manager = preset_pass_manager(
        backend.transpile_for, manifest.transpile.optimization_level, manifest.transpile.seed
    )
    target = _target(backend)
    isa: dict[str, QuantumCircuit] = {}
    for name, circuit in circuits.items():
        path = specs[name].path
        try:
            transpiled = manager.run(circuit)
        except TranspilerError as error:
            issues.append(
                manifest.source.issue(
                    path, f"circuit {name!r} cannot run on backend {backend.name!r}: {error}"
                )
            )
            continue
        unsupported = _unsupported_operations(transpiled, target)
        if unsupported:
            issues.append(
                manifest.source.issue(
                    path,
                    f"circuit {name!r} still uses {', '.join(sorted(unsupported))} after "
                    f"transpilation, which backend {backend.name!r} cannot run",
                )
            )
            continue
        isa[name] = transpiled
    return isa


def _target(backend: ResolvedBackend) -> Target:
    from qiskit.transpiler import Target

    if isinstance(backend.transpile_for, Target):
        return backend.transpile_for
    return backend.transpile_for.target


def _unsupported_operations(circuit: QuantumCircuit, target: Target) -> set[str]:
    unsupported: set[str] = set()
    for instruction in circuit.data:
        name = instruction.operation.name
        if is_directive(instruction.operation):
            continue
        if instruction.operation.num_qubits == 0 or not instruction.qubits:
            continue
        qargs = tuple(circuit.find_bit(qubit).index for qubit in instruction.qubits)
        if not target.instruction_supported(operation_name=name, qargs=qargs):
            unsupported.add(name)
    return unsupported


def _measures(circuit: QuantumCircuit) -> bool:
    return any(instruction.operation.name == "measure" for instruction in circuit.data)


# ---------------------------------------------------------------- parameter values


def _parameter_values(
    values: ParameterValues | None,
    circuit: QuantumCircuit,
    *,
    name: str,
    pub_path: str,
    manifest: Manifest,
    issues: list[Issue],
) -> NDArray[np.float64] | None:
    import numpy as np

    count = circuit.num_parameters
    shown = [parameter.name for parameter in circuit.parameters[:8]]
    names = ", ".join(shown + (["…"] if count > len(shown) else []))
    described = f"circuit {name!r} has {count} parameter{'s' * (count != 1)}"
    if names:
        described += f" ({names})"
    if values is None:
        if count:
            issues.append(manifest.source.issue(pub_path, f"{described} but no parameter_values"))
        return None
    if count == 0:
        issues.append(manifest.source.issue(values.path, f"{described}; remove parameter_values"))
        return None
    if isinstance(values, Linspace):
        if count != 1:
            issues.append(
                manifest.source.issue(
                    values.path, f"linspace sweeps one parameter, but {described}"
                )
            )
            return None
        return np.linspace(values.start, values.stop, values.num).reshape(values.num, 1)
    if isinstance(values, RandomValues):
        generator = np.random.default_rng(values.seed)
        return generator.uniform(values.low, values.high, (*values.shape, count))
    if isinstance(values, FromWorkload):  # a stand-in: the workload's point replaces it
        return np.zeros(count)
    try:
        array = np.asarray(values.values, dtype=float)
    except ValueError:
        issues.append(
            manifest.source.issue(
                values.path, "parameter_values must be a rectangular array of numbers"
            )
        )
        return None
    if array.ndim == 0 and count == 1:  # one number binds a one-parameter circuit
        return array.reshape(1)
    if array.ndim == 0 or array.shape[-1] != count:
        given = "a single number" if array.ndim == 0 else f"{array.shape[-1]} values"
        where = "" if array.ndim == 0 else "the last axis of "
        issues.append(
            manifest.source.issue(
                values.path,
                f"{described}, but {where}parameter_values holds {given}; give "
                f"{count} value{'s' * (count != 1)} per parameter set",
            )
        )
        return None
    return array


# ----------------------------------------------------------------------- observables


def _observables(
    names: NestedNames,
    circuit: QuantumCircuit,
    isa: QuantumCircuit,
    *,
    circuit_name: str,
    pub: EstimatorPub,
    manifest: Manifest,
    issues: list[Issue],
) -> object:
    reported: set[str] = set()

    def lay_out(item: NestedNames) -> object:
        if isinstance(item, tuple):
            return [lay_out(child) for child in item]
        observable = manifest.observables.get(item)
        if observable is None:
            if item not in reported:
                reported.add(item)
                issues.append(
                    manifest.source.issue(
                        f"{pub.path}.observables", f"no observable named {item!r}"
                    )
                )
            return None
        if observable.num_qubits != circuit.num_qubits:
            if item not in reported:
                reported.add(item)
                issues.append(
                    manifest.source.issue(
                        f"{pub.path}.observables",
                        f"observable {item!r} acts on {observable.num_qubits} qubits but "
                        f"circuit {circuit_name!r} has {circuit.num_qubits}",
                    )
                )
            return None
        operator: SparsePauliOp = sparse_pauli_op(observable)
        return operator.apply_layout(isa.layout, num_qubits=isa.num_qubits)

    return lay_out(names)


# ---------------------------------------------------------------------------- PUBs


def _plan_pub(
    index: int,
    spec: SamplerPub | EstimatorPub,
    primitive: Primitive,
    *,
    logical: Mapping[str, QuantumCircuit],
    isa: Mapping[str, QuantumCircuit],
    manifest: Manifest,
    issues: list[Issue],
) -> PlannedPub | None:
    from qiskit.primitives.containers.estimator_pub import EstimatorPub as QiskitEstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub as QiskitSamplerPub

    name = spec.circuit
    circuit, transpiled = logical.get(name), isa.get(name)
    if circuit is None or transpiled is None:
        return None  # its circuit already has an issue (or the reference check reported it)
    before = len(issues)
    values = _parameter_values(
        spec.parameter_values,
        circuit,
        name=name,
        pub_path=spec.path,
        manifest=manifest,
        issues=issues,
    )
    if isinstance(spec, SamplerPub):
        if not _measures(circuit):
            issues.append(
                manifest.source.issue(
                    spec.path,
                    f"circuit {name!r} measures nothing, so a sampler has nothing to count; "
                    "add measurements or set measure_all: true on the circuit",
                )
            )
        if len(issues) > before:
            return None
        try:
            pub: QiskitSamplerPub | QiskitEstimatorPub = QiskitSamplerPub.coerce(
                (transpiled, values, spec.shots)
            )
        except (ValueError, TypeError) as error:
            issues.append(manifest.source.issue(spec.path, f"not a valid sampler PUB: {error}"))
            return None
        return _planned(index, spec, pub, QiskitSamplerPub.coerce(pub, primitive.options.shots()))
    observables = _observables(
        spec.observables,
        circuit,
        transpiled,
        circuit_name=name,
        pub=spec,
        manifest=manifest,
        issues=issues,
    )
    if len(issues) > before:
        return None
    try:
        pub = QiskitEstimatorPub.coerce((transpiled, observables, values, spec.precision))
    except (ValueError, TypeError) as error:
        issues.append(manifest.source.issue(spec.path, f"not a valid estimator PUB: {error}"))
        return None
    return _planned(index, spec, pub, QiskitEstimatorPub.coerce(pub, primitive.options.precision()))


def _planned(
    index: int,
    spec: SamplerPub | EstimatorPub,
    pub: QiskitSamplerPub | QiskitEstimatorPub,
    resolved: QiskitSamplerPub | QiskitEstimatorPub,
) -> PlannedPub:
    """``pub`` is submitted as written (the service applies the options' defaults);
    ``resolved`` has them applied, to count what will run."""
    return PlannedPub(
        index,
        spec.circuit,
        spec.path,
        pub,
        pub.shape,
        shots=shots_per_setting(resolved),
        executions=executions(resolved),
    )


def _estimate_seconds(
    pubs: tuple[PlannedPub, ...], isa: Mapping[str, QuantumCircuit], target: Target
) -> float | None:
    if target.dt is None:
        return None  # an ideal simulator: no QPU time to model
    total = 0.0
    for pub in pubs:
        try:
            duration = float(isa[pub.circuit].estimate_duration(target))
        except Exception:  # noqa: BLE001 - a circuit Qiskit cannot time: no estimate
            return None
        total += pub.executions * (duration + DEFAULT_REP_DELAY)
    return total


# ------------------------------------------------------------------------- options


def _option_uses(manifest: Manifest, backend: ResolvedBackend) -> tuple[OptionUse, ...]:
    owners: list[tuple[str, PrimitiveKind, PrimitiveOptions, str]] = [
        (primitive.name, primitive.kind, primitive.options, f"{primitive.path}.options")
        for primitive in manifest.primitives
    ]
    owners += [
        (workload.name, "estimator", workload.options, f"{workload.path}.options")
        for workload in manifest.workloads
    ]
    uses = []
    for owner, kind, options, path in owners:
        if backend.provider == "local":
            notes = local_notes(options.raw, kind, path)
        else:
            notes = runtime_notes(options.raw, path)
        for note in notes:
            line, column = manifest.source.position(note.path)
            uses.append(OptionUse(owner, note, str(manifest.source.file), line, column))
    return tuple(uses)


def _simulation(backend: ResolvedBackend) -> str | None:
    if backend.provider != "local":
        return None
    device = backend.name if backend.kind == "fake" else _noise_model(backend)
    noise = (
        "no noise (an ideal simulator)"
        if device is None
        else f"the noise model of {device} (its readout errors reach counts, "
        "not expectation values)"
    )
    return (
        f"Aer with {noise}; expectation values estimated from ceil(1/precision²) shots per "
        "Pauli term; no error mitigation, twirling or dynamical decoupling"
    )


def _noise_model(backend: ResolvedBackend) -> str | None:
    from qrun.providers.local import LocalBackend

    return backend.simulator.noise_model if isinstance(backend, LocalBackend) else None


# ---------------------------------------------------------------------------- plan


def make_plan(manifest: Manifest, provider: Provider) -> Plan:
    """Resolve, build, transpile and check everything; raise all problems together."""
    try:
        backend = provider.resolve(manifest.backend)
    except BackendError as error:
        raise ManifestError([manifest.source.issue(manifest.backend.path, str(error))]) from error
    issues: list[Issue] = []
    used = {pub.circuit for primitive in manifest.primitives for pub in primitive.pubs}
    for workload in manifest.workloads:
        used.add(workload.cost.circuit)
    # Every circuit is built, so one that no PUB uses yet cannot hide a broken program;
    # only the used ones are transpiled.
    built = build_circuits(manifest.circuits, manifest.source, issues)
    specs = {name: spec for name, spec in manifest.circuits.items() if name in used}
    logical = {name: circuit for name, circuit in built.items() if name in used}
    isa = _transpile(logical, specs, backend, manifest, issues)
    simulator = plan_simulation(manifest, backend, isa, issues, logical)
    target = _target(backend)
    primitives: list[PlannedPrimitive] = []
    for primitive in manifest.primitives:
        pubs = tuple(
            planned
            for index, spec in enumerate(primitive.pubs)
            if (
                planned := _plan_pub(
                    index,
                    spec,
                    primitive,
                    logical=logical,
                    isa=isa,
                    manifest=manifest,
                    issues=issues,
                )
            )
            is not None
        )
        primitives.append(PlannedPrimitive(primitive, pubs, _estimate_seconds(pubs, isa, target)))
    workloads: tuple[PlannedWorkload, ...] = ()
    if manifest.workloads:  # a plan without workloads imports none of their machinery
        from qrun.workloads.planning import plan_workloads

        workloads = plan_workloads(manifest, logical, isa, issues)
        check_chains(manifest, logical, issues)
    if issues:
        raise ManifestError(sorted(issues))
    return Plan(
        manifest=manifest,
        backend=backend,
        mode=manifest.execution.mode,
        max_time=manifest.execution.max_time,
        circuits=isa,
        primitives=tuple(primitives),
        workloads=workloads,
        options=_option_uses(manifest, backend),
        simulation=_simulation(backend),
        max_ttl=provider.max_ttl,
        pricing_plan=provider.pricing_plan,
        simulator=simulator,
    )
