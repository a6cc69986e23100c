"""Tasks on threads of this process: the hosting every channel offers.

Each task runs on the thread that serves it, and each of its requests is evaluated there:
the job is submitted, waited for and recorded before the task reads its answer. The tasks
of concurrent workloads then share one interpreter lock, and what they gain comes from
their jobs overlapping on the backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit.primitives import PrimitiveResult

    from qrun.providers.base import Channel, Evaluator, Host, Task

__all__ = ["ThreadHosting"]

Request = TypeVar("Request")
Found = TypeVar("Found")


class ThreadHosting:
    """Hosts every task on the thread that serves it, submitting through ``channel``."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def host(self, tasks: Mapping[str, Task[Request, Found]]) -> dict[str, Host[Request, Found]]:
        return {name: _ThreadHost(task, self._channel) for name, task in tasks.items()}


class _ThreadHost(Generic[Request, Found]):
    def __init__(self, task: Task[Request, Found], channel: Channel) -> None:
        self._task = task
        self._channel = channel

    def serve(self, evaluator: Evaluator[Request]) -> Found:
        def ask(request: Request) -> PrimitiveResult:
            job = evaluator.submit(request, self._channel)
            evaluator.complete(job)
            return job.result()

        return self._task(ask)

    def stop(self) -> None:
        """Nothing: the evaluator submits nothing once the run is interrupted."""

    def close(self) -> None:
        """Nothing to release."""
