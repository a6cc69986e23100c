"""Shared set-up for the engine's tests: a virtual clock, a QPU and tiny circuits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qiskit import QuantumCircuit

from qrun.clock import VirtualClock
from qrun.engine import Engine, Instance, NullExecutor
from qrun.manifest.model import JobOptions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from qrun.engine import JobHandle, SessionHandle

QPU = "fake_manila"
START = 1_767_225_600.0


def one_qubit() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


CIRCUIT = one_qubit()


def lifecycle_engine(*instances: Instance) -> tuple[Engine, VirtualClock]:
    """An engine on a virtual clock whose jobs compute nothing (only timing matters)."""
    clock = VirtualClock(START)
    engine = Engine(clock, NullExecutor(), instances=(Instance("local"), *instances))
    return engine, clock


def run(
    engine: Engine,
    session: SessionHandle | None = None,
    *,
    duration: float = 10.0,
    tags: Sequence[str] = (),
    instance: str = "local",
) -> JobHandle:
    """Submit a one-qubit sampler job lasting ``duration`` virtual seconds."""
    return engine.submit(
        "sampler",
        [CIRCUIT],
        backend=session.backend_name if session else QPU,
        instance=instance,
        session_id=session.session_id if session else None,
        duration=duration,
        options=JobOptions(job_tags=tuple(tags)),
    )
