"""What a workload runner is handed: the open channel, the clock, the run's times, and
the workload processes of concurrent workloads where the provider computes jobs in them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrun.clock import Clock
    from qrun.providers import Channel
    from qrun.run.execute import Progress
    from qrun.workloads.process import WorkloadProcesses

__all__ = ["WorkloadContext", "WorkloadStopped"]


class WorkloadStopped(Exception):
    """The run is being interrupted: a workload submits nothing more."""


@dataclass(frozen=True)
class WorkloadContext:
    """Shared by every workload of a run; ``stop`` is set when the run is interrupted."""

    channel: Channel
    clock: Clock
    progress: Progress
    run_started: float  # when the run began (clock seconds)
    session_opened: float  # when the channel was opened
    stop: threading.Event = field(default_factory=threading.Event)
    processes: WorkloadProcesses | None = None
