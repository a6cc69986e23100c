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

__all__ = ["c_library", "drop_inherited_sockets", "end_with_parent", "start_worker"]

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


def drop_inherited_sockets() -> None:
    """Close every socket a forked worker inherited.

    A worker forked inside a service inherits the service's listening socket and open
    client connections. Holding them, it keeps a connection alive after the service has
    closed it, and the client's next request on that connection is never answered. A
    worker talks to its parent over pipes only, so no socket it holds is its own.
    """
    import stat
    from pathlib import Path

    listing = Path("/proc/self/fd")
    for entry in list(listing.iterdir()) if listing.is_dir() else ():
        descriptor = int(entry.name)
        try:
            if stat.S_ISSOCK(os.fstat(descriptor).st_mode):
                os.close(descriptor)
        except OSError:  # the directory's own descriptor, already closed
            continue


def start_worker(parent: int | None = None) -> None:
    """The initializer of a pool worker: no inherited socket, and an end with its parent."""
    drop_inherited_sockets()
    end_with_parent(parent)
