"""The clocks: virtual time fires timers in order at their own time; real time wakes waiters."""

from __future__ import annotations

import threading

import pytest

from qrun.clock import Deadlock, SystemClock, VirtualClock, iso_time


class TestVirtualClock:
    """If virtual time is moved, every due timer fires at its own time, in order."""

    def test_starts_at_2026(self) -> None:
        assert VirtualClock().now() == 1_767_225_600.0

    def test_advance_fires_each_timer_at_its_time(self) -> None:
        clock = VirtualClock(0.0)
        seen: list[tuple[str, float]] = []
        clock.call_at(3 * 3600, lambda: seen.append(("job", clock.now())))
        clock.call_at(8 * 3600, lambda: seen.append(("ttl", clock.now())))
        clock.call_at(9 * 3600, lambda: seen.append(("late", clock.now())))
        clock.advance(8 * 3600)
        assert seen == [("job", 3 * 3600), ("ttl", 8 * 3600)]
        assert clock.now() == 8 * 3600

    def test_timers_set_by_callbacks_fire_in_the_same_advance(self) -> None:
        clock = VirtualClock(0.0)
        seen: list[float] = []
        clock.call_at(1, lambda: clock.call_at(2, lambda: seen.append(clock.now())))
        clock.advance(5)
        assert seen == [2]

    def test_cancelled_timer_never_fires(self) -> None:
        clock = VirtualClock(0.0)
        seen: list[int] = []
        clock.call_at(1, lambda: seen.append(1)).cancel()
        clock.run_until_idle()
        assert seen == []

    def test_wait_for_jumps_to_the_timer_that_satisfies_it(self) -> None:
        clock = VirtualClock(0.0)
        flag = threading.Event()
        clock.call_at(60, flag.set)
        clock.call_at(120, lambda: None)
        assert clock.wait_for(flag.is_set)
        assert clock.now() == 60

    def test_wait_for_with_nothing_left_to_fire_is_a_deadlock(self) -> None:
        with pytest.raises(Deadlock, match="no timer is left"):
            VirtualClock().wait_for(lambda: False)

    def test_wait_for_timeout_is_virtual(self) -> None:
        clock = VirtualClock(0.0)
        clock.call_at(100, lambda: None)
        assert not clock.wait_for(lambda: False, timeout=30)
        assert clock.now() == 30

    def test_time_cannot_go_back(self) -> None:
        with pytest.raises(ValueError, match="back in time"):
            VirtualClock().advance(-1)


class TestSystemClock:
    """If a timer falls due in real time, it fires and wakes the waiter."""

    def test_timer_fires_and_notify_wakes_waiter(self) -> None:
        clock = SystemClock()
        fired = threading.Event()

        def fire() -> None:
            fired.set()
            clock.notify()

        clock.call_at(clock.now() + 0.01, fire)
        assert clock.wait_for(fired.is_set, timeout=5)

    def test_wait_for_times_out(self) -> None:
        clock = SystemClock()
        assert not clock.wait_for(lambda: False, timeout=0.01)

    def test_close_ends_the_timer_thread_and_later_timers_never_fire(self) -> None:
        before = _clock_threads()
        clock = SystemClock()
        fired = threading.Event()
        clock.call_at(clock.now() + 3600, fired.set)
        assert _clock_threads() == before + 1
        clock.close()
        assert _clock_threads() == before
        clock.call_at(clock.now(), fired.set)  # due at once, but no thread runs it
        assert _clock_threads() == before and not fired.is_set()


class TestDeclaredKind:
    """If a clock is asked what it is, it says whether its time is modelled and movable."""

    def test_virtual_time_is_modelled_and_moved_through_its_control(self) -> None:
        clock = VirtualClock(0.0)
        control = clock.control()
        assert clock.modelled and control is not None
        control.advance(5)
        assert clock.now() == 5

    def test_real_time_is_neither(self) -> None:
        clock = SystemClock()
        assert not clock.modelled and clock.control() is None


class TestIsoTime:
    """If clock seconds are written as a date-time, it is ISO-8601 UTC ending in Z."""

    @pytest.mark.parametrize(
        ("seconds", "basic", "text"),
        [
            (1_767_225_600.0, False, "2026-01-01T00:00:00Z"),
            (1_767_225_600.25, False, "2026-01-01T00:00:00.250000Z"),
            (1_767_225_661.75, True, "20260101T000101Z"),
        ],
    )
    def test_extended_and_basic_forms(self, seconds: float, basic: bool, text: str) -> None:
        assert iso_time(seconds, basic=basic) == text

    def test_no_time_stays_none(self) -> None:
        assert iso_time(None) is None


class TestEngineShutdown:
    """If an engine that made its own clock shuts down, no timer thread is left behind."""

    def test_no_clock_thread_after_shutdown(self) -> None:
        from qrun.engine import Engine, NullExecutor

        before = _clock_threads()
        engines = [Engine(executor=NullExecutor()) for _ in range(3)]
        for engine in engines:
            session = engine.open_session("aer")  # sets the idle-close timer
            session.close()
        assert _clock_threads() == before + 3
        for engine in engines:
            engine.shutdown()
        assert _clock_threads() == before


def _clock_threads() -> int:
    return sum(thread.name == "qrun-clock" for thread in threading.enumerate())
