"""What a workload runner is handed: the open channel, the clock, the run's times, and
where to say how it is going."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from qrun.providers.base import TaskStopped

if TYPE_CHECKING:
    from qrun.clock import Clock
    from qrun.providers.base import Channel

__all__ = ["Progress", "WorkloadContext", "WorkloadStopped"]


class WorkloadStopped(TaskStopped):
    """The run is being interrupted: a workload submits nothing more."""


class Progress(Protocol):
    """What a run tells a progress display."""

    def submitted(self, name: str, job_id: str) -> None: ...

    def waiting(self, name: str, job_id: str) -> None: ...

    def finished(self, name: str, job_id: str, status: str) -> None: ...


@dataclass(frozen=True)
class WorkloadContext:
    """Shared by every workload of a run; ``stop`` is set when the run is interrupted."""

    channel: Channel
    clock: Clock
    progress: Progress
    run_started: float  # when the run began (clock seconds)
    session_opened: float  # when the channel was opened
    stop: threading.Event = field(default_factory=threading.Event)
