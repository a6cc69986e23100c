"""How a ``qrun serve`` process computes jobs: a bounded pool of worker processes.

The engine runs one job at a time on each backend, in the order its rules decide; the pool
lets jobs on *different* backends compute at the same time. Its size is ``workers`` from
the configuration (or ``--workers``), by default one per served backend. The workers are
started with the executor, before the service opens its socket or any thread: forking a
busy multi-threaded server later can leave a worker with a lock held mid-operation. With
realistic timing configured on the real clock, jobs are held as :mod:`.timing` says.
``compute`` in the configuration (or ``--compute``) chooses threads or Ray tasks instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from qrun.compute import executor_for
from qrun.engine import ThreadExecutor, WorkerExecutor
from qrun.serve.timing import TimedExecutor

if TYPE_CHECKING:
    from qrun.engine import Executor
    from qrun.serve.config import ServeConfig
    from qrun.serve.timing import RealTiming

__all__ = ["serve_executor", "with_overrides"]


def serve_executor(config: ServeConfig, *, modelled: bool, processes: bool = True) -> Executor:
    """The executor a service on ``config`` computes with: worker processes (threads if
    not ``processes``), held to realistic timing unless the clock is ``modelled``."""
    count = config.workers or max(1, len(config.backends))
    executor: Executor
    if config.compute.kind == "ray":
        executor = executor_for(config.compute, workers=count)
    elif processes and config.compute.kind == "processes":
        executor = WorkerExecutor(count)
    else:
        executor = ThreadExecutor(max_workers=count)
    if config.timing and not modelled:
        executor = TimedExecutor(executor, config.timing)
    return executor


def with_overrides(
    config: ServeConfig, *, workers: int | None = None, timing: RealTiming | None = None
) -> ServeConfig:
    """``config`` with what the command line sets instead of the file."""
    if workers is not None:
        config = replace(config, workers=workers)
    if timing is not None:
        config = replace(config, timing=timing)
    return config
