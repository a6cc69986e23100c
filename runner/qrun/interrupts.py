"""Ctrl-C and SIGTERM held back while a step that must not be cut in half runs.

``qrun run`` turns the first SIGINT or SIGTERM into :class:`KeyboardInterrupt` on the main
thread. Raised in the middle of opening a session (the session exists at the service, the
run does not know its id yet) or of starting a thread or a process, it would leave
something behind that the run can neither cancel nor record. Such a step runs inside
:class:`Holding`: a signal that arrives meanwhile is remembered
(:func:`interrupt_now` answers False), and :meth:`Holding.deliver` raises it once the step
is whole, where the run handles it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Holding", "interrupt_now"]


class _State:
    depth = 0  # how many Holding blocks the main thread is inside
    pending = False  # a signal came while one was


_STATE = _State()


def interrupt_now() -> bool:
    """For a signal handler: whether to raise :class:`KeyboardInterrupt` now (False while
    the main thread holds interrupts: the signal is then remembered for
    :meth:`Holding.deliver`)."""
    if _STATE.depth and threading.current_thread() is threading.main_thread():
        _STATE.pending = True
        return False
    return True


class Holding:
    """``with Holding() as held: …`` holds interrupts back for the block;
    ``held.deliver()`` afterwards raises one that arrived meanwhile."""

    def __enter__(self) -> Holding:
        if threading.current_thread() is threading.main_thread():
            _STATE.depth += 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if threading.current_thread() is threading.main_thread():
            _STATE.depth -= 1
            if kind is not None and not _STATE.depth:
                _STATE.pending = False  # the block failed: its error is what is reported

    def deliver(self) -> None:
        """Raise the interrupt that arrived while held, if one did."""
        if _STATE.pending and not _STATE.depth:
            _STATE.pending = False
            raise KeyboardInterrupt
