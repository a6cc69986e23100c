"""Iterative workloads: SciPy optimisations whose every cost evaluation is a job.

Planning (:mod:`~qrun.workloads.planning`) checks what only Qiskit can see; the runner
(:mod:`~qrun.workloads.minimize`) runs ``scipy.optimize.minimize`` where the channel hosts
it, asking for each evaluation (:mod:`~qrun.workloads.asking`), and evaluates each request
as one job in the channel (:mod:`~qrun.workloads.cost`); the scheduler
(:mod:`~qrun.workloads.scheduling`) runs several workloads side by side in one session;
:mod:`~qrun.workloads.history` holds what is recorded. Workloads see only the channel.
"""

from __future__ import annotations

from qrun.workloads.asking import Ask, AskingCost, read_evaluation
from qrun.workloads.context import Progress, WorkloadContext, WorkloadStopped
from qrun.workloads.cost import EstimatorCost
from qrun.workloads.exact import MAX_EXACT_QUBITS, ExactMinimum, exact_minimum, find_exact_minimum
from qrun.workloads.history import (
    Evaluation,
    OptimizerResult,
    SessionCheck,
    TagCheck,
    WorkloadResult,
)
from qrun.workloads.minimize import MinimizeRunner, optimize
from qrun.workloads.planning import GRADIENT_METHODS, PlannedWorkload, plan_workloads
from qrun.workloads.scheduling import WorkloadRunner, WorkloadScheduler

__all__ = [
    "GRADIENT_METHODS",
    "MAX_EXACT_QUBITS",
    "Ask",
    "AskingCost",
    "EstimatorCost",
    "Evaluation",
    "ExactMinimum",
    "MinimizeRunner",
    "OptimizerResult",
    "PlannedWorkload",
    "Progress",
    "SessionCheck",
    "TagCheck",
    "WorkloadContext",
    "WorkloadResult",
    "WorkloadRunner",
    "WorkloadScheduler",
    "WorkloadStopped",
    "exact_minimum",
    "find_exact_minimum",
    "optimize",
    "plan_workloads",
    "read_evaluation",
]
