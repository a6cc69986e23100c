"""A deliberately broken engine makes the scenarios of the rules it breaks fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.conformance.suite import run_suite
from qrun.conformance.targets.local import LocalTarget
from qrun.engine import Engine

if TYPE_CHECKING:
    from qrun.clock import VirtualClock
    from qrun.engine import SessionHandle


class _NoDrainEngine(Engine):
    """close() throws away the queued jobs instead of letting them run."""

    def close_session(self, session: SessionHandle) -> None:
        self.cancel_session(session)


class _NoMaxTimeEngine(Engine):
    """max_time is ignored: sessions get the instance's 8 hours whatever they ask."""

    def open_session(self, backend: str, **options: object) -> SessionHandle:  # type: ignore[override]
        options.pop("max_time", None)
        return super().open_session(backend, **options)  # type: ignore[arg-type]


class NoDrainTarget(LocalTarget):
    def make_engine(self, clock: VirtualClock) -> Engine:
        return _NoDrainEngine(clock=clock)


class NoMaxTimeTarget(LocalTarget):
    def make_engine(self, clock: VirtualClock) -> Engine:
        return _NoMaxTimeEngine(clock=clock)


def _outcomes(target: str, tags: str) -> dict[str, str]:
    run = run_suite(f"{__name__}:{target}", tags=tags)
    return {row.rule_id: row.outcome for row in run.rows if row.outcome != "not run"}


class TestBrokenEngines:
    """If the engine breaks a rule, the suite fails that rule and passes the others."""

    def test_close_that_does_not_drain_fails_the_close_rules(self) -> None:
        outcomes = _outcomes(
            "NoDrainTarget", "rule-END-2 or rule-END-3 or rule-PRIO-2 or rule-OPEN-1 or rule-OPEN-2"
        )
        assert outcomes == {
            "OPEN-1": "passed",
            "OPEN-2": "passed",
            "END-2": "failed",
            "END-3": "failed",
            "PRIO-2": "failed",
        }

    def test_ignored_max_time_fails_the_max_ttl_rules(self) -> None:
        outcomes = _outcomes(
            "NoMaxTimeTarget", "rule-TTL-1 or rule-TTL-4 or rule-END-5 or rule-TTL-2"
        )
        assert outcomes == {
            "TTL-1": "failed",
            "TTL-2": "passed",
            "TTL-4": "failed",
            "END-5": "failed",
        }
