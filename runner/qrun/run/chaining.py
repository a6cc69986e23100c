"""Chained steps: PUBs whose parameter values are the point an earlier workload found.

A PUB written ``parameter_values: {from: qaoa, point: best}`` is planned with a stand-in
of the right width; before the run, :func:`check_chains` holds its circuit's parameter
count against the workload's. During the run its primitive waits for the workload to
end, :meth:`~qrun.workloads.history.WorkloadResult.point` gives the chosen point and
:func:`bind` binds it, and a :class:`Feed` records which value fed which PUB
(``run.json`` and ``results.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qrun.manifest.model import FromWorkload

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.diagnostics import Issue
    from qrun.manifest.model import JSON, Manifest, WorkloadPoint

__all__ = ["Feed", "bind", "check_chains"]


def _count(number: int) -> str:
    return f"{number} parameter{'s' * (number != 1)}"


def check_chains(
    manifest: Manifest, logical: Mapping[str, QuantumCircuit], issues: list[Issue]
) -> None:
    """Each chained PUB's circuit has as many parameters as its workload optimises."""
    workloads = {workload.name: workload for workload in manifest.workloads}
    for primitive in manifest.primitives:
        for pub in primitive.pubs:
            values = pub.parameter_values
            if not isinstance(values, FromWorkload) or values.workload not in workloads:
                continue
            source = workloads[values.workload].cost.circuit
            theirs, ours = logical.get(source), logical.get(pub.circuit)
            if theirs is None or ours is None:
                continue  # the circuit already has an issue
            if theirs.num_parameters != ours.num_parameters:
                issues.append(
                    manifest.source.issue(
                        values.path,
                        f"workload {values.workload!r} optimises {_count(theirs.num_parameters)}"
                        f" (circuit {source!r}), but circuit {pub.circuit!r} has "
                        f"{_count(ours.num_parameters)}; a chained PUB binds the workload's "
                        "point, one value per parameter",
                    )
                )


@dataclass(frozen=True)
class Feed:
    """One PUB fed by a workload: which point, the values bound, or why none were."""

    primitive: str
    pub: int
    path: str
    workload: str
    point: WorkloadPoint
    values: tuple[float, ...] | None  # None: the workload gave no such point
    value: float | None = None  # the cost at that point, when it was evaluated there
    problem: str | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "primitive": self.primitive,
            "pub": self.pub,
            "path": self.path,
            "from": self.workload,
            "point": self.point,
            "values": self.values,
            "cost": self.value,
            "problem": self.problem,
        }


def bind(pub: object, values: tuple[float, ...]) -> object:
    """The Qiskit PUB ``pub`` (a sampler or estimator PUB) with ``values`` bound."""
    import numpy as np
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.sampler_pub import SamplerPub

    array = np.asarray(values, dtype=float)
    if isinstance(pub, SamplerPub):
        return SamplerPub.coerce((pub.circuit, array, pub.shots))
    if isinstance(pub, EstimatorPub):
        return EstimatorPub.coerce((pub.circuit, pub.observables, array, pub.precision))
    raise TypeError(f"not a PUB: {type(pub).__name__}")
