"""What a reviewer sees of a plan before anything runs: the resolved backend, the ISA
circuits' size, the jobs and their PUBs, and the QPU time they are expected to take.

``qrun plan`` prints it; the numbers come from the same :class:`~qrun.run.plan.Plan` a run
would submit, so what is reviewed is what will run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from qrun.engine.directives import is_directive
from qrun.manifest.duration import format_duration

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit import QuantumCircuit

    from qrun.run.plan import Plan

__all__ = ["CircuitSize", "PlanView", "describe_plan", "max_time_warning", "render_plan"]


class CircuitSize(TypedDict):
    """An ISA circuit's footprint on the backend."""

    qubits: int  # qubits that an operation touches
    depth: int
    size: int
    two_qubit_gates: int
    measurements: int


class PubView(TypedDict):
    circuit: str
    shape: list[int]
    executions: int


class PrimitiveView(TypedDict):
    name: str
    kind: str
    tags: list[str]
    pubs: list[PubView]
    estimated_qpu_seconds: float | None


class OptionView(TypedDict):
    owner: str
    option: str
    path: str
    line: int
    column: int
    applied: bool
    note: str
    where: str  # file:line:column


class PlanView(TypedDict):
    manifest: str
    backend: str
    backend_kind: str
    provider: str
    chosen_by: str | None
    mode: str
    max_time: float | None
    circuits: dict[str, CircuitSize]
    jobs: int
    primitives: list[PrimitiveView]
    workloads: list[str]
    estimated_qpu_seconds: float | None
    warnings: list[str]
    simulation: str | None
    options: list[OptionView]


def circuit_size(circuit: QuantumCircuit) -> CircuitSize:
    """How much of the backend ``circuit`` uses (directives such as barriers excluded)."""
    touched: set[int] = set()
    two_qubit = measurements = 0
    for instruction in circuit.data:
        name = instruction.operation.name
        if is_directive(instruction.operation):
            continue
        touched.update(circuit.find_bit(qubit).index for qubit in instruction.qubits)
        if name == "measure":
            measurements += 1
        elif len(instruction.qubits) == 2:
            two_qubit += 1
    return CircuitSize(
        qubits=len(touched),
        depth=circuit.depth(lambda item: not is_directive(item.operation)),
        size=circuit.size(lambda item: not is_directive(item.operation)),
        two_qubit_gates=two_qubit,
        measurements=measurements,
    )


def max_time_warning(plan: Plan, details: Mapping[str, object] | None = None) -> str | None:
    """What to say when the manifest's ``max_time`` is longer than the instance allows:
    where it is written and the maximum TTL the session gets instead. The limit is the
    one the provider knows before opening, or the ``max_time`` a session's ``details``
    report (what the service applied); ``None`` when neither cuts the request."""
    applied = (details or {}).get("max_time")
    limit = plan.max_ttl
    if isinstance(applied, (int, float)) and not isinstance(applied, bool):
        limit = float(applied) if limit is None else min(limit, float(applied))
    requested = plan.max_time
    if plan.mode == "job" or requested is None or limit is None or requested <= limit:
        return None
    execution = plan.manifest.execution
    issue = plan.manifest.source.issue(
        f"{execution.path}.max_time",
        f"max_time {format_duration(requested)} is longer than the instance's maximum TTL; "
        f"the session will use {format_duration(limit)} (jobs still queued then fail)",
    )
    return str(issue)


def open_plan_warning(plan: Plan) -> str | None:
    """What to say when the manifest asks for a session on an Open Plan instance, which
    runs jobs and batches but no sessions: where the mode is written and what happens."""
    if plan.mode != "session" or plan.pricing_plan != "open":
        return None
    execution = plan.manifest.execution
    then = (
        "the work runs as a batch instead (execution.fallback)"
        if execution.fallback
        else "the run fails when the session is refused; set execution.fallback to run a batch"
    )
    issue = plan.manifest.source.issue(
        f"{execution.path}.mode", f"Open Plan instance: sessions are not allowed; {then}"
    )
    return str(issue)


def describe_plan(plan: Plan) -> PlanView:
    """The plan as plain data (``qrun plan --json``)."""
    estimate = plan.estimated_seconds
    warnings = []
    cut = max_time_warning(plan)
    if cut is not None:
        warnings.append(cut)
    refused = open_plan_warning(plan)
    if refused is not None:
        warnings.append(refused)
    if estimate is not None and plan.max_time is not None and estimate > plan.max_time:
        warnings.append(
            f"the jobs are estimated to take {format_duration(estimate)} of QPU time, more "
            f"than max_time {format_duration(plan.max_time)}: jobs still queued when the "
            "session's max TTL is reached fail"
        )
    return PlanView(
        manifest=str(plan.manifest.file),
        backend=plan.backend.name,
        backend_kind=plan.backend.kind,
        provider=plan.backend.provider,
        chosen_by=plan.backend.chosen_by,
        mode=plan.mode,
        max_time=plan.max_time,
        circuits={name: circuit_size(circuit) for name, circuit in plan.circuits.items()},
        jobs=plan.jobs,
        primitives=[
            PrimitiveView(
                name=primitive.name,
                kind=primitive.kind,
                tags=list(primitive.primitive.options.job_tags),
                pubs=[
                    PubView(circuit=pub.circuit, shape=list(pub.shape), executions=pub.executions)
                    for pub in primitive.pubs
                ],
                estimated_qpu_seconds=primitive.estimated_seconds,
            )
            for primitive in plan.primitives
        ],
        workloads=[workload.name for workload in plan.manifest.workloads],
        estimated_qpu_seconds=estimate,
        warnings=warnings,
        simulation=plan.simulation,
        options=[
            OptionView(
                owner=use.owner,
                option=use.note.option,
                path=use.note.path,
                line=use.line,
                column=use.column,
                applied=use.note.applied,
                note=use.note.note,
                where=f"{use.file}:{use.line}:{use.column}",
            )
            for use in plan.options
        ],
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "— (no timing model: ideal simulator)"
    return f"{value:.3f} s" if value < 60 else format_duration(value)


def render_plan(view: PlanView) -> str:
    """The plan as a short text for a terminal or a pull-request comment."""
    chosen = f", chosen by {view['chosen_by']}" if view["chosen_by"] else ""
    max_time = format_duration(view["max_time"]) if view["max_time"] else "the instance's"
    lines = [
        f"{view['manifest']}",
        f"  backend  {view['backend']} ({view['backend_kind']} via {view['provider']}{chosen})",
        f"  mode     {view['mode']}, max_time {max_time}",
        "  circuits (ISA)",
    ]
    for name, size in view["circuits"].items():
        lines.append(
            f"    {name:<16} {size['qubits']:>3} qubits  depth {size['depth']:>5}  "
            f"size {size['size']:>6}  2q gates {size['two_qubit_gates']:>5}  "
            f"measurements {size['measurements']}"
        )
    lines.append(f"  jobs     {view['jobs']}")
    for primitive in view["primitives"]:
        executions = sum(pub["executions"] for pub in primitive["pubs"])
        tags = f"  tags {', '.join(primitive['tags'])}" if primitive["tags"] else ""
        lines.append(
            f"    {primitive['name']:<16} {primitive['kind']:<9} {len(primitive['pubs'])} PUB(s), "
            f"{executions:,} circuit executions, QPU "
            f"{_seconds(primitive['estimated_qpu_seconds'])}{tags}"
        )
    for workload in view["workloads"]:
        lines.append(f"    {workload:<16} workload  one job per cost evaluation")
    lines.append(f"  QPU time {_seconds(view['estimated_qpu_seconds'])}")
    lines += [f"  warning: {warning}" for warning in view["warnings"]]
    if view["simulation"]:
        lines.append(f"  local    {view['simulation']}")
    lines += [
        f"  not applied: {use['where']}: {use['note']}"
        for use in view["options"]
        if not use["applied"]
    ]
    return "\n".join(lines)
