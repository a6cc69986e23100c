"""How a ``qrun serve`` process computes jobs: a bounded pool of worker processes.

The engine runs one job at a time on each backend, in the order its rules decide; the pool
lets jobs on *different* backends compute at the same time. Its size is ``workers`` from
the configuration (or ``--workers``), by default one per served backend. The workers are
started with the executor, before the service opens its socket or any thread: forking a
busy multi-threaded server later can leave a worker with a lock held mid-operation. With
realistic timing configured on the real clock, jobs are held as :mod:`.timing` says.

Each backend has a home worker, which builds its simulator once, as the service starts
(see :class:`~qrun.engine.WorkerExecutor`). The machine's CPUs are shared among the
jobs computing at once: each job's Aer may use ``CPUs // workers`` threads (at least
one), since Aer's OpenMP threads, left at one per CPU in every worker, outnumber the CPUs
and spend their time waiting for each other.

``compute`` in the configuration (or ``--compute``) chooses threads or Ray tasks instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from qrun.compute import executor_for, usable_cpus
from qrun.engine import ThreadExecutor, WorkerExecutor
from qrun.providers.simulation import LocalSimulation
from qrun.providers.simulator import SimulatorSettings
from qrun.serve.timing import TimedExecutor

if TYPE_CHECKING:
    from qrun.engine import Executor
    from qrun.serve.config import ServeConfig
    from qrun.serve.timing import RealTiming

__all__ = ["backend_simulation", "serve_executor", "simulation_threads", "with_overrides"]


def _computing(config: ServeConfig) -> int:
    """How many jobs compute at once."""
    return config.workers or max(1, len(config.backends))


def simulation_threads(config: ServeConfig) -> int:
    """The threads each job's Aer may use: the CPUs shared among the jobs computing at once."""
    return max(1, usable_cpus() // _computing(config))


def backend_simulation(config: ServeConfig, backend: str) -> LocalSimulation:
    """How the service computes a backend's jobs: as qrun's local runs do, simulating only
    the qubits a circuit touches (with those qubits' noise on a fake backend), so a job on
    a 127- or 156-qubit device finishes when the circuit is small; with its share of the
    CPUs (:func:`simulation_threads`)."""
    settings = SimulatorSettings(others=(("max_parallel_threads", simulation_threads(config)),))
    return LocalSimulation(backend, settings, noisy=backend.startswith("fake_"))


def serve_executor(config: ServeConfig, *, modelled: bool, processes: bool = True) -> Executor:
    """The executor a service on ``config`` computes with: worker processes (threads if
    not ``processes``), held to realistic timing unless the clock is ``modelled``."""
    count = _computing(config)
    executor: Executor
    if config.compute.kind == "ray":
        executor = executor_for(config.compute, workers=count)
    elif processes and config.compute.kind == "processes":
        homes = {name: backend_simulation(config, name) for name in config.backends}
        executor = WorkerExecutor(count, backends=homes)
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
