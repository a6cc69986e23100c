"""Targets are found by name, entry point or module:Class, and the plugin stays out of the way."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING

import pytest

import qrun.conformance.targets as registry
from qrun.conformance.targets import load_target
from qrun.conformance.targets.local import LocalTarget
from qrun.conformance.targets.qiskit_local import QiskitLocalTarget
from qrun.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = ["pytester"]


class NoCapabilities:
    """A class that is not a target: it declares no capabilities."""


class OddCapabilities(LocalTarget):
    capabilities = frozenset({"time-travel"})


class TestLoading:
    """If a target is named, the registry returns its class or says what is wrong."""

    def test_builtin_names(self) -> None:
        assert load_target("local") is LocalTarget
        assert load_target("qiskit-local") is QiskitLocalTarget

    def test_module_and_class(self) -> None:
        assert load_target("qrun.conformance.targets.local:LocalTarget") is LocalTarget

    def test_entry_point_of_another_package(self, monkeypatch: pytest.MonkeyPatch) -> None:
        point = EntryPoint(
            "acme", "qrun.conformance.targets.local:LocalTarget", registry.ENTRY_POINT_GROUP
        )

        def points(*, group: str) -> Iterator[EntryPoint]:
            return iter([point] if group == registry.ENTRY_POINT_GROUP else [])

        monkeypatch.setattr(registry, "entry_points", points)
        assert load_target("acme") is LocalTarget

    def test_class_without_capabilities_is_refused(self) -> None:
        with pytest.raises(UsageError, match="needs a class attribute 'capabilities'"):
            load_target(f"{__name__}:NoCapabilities")

    def test_unknown_capability_is_refused(self) -> None:
        with pytest.raises(UsageError, match=r"unknown capabilities \['time-travel'\]"):
            load_target(f"{__name__}:OddCapabilities")

    def test_missing_module_is_refused(self) -> None:
        with pytest.raises(UsageError, match="cannot import no_such_module"):
            load_target("no_such_module:Target")


class TestPluginIsInert:
    """If the suite is not collected, the plugin neither loads a target nor skips tests."""

    def test_other_tests_run_whatever_the_target_option(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile("def test_plain():\n    assert True\n")
        result = pytester.runpytest_inprocess(
            "--qrun-target", "no-such-target", "-p", "no:cacheprovider"
        )
        result.assert_outcomes(passed=1)
