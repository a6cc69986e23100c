"""What an executor is handed (a :class:`Work`) and what it hands back (an :class:`Outcome`).

Both are plain, picklable values, so a work item can cross into a worker process. A
``sampler`` or ``estimator`` job carries coerced PUBs; an ``executor`` job (the client-side
primitives of qiskit-ibm-runtime) carries one ``QuantumProgram`` and ends with a
``QuantumProgramResult`` in :attr:`Outcome.program_result`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from qrun.manifest.model import DEFAULT_PRECISION, DEFAULT_SHOTS, JobOptions

if TYPE_CHECKING:
    from qiskit.primitives import PrimitiveResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub
    from qiskit_ibm_runtime.quantum_program import QuantumProgram
    from qiskit_ibm_runtime.results import QuantumProgramResult

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_SHOTS",
    "JobOptions",
    "Outcome",
    "Program",
    "Simulation",
    "Work",
]

Program = Literal["sampler", "estimator", "executor"]


class Simulation(Protocol):
    """How a provider has a job computed instead of on the backend's default simulator
    (its simulator options applied, say). It travels with the work, so it must pickle."""

    def run(self, work: Work) -> Outcome: ...


@dataclass(frozen=True)
class Work:
    """One job's computation: coerced PUBs (shots / precision already set) for a backend,
    or the one quantum program of an ``executor`` job. ``place`` names where it must be
    computed (see :class:`~qrun.engine.placement.PlacingExecutor`); None: anywhere."""

    program: Program
    backend: str
    pubs: tuple[SamplerPub, ...] | tuple[EstimatorPub, ...] | tuple[QuantumProgram]
    seed: int | None = None
    place: str | None = None
    simulation: Simulation | None = None  # None: the backend's default simulator


@dataclass(frozen=True)
class Outcome:
    """A job's result, or the reason it has none."""

    result: PrimitiveResult[object] | None = None
    error: str | None = None
    program_result: QuantumProgramResult | None = None
