"""What an executor is handed (a :class:`Work`) and what it hands back (an :class:`Outcome`).

Both are plain, picklable values, so a work item can cross into a worker process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from qiskit.primitives import PrimitiveResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub

__all__ = ["Outcome", "Program", "Work"]

Program = Literal["sampler", "estimator"]


@dataclass(frozen=True)
class Work:
    """One job's computation: coerced PUBs (shots / precision already set) for a backend."""

    program: Program
    backend: str
    pubs: tuple[SamplerPub, ...] | tuple[EstimatorPub, ...]
    seed: int | None = None


@dataclass(frozen=True)
class Outcome:
    """A job's result, or the reason it has none."""

    result: PrimitiveResult[object] | None = None
    error: str | None = None
