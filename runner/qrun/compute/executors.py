"""The executor for a :class:`~qrun.compute.choice.Compute`: threads, processes or Ray."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrun.compute.choice import Compute
    from qrun.engine.executor import Executor

__all__ = ["executor_for"]


def executor_for(compute: Compute, *, workers: int | None) -> Executor:
    """Threads of this process (``local``), ``workers`` worker processes (``processes``;
    None: one per CPU) or Ray tasks (``ray``; Ray places them, ``workers`` aside).
    Ray is imported only here, only for ``ray``."""
    if compute.kind == "local":
        from qrun.engine.executor import ThreadExecutor

        return ThreadExecutor(max_workers=workers)
    if compute.kind == "processes":
        import os

        from qrun.engine.workers import WorkerExecutor

        return WorkerExecutor(workers or os.cpu_count() or 1)
    from qrun.compute.tasks import RayExecutor

    return RayExecutor(compute.address)
