"""The optimiser's side of a cost: each evaluation is asked for, and read off a job's result.

The optimiser runs where the channel hosts it (:attr:`~qrun.providers.base.Channel.hosting`):
on a thread of the run, or in a process of its own. Either way it sees only ``ask``, which
hands an :class:`Ask` to the runner's side (:class:`~qrun.workloads.cost.EstimatorCost`)
and returns the result of the one job that evaluated it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.primitives import PrimitiveResult, PubResult

    from qrun.providers.base import Task
    from qrun.workloads.history import EvaluationKind, OptimizerResult

__all__ = ["Ask", "AskingCost", "Optimisation", "read_evaluation"]


@dataclass(frozen=True)
class Ask:
    """The cost (or its parameter-shift gradient) at ``x``: one job.

    ``iterations`` is how many iterations the optimiser finished since its previous
    request: they are told with the next request rather than each on its own, which would
    cost a message per iteration where the optimiser runs in a process of its own.
    """

    kind: EvaluationKind
    x: NDArray[np.float64]
    iterations: int = 0


if TYPE_CHECKING:
    #: An optimisation as a channel's hosting runs it: given ``ask``, it returns what it
    #: found; it also says what job evaluates each request.
    Optimisation: TypeAlias = Task[Ask, OptimizerResult]


class AskingCost:
    """The cost as an optimiser sees it: each call asks for one job and reads its answer."""

    def __init__(self, ask: Callable[[Ask], PrimitiveResult]) -> None:
        self._ask = ask
        self._iterations = 0  # finished since the last request

    def value(self, x: NDArray[np.float64]) -> float:
        return float(self._evaluate("cost", x))

    def gradient(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        import numpy as np

        return np.asarray(self._evaluate("gradient", x), dtype=float)

    def next_iteration(self) -> None:
        self._iterations += 1

    def _evaluate(
        self, kind: EvaluationKind, x: NDArray[np.float64]
    ) -> float | NDArray[np.float64]:
        import numpy as np

        point = np.array(x, dtype=float)
        iterations, self._iterations = self._iterations, 0
        result = self._ask(Ask(kind, point, iterations))
        answer, _, _ = read_evaluation(kind, point.size, result)
        return answer


def read_evaluation(
    kind: EvaluationKind, count: int, result: PrimitiveResult[PubResult]
) -> tuple[float | NDArray[np.float64], float, tuple[float, ...] | None]:
    """What an evaluation's job result says: the cost (a float) or the gradient (an
    array), its standard error, and the gradient's components (None for a cost).

    ``count`` is the number of parameters (a gradient job holds ``2 * count`` points).
    """
    import numpy as np

    data = result[0].data
    if kind == "cost":
        return float(data.evs), float(data.stds), None
    evs = np.asarray(data.evs)
    gradient: NDArray[np.float64] = (evs[:count] - evs[count:]) / 2
    spread = float(np.sqrt(np.mean(np.asarray(data.stds) ** 2) / 2))
    return gradient, spread, tuple(float(g) for g in gradient)
