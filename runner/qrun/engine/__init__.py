"""The session lifecycle engine: an executable model of Runtime sessions running real jobs.

See :mod:`qrun.engine.core` for the scheduling rules and the choices made where the
documentation is silent.
"""

from __future__ import annotations

from qrun.engine.backends import BackendSpec
from qrun.engine.core import DEFAULT_PRECISION, DEFAULT_SHOTS, Engine
from qrun.engine.executor import Executor, NullExecutor, ProcessExecutor, ThreadExecutor
from qrun.engine.instance import Instance, PricingPlan
from qrun.engine.job import EndReason, JobHandle, JobStatus
from qrun.engine.placement import PlacingExecutor
from qrun.engine.session import STATUSES, SessionHandle, SessionState
from qrun.engine.work import Outcome, Program, Work
from qrun.engine.workers import WorkerExecutor

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_SHOTS",
    "STATUSES",
    "BackendSpec",
    "EndReason",
    "Engine",
    "Executor",
    "Instance",
    "JobHandle",
    "JobStatus",
    "NullExecutor",
    "Outcome",
    "PlacingExecutor",
    "PricingPlan",
    "ProcessExecutor",
    "Program",
    "SessionHandle",
    "SessionState",
    "ThreadExecutor",
    "Work",
    "WorkerExecutor",
]
