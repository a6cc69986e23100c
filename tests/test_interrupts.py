"""Ctrl-C held back while a step must not be cut in half, then delivered where it is handled."""

from __future__ import annotations

import signal

import pytest

from qrun.commands.run import stopped_by_signals
from qrun.interrupts import Holding


class TestHolding:
    """If SIGINT or SIGTERM arrives while a step holds interrupts, the step ends whole and
    the interrupt is raised at ``deliver()``; outside such a step it is raised at once."""

    @pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
    def test_held_then_delivered(self, stop: signal.Signals) -> None:
        steps: list[str] = []
        with stopped_by_signals():
            with Holding() as held:
                signal.raise_signal(stop)
                steps.append("the step went on")
            steps.append("after the step")
            with pytest.raises(KeyboardInterrupt):
                held.deliver()
        assert steps == ["the step went on", "after the step"]

    def test_raised_at_once_when_nothing_holds(self) -> None:
        with stopped_by_signals(), pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)

    def test_nested_steps_deliver_only_when_all_have_ended(self) -> None:
        with stopped_by_signals(), Holding() as outer:
            with Holding() as inner:
                signal.raise_signal(signal.SIGTERM)
            inner.deliver()  # the outer step still holds it
            outer_ended = False
        outer_ended = True
        with pytest.raises(KeyboardInterrupt):
            outer.deliver()
        assert outer_ended

    def test_a_failed_step_reports_its_error_not_the_interrupt(self) -> None:
        with stopped_by_signals():
            with pytest.raises(ValueError, match="the step failed"), Holding():
                signal.raise_signal(signal.SIGINT)
                raise ValueError("the step failed")
            Holding().deliver()  # nothing left over for a later step

    def test_nothing_to_deliver(self) -> None:
        Holding().deliver()
