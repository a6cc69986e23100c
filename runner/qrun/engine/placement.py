"""An executor that computes each job where its work says.

The engine decides *when* a job starts; where it computes is the executor's business. A
job submitted with a ``place`` (:attr:`~qrun.engine.work.Work.place`) is computed by the
executor added under that name, for instance the process of the workload that asked for
it; every other job by the default executor. A job whose place is gone fails.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qrun.engine.work import Outcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine.executor import Executor
    from qrun.engine.work import Work

__all__ = ["PlacingExecutor"]


class PlacingExecutor:
    """Computes placed jobs on their place's executor, the others on ``default``."""

    def __init__(self, default: Executor) -> None:
        self.default = default
        self._lock = threading.Lock()
        self._places: dict[str, Executor] = {}

    def add(self, place: str, executor: Executor) -> None:
        """Compute the jobs placed at ``place`` on ``executor``."""
        with self._lock:
            if place in self._places:
                raise ValueError(f"place {place!r} is taken")
            self._places[place] = executor

    def remove(self, place: str) -> None:
        """``place`` is gone: jobs placed there from now on fail."""
        with self._lock:
            self._places.pop(place, None)

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        if work.place is None:
            self.default.start(work, done)
            return
        with self._lock:
            executor = self._places.get(work.place)
        if executor is None:
            done(Outcome(error=f"the job's place ({work.place}) has ended before it ran"))
            return
        executor.start(work, done)

    def shutdown(self) -> None:
        """Stop the default executor; places are closed by whoever added them."""
        with self._lock:
            self._places.clear()
        self.default.shutdown()
