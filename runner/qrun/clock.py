"""The one place in qrun that reads or waits on time.

Everything that depends on time (session TTLs, job durations, result waits) asks a
:class:`Clock`. Two are provided:

* :class:`SystemClock` — real time. Timers fire on one daemon thread; ``wait_for`` blocks
  on a condition variable that :meth:`~Clock.notify` wakes.
* :class:`VirtualClock` — time moves only when told (``advance``, ``advance_to``,
  ``run_until_idle``), or when a ``wait_for`` caller needs it to: then the clock jumps
  from timer to timer until the condition holds. Tests and the conformance suite use it,
  so an eight-hour TTL expires in microseconds and no test ever sleeps.

A clock declares what it is rather than being recognised by its class: ``modelled`` says
whether its time is a model that moves only when told, and :meth:`~Clock.control` offers
the means to move it (None on a clock whose time moves by itself).

Timer callbacks never run while a clock holds its own lock, so a callback may schedule
new timers or call ``notify`` freely.

:func:`iso_time` is qrun's one way of writing a clock's seconds as a UTC date-time.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, overload

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Clock",
    "Deadlock",
    "SystemClock",
    "TimeControl",
    "Timer",
    "VirtualClock",
    "iso_time",
    "monotonic",
]

#: 2026-01-01T00:00:00Z, where a virtual clock starts unless told otherwise.
DEFAULT_VIRTUAL_START = 1_767_225_600.0


def monotonic() -> float:
    """Seconds on a clock that never jumps, for measuring how long something took."""
    return time.perf_counter()


@overload
def iso_time(seconds: float, *, basic: bool = False) -> str: ...
@overload
def iso_time(seconds: None, *, basic: bool = False) -> None: ...
def iso_time(seconds: float | None, *, basic: bool = False) -> str | None:
    """Clock seconds as an ISO-8601 UTC date-time ending in ``Z`` (None stays None).

    ``2026-01-01T00:00:00Z``, with a fraction of a second in microseconds when there is one
    (``2026-01-01T00:00:00.250000Z``); ``basic`` gives the compact form in whole seconds
    that fits a file name (``20260101T000000Z``).
    """
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    if basic:
        return moment.strftime("%Y%m%dT%H%M%SZ")
    return moment.isoformat().replace("+00:00", "Z")


class Deadlock(RuntimeError):
    """A virtual-clock wait can never be satisfied: no timer is left to move time."""


class Timer(Protocol):
    """A scheduled callback that can still be called off."""

    def cancel(self) -> None: ...


class TimeControl(Protocol):
    """Moves a modelled clock's time forward on request."""

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer that falls due on the way."""
        ...


class Clock(Protocol):
    """Reads time, schedules callbacks and waits for conditions."""

    @property
    def modelled(self) -> bool:
        """Whether time is a model that moves only when told (True), or real time."""
        ...

    def control(self) -> TimeControl | None:
        """The means to move time by hand, or None if time moves by itself."""
        ...

    def now(self) -> float:
        """The current time in POSIX seconds."""
        ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once the clock reaches ``when``."""
        ...

    def wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``condition()`` is true (True) or ``timeout`` seconds pass (False)."""
        ...

    def notify(self) -> None:
        """State changed: wake ``wait_for`` callers so they check their condition again."""
        ...


@dataclass(order=True)
class _Entry:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class _TimerHeap:
    """Timers ordered by due time, then by the order they were set."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = itertools.count()

    def push(self, when: float, callback: Callable[[], None]) -> _Entry:
        entry = _Entry(when, next(self._seq), callback)
        heapq.heappush(self._heap, entry)
        return entry

    def peek(self) -> _Entry | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0] if self._heap else None

    def pop(self) -> _Entry:
        return heapq.heappop(self._heap)


class SystemClock:
    """Real time; timers run on one daemon thread, in due order, until :meth:`close`."""

    modelled = False

    def __init__(self) -> None:
        self._timers = _TimerHeap()
        self._timer_cond = threading.Condition()
        self._waiters = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def now(self) -> float:
        return time.time()

    def control(self) -> None:
        """Real time cannot be moved by hand."""
        return

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        with self._timer_cond:
            if self._closed:
                return _Entry(when, -1, callback, cancelled=True)  # never fires
            entry = self._timers.push(when, callback)
            if self._thread is None:
                thread = threading.Thread(target=self._run_timers, name="qrun-clock", daemon=True)
                thread.start()
                self._thread = thread  # only a started thread: close() joins it
            # The timer thread sleeps until the earliest timer; only a new earliest one
            # changes that (a session sets and cancels a timer around every job).
            if self._timers.peek() is entry:
                self._timer_cond.notify()
        return entry

    def wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        with self._waiters:
            return self._waiters.wait_for(condition, timeout)

    def notify(self) -> None:
        with self._waiters:
            self._waiters.notify_all()

    def close(self) -> None:
        """Drop every pending timer and end the timer thread; later timers never fire."""
        with self._timer_cond:
            self._closed = True
            self._timers = _TimerHeap()
            thread, self._thread = self._thread, None
            self._timer_cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run_timers(self) -> None:
        while True:
            with self._timer_cond:
                if self._closed:
                    return
                entry = self._timers.peek()
                if entry is None:
                    self._timer_cond.wait()
                    continue
                delay = entry.when - time.time()
                if delay > 0:
                    self._timer_cond.wait(delay)
                    continue
                self._timers.pop()
            try:
                entry.callback()
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                sys.excepthook(*sys.exc_info())


class VirtualClock:
    """Time that moves only when told; every due timer fires at its own time, in order."""

    modelled = True

    def __init__(self, start: float = DEFAULT_VIRTUAL_START) -> None:
        self._now = start
        self._timers = _TimerHeap()
        self._lock = threading.Lock()
        # One thread moves time at a time, so timers fire in order whoever waits.
        self._mover = threading.RLock()

    def now(self) -> float:
        return self._now

    def control(self) -> VirtualClock:
        """This clock itself: :meth:`advance` moves it."""
        return self

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        with self._lock:
            return self._timers.push(when, callback)

    def notify(self) -> None:
        """Nothing to wake: virtual waits re-check their condition after every timer."""

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer that falls due on the way."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back in time ({seconds} s)")
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time forward to ``when``, firing every timer due by then at its own time."""
        with self._mover:
            while self._fire_next(until=when):
                pass
            self._now = max(self._now, when)

    def run_until_idle(self) -> None:
        """Fire every pending timer, including those the fired ones set."""
        with self._mover:
            while self._fire_next(until=None):
                pass

    def wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Jump from timer to timer until ``condition()`` holds; ``timeout`` is virtual."""
        with self._mover:
            deadline = None if timeout is None else self._now + timeout
            while not condition():
                if not self._fire_next(until=deadline):
                    if deadline is not None:
                        self._now = max(self._now, deadline)
                        return condition()
                    raise Deadlock(
                        "waiting on a virtual clock for something that can never happen: "
                        "no timer is left to move time forward (is a job queued behind a "
                        "session that is still active and has nothing queued?)"
                    )
            return True

    def _fire_next(self, until: float | None) -> bool:
        with self._lock:
            entry = self._timers.peek()
            if entry is None or (until is not None and entry.when > until):
                return False
            self._timers.pop()
            self._now = max(self._now, entry.when)
        entry.callback()
        return True
