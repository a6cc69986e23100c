"""An executor that hands some jobs to the process that asked for them.

A concurrent workload runs its optimiser in a process of its own, and that process also
computes its jobs: while its cost function waits for a job's result it is idle anyway,
and it already holds the workload's circuit and observables. The engine still decides
when each job starts; :class:`RoutingExecutor` only decides *where* a started job is
computed. A job is routed by the identity of its first PUB's observables array (each
workload's cost builds its own, and coercion keeps it), so nothing has to be added to
the job itself; every other job goes to the fallback executor.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine.executor import Executor
    from qrun.engine.work import Outcome, Work

__all__ = ["RoutingExecutor"]


class RoutingExecutor:
    """Computes routed jobs on their route's executor, the others on ``fallback``."""

    def __init__(self, fallback: Executor) -> None:
        self.fallback = fallback
        self._lock = threading.Lock()
        # id(key) -> (key, executor): the key is kept alive so its id is never reused.
        self._routes: dict[int, tuple[object, Executor]] = {}

    def route(self, key: object, executor: Executor) -> None:
        """Compute jobs whose first PUB's observables array is ``key`` on ``executor``."""
        with self._lock:
            self._routes[id(key)] = (key, executor)

    def unroute(self, key: object) -> None:
        """Send ``key``'s jobs to the fallback executor again."""
        with self._lock:
            self._routes.pop(id(key), None)

    def _target(self, work: Work) -> Executor:
        observables = getattr(work.pubs[0], "observables", None) if work.pubs else None
        with self._lock:
            found = self._routes.get(id(observables)) if observables is not None else None
        if found is None or found[0] is not observables:
            return self.fallback
        return found[1]

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        self._target(work).start(work, done)

    def shutdown(self) -> None:
        """Stop the fallback; routed executors are shut down by whoever routed them."""
        with self._lock:
            self._routes.clear()
        self.fallback.shutdown()
