"""Worker processes end with the process that started them.

A parent killed with SIGKILL, or one that a signal ends before its clean-up runs, cannot
stop its workers; left alone they would run on as orphans. On Linux each worker asks the
kernel to send it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``) and takes SIGTERM's
default action back from any handler it inherited; elsewhere the parent's normal shutdown
is all there is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
import sys

__all__ = ["c_library", "end_with_parent"]

_PR_SET_PDEATHSIG = 1


@functools.cache
def c_library() -> ctypes.CDLL | None:
    """The C library (found once: the search runs ``ldconfig``, and a forked worker
    finds it already loaded in what it inherited)."""
    library = ctypes.util.find_library("c")
    return None if library is None else ctypes.CDLL(library, use_errno=True)


def end_with_parent(parent: int | None = None) -> None:
    """Called first thing in a worker process: end it when its parent ends.

    ``parent`` is the parent's pid as the parent knew it; if the parent is already gone
    by the time the request is made, the worker ends at once.
    """
    # A worker forked inside a server inherits the server's own SIGTERM handler, which
    # would swallow the signal below: a worker ends on SIGTERM, whatever its parent does.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform != "linux":
        return
    libc = c_library()
    if libc is None:
        return
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return
    if parent is not None and os.getppid() != parent:
        os._exit(0)  # the parent died before the request took effect
