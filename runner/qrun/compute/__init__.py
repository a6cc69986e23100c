"""Where jobs compute: in this process, in worker processes, or on a Ray cluster.

The engine decides *when* each job runs (one at a time on a device-like backend, several
at once on ``aer``); the executor made here decides *where*. See
:mod:`qrun.compute.choice` for the choice (``--compute``), :func:`executor_for` for the
executors, :mod:`qrun.compute.tasks` for Ray. Ray is imported only when chosen.
"""

from __future__ import annotations

from qrun.compute.choice import (
    KINDS,
    Compute,
    ComputeKind,
    add_compute_option,
    parse_compute,
    shared_compute,
    usable_cpus,
)
from qrun.compute.cluster import INSTALL_HINT, ComputeError
from qrun.compute.executors import executor_for

__all__ = [
    "INSTALL_HINT",
    "KINDS",
    "Compute",
    "ComputeError",
    "ComputeKind",
    "add_compute_option",
    "executor_for",
    "parse_compute",
    "shared_compute",
    "usable_cpus",
]
