"""The validated manifest: frozen, typed, and the only thing later stages see.

``qrun.manifest.load.load_manifest`` builds a :class:`Manifest` from a YAML file after the
schema and reference checks pass, so code here never meets a raw dict. Every element
keeps the JSON path of the node it came from (``path``), and the manifest keeps a
:class:`SourceMap`, so a later stage that finds a problem only Qiskit can see (an
observable wider than its circuit, say) still reports it at ``file:line:col``.

Nothing in this module imports Qiskit or NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.manifest.diagnostics import Issue

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_SHOTS",
    "JSON",
    "Array",
    "Backend",
    "BackendKind",
    "Circuit",
    "Estimate",
    "EstimatorPub",
    "Execution",
    "ExecutionMode",
    "FromWorkload",
    "JobOptions",
    "LeastBusy",
    "LibrarySource",
    "Linspace",
    "Manifest",
    "Metadata",
    "Minimize",
    "NestedNames",
    "Observable",
    "OptimizerMethod",
    "ParameterValues",
    "Primitive",
    "PrimitiveKind",
    "PrimitiveOptions",
    "Pub",
    "QasmFileSource",
    "QasmSource",
    "QpySource",
    "RandomValues",
    "SamplerPub",
    "Service",
    "ServiceChannel",
    "SourceMap",
    "SparseTerm",
    "Transpile",
    "Workload",
    "WorkloadOrder",
    "WorkloadPoint",
    "plain",
    "shots_for_precision",
    "to_python",
]

#: A JSON value as it came out of the YAML document (after validation).
JSON: TypeAlias = bool | int | float | str | tuple["JSON", ...] | Mapping[str, "JSON"] | None

#: Nested tuples of floats, any depth (a scalar is a 0-d array).
NestedFloats: TypeAlias = float | tuple["NestedFloats", ...]

#: An observable name, or nested tuples of names (an observables array that broadcasts).
NestedNames: TypeAlias = str | tuple["NestedNames", ...]

#: How jobs are grouped on the backend (the schema's ``execution.mode``).
ExecutionMode = Literal["session", "batch", "job"]
#: Whether a manifest's workloads run side by side or one after another.
WorkloadOrder = Literal["concurrent", "sequential"]
#: The kinds of ``backend`` a manifest names; each has a provider.
BackendKind = Literal["aer", "fake", "ibm", "least_busy"]
PrimitiveKind = Literal["sampler", "estimator"]
#: The channels of ``service.channel``: the Runtime client's two, and ``local``.
ServiceChannel = Literal["ibm_quantum_platform", "ibm_cloud", "local"]
#: The ``scipy.optimize.minimize`` methods a workload may name (lower-case).
OptimizerMethod = Literal[
    "cobyla",
    "cobyqa",
    "nelder-mead",
    "powell",
    "l-bfgs-b",
    "bfgs",
    "cg",
    "slsqp",
    "tnc",
    "trust-constr",
]


def plain(value: object) -> JSON:
    """``value`` as JSON: arrays become lists, unknown objects their ``str``."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(plain(item) for item in value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return plain(tolist())
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def to_python(value: JSON) -> object:
    """A manifest value as libraries take it: lists for sequences, dicts for mappings
    (the model keeps them as tuples and read-only mappings so it can be frozen)."""
    if isinstance(value, tuple):
        return [to_python(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_python(item) for key, item in value.items()}
    return value


class SourceMap(Protocol):
    """Where each node of the manifest was written."""

    @property
    def file(self) -> str:
        """The manifest's path as the user gave it."""
        ...

    def position(self, path: str) -> tuple[int, int]:
        """1-based (line, column) of the node at JSON path ``path``, or of its nearest
        ancestor that exists (for a missing key: the mapping that lacks it)."""
        ...

    def inner_position(self, path: str, line: int, column: int) -> tuple[int, int] | None:
        """Where (``line``, ``column``) of the string at ``path`` stands in the manifest,
        when the string's lines are the manifest's lines (a literal block); else None."""
        ...

    def issue(self, path: str, message: str) -> Issue:
        """An :class:`~qrun.manifest.diagnostics.Issue` at the node at ``path``."""
        ...


# --------------------------------------------------------------------------- backend


@dataclass(frozen=True)
class LeastBusy:
    """Filters for ``least_busy`` (as ``QiskitRuntimeService.least_busy`` takes them)."""

    operational: bool = True
    simulator: bool = False
    min_num_qubits: int | None = None


@dataclass(frozen=True)
class Backend:
    """Where the work runs.

    ``kind`` says which provider handles it: ``aer`` (the ideal local simulator) and
    ``fake`` (``fake_<name>``, a noisy local copy of an IBM QPU) run on qrun's local
    engine; ``ibm`` (a named ``ibm_<name>`` QPU) and ``least_busy`` run through
    ``qiskit_ibm_runtime`` against the service.
    """

    kind: BackendKind
    name: str | None  # None only for least_busy (resolved at run time)
    path: str
    options: Mapping[str, JSON] = field(default_factory=dict)  # aer options passed through
    least_busy: LeastBusy | None = None


@dataclass(frozen=True)
class Service:
    """The Runtime service to use; credentials never appear here (saved account or env)."""

    channel: ServiceChannel | None = None
    instance: str | None = None
    url: str | None = None
    path: str = "$.service"


# ------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class Execution:
    """How the jobs are grouped: one session (default), a batch, or plain jobs."""

    mode: ExecutionMode = "session"
    max_time: float | None = None  # seconds; None = the instance's maximum TTL
    fallback: bool = False  # run as a batch if the instance cannot open sessions
    workloads: WorkloadOrder = "concurrent"
    path: str = "$.execution"


@dataclass(frozen=True)
class Transpile:
    """Settings for ``generate_preset_pass_manager``."""

    optimization_level: int = 2
    seed: int | None = None
    path: str = "$.transpile"


# -------------------------------------------------------------------------- circuits


@dataclass(frozen=True)
class QasmSource:
    """OpenQASM text written in the manifest; ``version`` is 2 or 3 (from its header)."""

    text: str
    version: int


@dataclass(frozen=True)
class QasmFileSource:
    """A ``.qasm`` file beside the manifest, read once when the manifest was loaded."""

    file: Path  # resolved, inside the manifest's folder
    text: str
    version: int


@dataclass(frozen=True)
class QpySource:
    """A QPY file beside the manifest (``qiskit.qpy``), read once when the manifest was
    loaded; ``index`` chooses one of the circuits it holds (``count`` of them)."""

    file: Path  # resolved, inside the manifest's folder
    data: bytes
    index: int
    count: int


@dataclass(frozen=True)
class LibrarySource:
    """A function of ``qiskit.circuit.library`` called with keyword arguments.

    ``observables`` holds the arguments written as ``{observable: <name>}``: each is
    passed as that observable's ``SparsePauliOp`` (e.g. ``qaoa_ansatz``'s
    ``cost_operator``)."""

    function: str  # e.g. "efficient_su2"
    arguments: Mapping[str, JSON] = field(default_factory=dict)
    observables: Mapping[str, Observable] = field(default_factory=dict)


@dataclass(frozen=True)
class Circuit:
    """A named circuit; ``measure_all`` adds measurements (for samplers of library circuits)."""

    name: str
    source: QasmSource | QasmFileSource | QpySource | LibrarySource
    path: str
    measure_all: bool = False


#: One term of a sparse observable: Pauli letters, the qubit each acts on (in the same
#: order), the coefficient; as ``SparsePauliOp.from_sparse_list`` takes them.
SparseTerm: TypeAlias = tuple[str, tuple[int, ...], float]


@dataclass(frozen=True)
class Observable:
    """A named ``SparsePauliOp``.

    Written densely, ``terms`` holds (Pauli string, coefficient) pairs in Qiskit's order
    (the rightmost letter acts on qubit 0). Written sparsely (``{num_qubits, terms}``),
    ``terms`` is empty and ``sparse`` holds the terms with the qubits they act on, and
    ``width`` the number of qubits. :meth:`sparse_list` gives both forms as
    ``SparsePauliOp.from_sparse_list`` takes them.
    """

    name: str
    terms: tuple[tuple[str, float], ...]
    path: str
    sparse: tuple[SparseTerm, ...] = ()
    width: int | None = None

    @property
    def num_qubits(self) -> int:
        if self.width is not None:
            return self.width
        return len(self.terms[0][0])

    def sparse_list(self) -> list[tuple[str, list[int], float]]:
        """Every term as (letters, qubits, coefficient), identities left out."""
        if self.width is not None:
            return [(letters, list(qubits), coeff) for letters, qubits, coeff in self.sparse]
        found = []
        for pauli, coeff in self.terms:
            width = len(pauli)
            pairs = [(letter, width - 1 - at) for at, letter in enumerate(pauli) if letter != "I"]
            found.append(("".join(p for p, _ in pairs), [q for _, q in pairs], coeff))
        return found


# ------------------------------------------------------------------ parameter values


@dataclass(frozen=True)
class Array:
    """Explicit values: nested lists whose last axis runs over the circuit's parameters
    (in ``circuit.parameters`` order) and whose leading axes broadcast as Qiskit PUBs do."""

    values: NestedFloats
    path: str


@dataclass(frozen=True)
class Linspace:
    """``num`` evenly spaced values from ``start`` to ``stop`` for a one-parameter circuit."""

    start: float
    stop: float
    num: int
    path: str


@dataclass(frozen=True)
class RandomValues:
    """Uniform random values in ``[low, high)`` from a seeded generator; ``shape`` is the
    bindings shape (the parameter axis is added from the circuit)."""

    seed: int
    low: float
    high: float
    shape: tuple[int, ...]
    path: str


#: Which point of a workload's result feeds a later step: the best cost evaluated, or
#: the optimiser's final point.
WorkloadPoint = Literal["best", "final"]


@dataclass(frozen=True)
class FromWorkload:
    """Parameter values taken from an earlier workload's result when it has ended
    (``{from: <workload>, point: best|final}``): one parameter set."""

    workload: str
    point: WorkloadPoint
    path: str


ParameterValues: TypeAlias = Array | Linspace | RandomValues | FromWorkload


# ------------------------------------------------------------------------ primitives


#: What the Runtime primitives use when neither a PUB nor the options name shots or
#: precision (the values the service applies).
DEFAULT_SHOTS = 4096
DEFAULT_PRECISION = 1 / 64


@dataclass(frozen=True)
class JobOptions:
    """The options a primitive job runs with, typed: built from a manifest, from the
    Runtime API's JSON or from the ``qiskit_ibm_runtime`` look-alike, and read by the engine.

    :meth:`shots` and :meth:`precision` are the one statement of Runtime's defaults, used
    wherever a PUB's shots or precision are decided or counted (engine, plan, timing
    model, service).
    """

    default_shots: int | None = None
    default_precision: float | None = None
    seed_simulator: int | None = None
    job_tags: tuple[str, ...] = ()

    def shots(self, pub_shots: int | None = None) -> int:
        """A sampler PUB's shots: its own, else ``default_shots``, else 4096."""
        if pub_shots is not None:
            return pub_shots
        return DEFAULT_SHOTS if self.default_shots is None else self.default_shots

    def precision(self, pub_precision: float | None = None) -> float:
        """An estimator PUB's target precision: its own, else ``1/sqrt(default_shots)``
        if ``default_shots`` is set (it overrides ``default_precision``, as the client
        documents and its local mode does), else ``default_precision``, else 1/64."""
        if pub_precision is not None:
            return pub_precision
        if self.default_shots:
            return 1 / math.sqrt(self.default_shots)
        return DEFAULT_PRECISION if self.default_precision is None else self.default_precision


def shots_for_precision(precision: float) -> int:
    """Shots per measurement setting that reach ``precision`` (``ceil(1/precision²)``,
    so ``1/sqrt(n)`` gives back ``n``); a precision of 0 (exact) counts as the default.
    A precision so fine that no float holds its shots raises :class:`OverflowError`."""
    chosen = precision or DEFAULT_PRECISION
    wanted = 1 / chosen / chosen  # not chosen**2: a tiny precision squares to 0.0
    if not math.isfinite(wanted):
        raise OverflowError(f"precision {chosen:g} needs more shots than a float holds")
    nearest = round(wanted)
    return nearest if math.isclose(wanted, nearest, rel_tol=1e-9) else math.ceil(wanted)


@dataclass(frozen=True)
class PrimitiveOptions(JobOptions):
    """A primitive's options as written in the manifest: the :class:`JobOptions` lifted
    out of them, and ``raw``, passed to ``qiskit_ibm_runtime`` primitives unchanged
    (``resilience``, ``twirling``, ``dynamical_decoupling`` …)."""

    raw: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class SamplerPub:
    circuit: str
    path: str
    parameter_values: ParameterValues | None = None
    shots: int | None = None


@dataclass(frozen=True)
class EstimatorPub:
    circuit: str
    observables: NestedNames
    path: str
    parameter_values: ParameterValues | None = None
    precision: float | None = None


Pub: TypeAlias = SamplerPub | EstimatorPub


@dataclass(frozen=True)
class Primitive:
    """A sampler or an estimator and the PUBs it runs (one job per primitive)."""

    kind: PrimitiveKind
    name: str
    pubs: tuple[Pub, ...]
    path: str
    options: PrimitiveOptions = field(default_factory=PrimitiveOptions)

    @property
    def sources(self) -> tuple[str, ...]:
        """The workloads whose results its PUBs take parameter values from, in order."""
        found: list[str] = []
        for pub in self.pubs:
            values = pub.parameter_values
            if isinstance(values, FromWorkload) and values.workload not in found:
                found.append(values.workload)
        return tuple(found)


# ------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Estimate:
    """The cost of an optimisation: the expectation value of ``observable`` on
    ``circuit``, whose free parameters are the optimised ones."""

    circuit: str
    observable: str
    path: str
    precision: float | None = None


@dataclass(frozen=True)
class Minimize:
    """An iterative optimisation: ``scipy.optimize.minimize`` on an estimator cost, one
    job in the session per cost evaluation."""

    name: str
    cost: Estimate
    method: OptimizerMethod
    x0: Array | RandomValues | FromWorkload  # from: the point an earlier workload found
    path: str
    maxiter: int | None = None
    tol: float | None = None
    method_options: Mapping[str, JSON] = field(default_factory=dict)
    options: PrimitiveOptions = field(default_factory=PrimitiveOptions)
    reference: float | None = None  # an exact minimum to report the error against


Workload = Minimize


# -------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class Metadata:
    """Free-form review information; never interpreted."""

    name: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A whole validated manifest."""

    version: int
    file: Path
    text: str  # the file as read, for the run record's copy and hash
    sha256: str
    source: SourceMap
    backend: Backend
    metadata: Metadata = field(default_factory=Metadata)
    service: Service | None = None
    execution: Execution = field(default_factory=Execution)
    transpile: Transpile = field(default_factory=Transpile)
    circuits: Mapping[str, Circuit] = field(default_factory=dict)
    observables: Mapping[str, Observable] = field(default_factory=dict)
    primitives: tuple[Primitive, ...] = ()
    workloads: tuple[Workload, ...] = ()

    @property
    def base_dir(self) -> Path:
        """The folder files named in the manifest are resolved against."""
        return self.file.parent
