"""The ``runtime`` target checks a Runtime service through the real qiskit-ibm-runtime client."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import pytest

from qrun.clock import VirtualClock
from qrun.commands import conformance
from qrun.conformance.rules import RULES
from qrun.conformance.suite import run_suite
from qrun.conformance.targets import make_factory, parse_target_options
from qrun.conformance.targets.runtime import RuntimeFactory
from qrun.errors import UsageError
from qrun.serve import Server, create_app
from qrun.serve.config import DEFAULT_API_KEY, parse_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PREMIUM = "crn:v1:bluemix:public:quantum-computing:us-east:a/t:premium::"
OPEN = "crn:v1:bluemix:public:quantum-computing:us-east:a/t:open::"
ADMIN_KEY = "admin-key-for-conformance-tests"
CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {DEFAULT_API_KEY: ["premium", "open"]},
        "backends": ["aer", "fake_manila"],
        "admin_key": ADMIN_KEY,
    }
)
SINGLE = parse_config(
    {
        "instances": {"premium": {"crn": PREMIUM, "plan": "premium"}},
        "backends": ["fake_manila"],
    }
)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "QISKIT_IBM_TOKEN",
        "QRUN_ADMIN_KEY",
        "QRUN_RUNTIME_URL",
        "QRUN_RUNTIME_REAL_TIME",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def system_url() -> Iterator[str]:
    """A service on the system clock: no admin API."""
    with Server(create_app(CONFIG)) as server:
        yield server.url


@pytest.fixture(scope="module")
def virtual_url() -> Iterator[str]:
    """A service on a virtual clock, its admin API behind ADMIN_KEY."""
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        yield server.url


@pytest.fixture
def cleanups() -> Iterator[Callable[[Callable[[], None]], None]]:
    pending: list[Callable[[], None]] = []
    yield pending.append
    for callback in reversed(pending):
        callback()


def _command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="qrun conformance")
    conformance.configure(parser)
    return conformance.main(parser.parse_args(list(argv)))


class TestInProcessService:
    """If no URL is given, the target runs qrun serve on a virtual clock and every rule passes."""

    @pytest.mark.slow
    def test_strict_run_passes_every_rule(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert _command("--target", "runtime", "--strict") == 0
        rows = {
            line.split()[0]: line.split()[1]
            for line in capsys.readouterr().out.splitlines()
            if line.split() and line.split()[0] in RULES
        }
        assert rows == dict.fromkeys(RULES, "passed")

    def test_every_capability_is_declared(
        self, cleanups: Callable[[Callable[[], None]], None]
    ) -> None:
        factory = make_factory("runtime", {}, cleanup=cleanups)
        assert factory.capabilities == {
            "virtual-clock",
            "job-duration",
            "multi-user",
            "plans",
            "job-list",
        }
        factory().teardown()


class TestServiceWithoutClockControl:
    """If the service's clock cannot be moved, time-based scenarios are skipped with why."""

    def test_capabilities(
        self, system_url: str, cleanups: Callable[[Callable[[], None]], None]
    ) -> None:
        factory = make_factory("runtime", {"url": system_url}, cleanup=cleanups)
        assert factory.capabilities == {"multi-user", "plans", "job-list"}

    def test_untimed_rules_pass_and_timed_ones_are_skipped(self, system_url: str) -> None:
        run = run_suite(
            "runtime",
            options={"url": system_url},
            tags="rule-OPEN-2 or rule-OPEN-3 or rule-PLAN-1 or rule-USE-2 or rule-END-3",
        )
        assert not run.failed, run.output
        outcomes = {row.rule_id: row.outcome for row in run.rows}
        assert outcomes["OPEN-2"] == outcomes["PLAN-1"] == outcomes["USE-2"] == "passed"
        assert outcomes["OPEN-3"] == "skipped"
        reasons = {reason for row in run.rows for reason in row.reasons}
        assert "target runtime lacks job-duration, multi-user, virtual-clock" not in reasons
        assert "target runtime lacks job-duration, virtual-clock" in reasons

    def test_real_time_declares_a_clock_but_no_durations(
        self, system_url: str, cleanups: Callable[[Callable[[], None]], None]
    ) -> None:
        options = {"url": system_url, "real-time": "yes"}
        factory = make_factory("runtime", options, cleanup=cleanups)
        assert "virtual-clock" in factory.capabilities
        assert "job-duration" not in factory.capabilities

    def test_a_single_instance_has_no_other_user_and_no_plans(
        self, cleanups: Callable[[Callable[[], None]], None]
    ) -> None:
        with Server(create_app(SINGLE)) as server:
            factory = make_factory("runtime", {"url": server.url}, cleanup=cleanups)
            assert factory.capabilities == {"job-list"}


class TestServiceWithAdminApi:
    """If the admin key is in the environment, the target moves the service's clock."""

    def test_timed_rules_pass(self, virtual_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("QRUN_ADMIN_KEY", ADMIN_KEY)
        run = run_suite(
            "runtime", options={"url": virtual_url}, tags="rule-TTL-5 or rule-END-1 or rule-PRIO-2"
        )
        assert not run.failed and not run.skipped, run.output
        assert {row.rule_id for row in run.rows if row.outcome == "passed"} == {
            "TTL-5",
            "END-1",
            "PRIO-2",
        }

    def test_missing_instance_skips_with_the_reason(
        self, virtual_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRUN_ADMIN_KEY", ADMIN_KEY)
        run = run_suite("runtime", options={"url": virtual_url}, tags="rule-TTL-7 and plans")
        assert not run.failed, run.output
        (record,) = run.scenarios
        assert record.outcome == "skipped"
        assert "reaches no instance with plan premium, interactive TTL 120 s" in record.reason

    def test_url_may_come_from_the_environment(
        self,
        virtual_url: str,
        monkeypatch: pytest.MonkeyPatch,
        cleanups: Callable[[Callable[[], None]], None],
    ) -> None:
        monkeypatch.setenv("QRUN_ADMIN_KEY", ADMIN_KEY)
        monkeypatch.setenv("QRUN_RUNTIME_URL", virtual_url)
        factory = make_factory("runtime", {}, cleanup=cleanups)
        assert isinstance(factory, RuntimeFactory)
        assert factory.connection.url == virtual_url
        assert {"virtual-clock", "job-duration"} <= factory.capabilities

    def test_wrong_admin_key_is_a_usage_error(
        self,
        virtual_url: str,
        monkeypatch: pytest.MonkeyPatch,
        cleanups: Callable[[Callable[[], None]], None],
    ) -> None:
        monkeypatch.setenv("QRUN_ADMIN_KEY", "not-the-admin-key")
        with pytest.raises(UsageError, match="set QRUN_ADMIN_KEY") as caught:
            make_factory("runtime", {"url": virtual_url}, cleanup=cleanups)
        assert "not-the-admin-key" not in str(caught.value)


class TestOptions:
    """If target options are wrong, the user is told which and why before anything runs."""

    def test_key_value_pairs(self) -> None:
        assert parse_target_options(["url=http://h:1/x=y", " real-time = yes "]) == {
            "url": "http://h:1/x=y",
            "real-time": "yes",
        }

    @pytest.mark.parametrize("text", ["url", "=value"])
    def test_malformed_pair(self, text: str) -> None:
        with pytest.raises(UsageError, match="expected KEY=VALUE"):
            parse_target_options([text])

    def test_unknown_option(self, cleanups: Callable[[Callable[[], None]], None]) -> None:
        with pytest.raises(UsageError, match=r"unknown options \['colour'\]; it takes url"):
            make_factory("runtime", {"colour": "blue"}, cleanup=cleanups)

    def test_target_without_options(self, cleanups: Callable[[Callable[[], None]], None]) -> None:
        with pytest.raises(UsageError, match="'local' takes no target options"):
            make_factory("local", {"url": "http://x"}, cleanup=cleanups)

    def test_bad_real_time_value(
        self, system_url: str, cleanups: Callable[[Callable[[], None]], None]
    ) -> None:
        with pytest.raises(UsageError, match="real-time='maybe': expected yes or no"):
            make_factory("runtime", {"url": system_url, "real-time": "maybe"}, cleanup=cleanups)

    def test_command_exits_with_usage_code(self, capsys: pytest.CaptureFixture[str]) -> None:
        from qrun.cli import main

        assert main(["conformance", "--target", "local", "--target-option", "url=x"]) == 2
        assert "takes no target options" in capsys.readouterr().err
