"""Iterative workloads: SciPy optimisations whose every cost evaluation is a job.

Planning (:mod:`~qrun.workloads.planning`) checks what only Qiskit can see; the runner
(:mod:`~qrun.workloads.minimize`) drives ``scipy.optimize.minimize`` through an
:class:`~qrun.workloads.cost.EstimatorCost`; the scheduler runs several workloads side by
side in one session, each optimiser in a process of its own where the provider allows
(:mod:`~qrun.workloads.process`); :mod:`~qrun.workloads.history` holds what is recorded.
"""

from __future__ import annotations

from qrun.workloads.context import WorkloadContext, WorkloadStopped
from qrun.workloads.cost import EstimatorCost
from qrun.workloads.exact import MAX_EXACT_QUBITS, exact_minimum
from qrun.workloads.history import (
    Evaluation,
    OptimizerResult,
    SessionCheck,
    TagCheck,
    WorkloadResult,
)
from qrun.workloads.minimize import fork_minimize, optimize, run_minimize
from qrun.workloads.planning import GRADIENT_METHODS, PlannedWorkload, plan_workloads
from qrun.workloads.process import RemoteCost, WorkloadFailed, WorkloadProcess, WorkloadProcesses
from qrun.workloads.scheduling import WorkloadRunner, WorkloadScheduler

__all__ = [
    "GRADIENT_METHODS",
    "MAX_EXACT_QUBITS",
    "EstimatorCost",
    "Evaluation",
    "OptimizerResult",
    "PlannedWorkload",
    "RemoteCost",
    "SessionCheck",
    "TagCheck",
    "WorkloadContext",
    "WorkloadFailed",
    "WorkloadProcess",
    "WorkloadProcesses",
    "WorkloadResult",
    "WorkloadRunner",
    "WorkloadScheduler",
    "WorkloadStopped",
    "exact_minimum",
    "fork_minimize",
    "optimize",
    "plan_workloads",
    "run_minimize",
]
