"""What a workload runner is handed: the open channel, the clock and the run's times."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qrun.clock import Clock
    from qrun.execute import Progress
    from qrun.providers import Channel

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
