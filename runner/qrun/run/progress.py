"""A progress display for terminals: one status line that follows the jobs (rich).

It is shown only when standard error is a terminal and ``CI`` is not set; otherwise
runs are quiet, so logs and ``--json`` output stay clean.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

    from rich.status import Status

__all__ = ["TerminalProgress", "wants_progress"]


def wants_progress() -> bool:
    """True when a progress display helps: a terminal, and not under CI."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    return sys.stderr.isatty()


class TerminalProgress:
    """A spinner on standard error naming the job being waited for."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self._status: Status | None = None

    def __enter__(self) -> TerminalProgress:
        self._status = self._console.status("opening…")
        self._status.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def _say(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def submitted(self, name: str, job_id: str) -> None:
        self._say(f"submitted {name} (job {job_id})")

    def waiting(self, name: str, job_id: str) -> None:
        self._say(f"waiting for {name} (job {job_id})…")

    def finished(self, name: str, job_id: str, status: str) -> None:
        self._console.log(f"{name}: job {job_id} {status}")
