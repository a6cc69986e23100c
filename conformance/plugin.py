"""The pytest plugin of the conformance suite (registered under ``pytest11``).

It adds ``--qrun-target`` and ``--qrun-target-option KEY=VALUE`` and declares the rule and
capability markers the feature tags become (``-m 'rule-TTL-3'`` must know them before
collection). Nothing else happens until the suite itself is collected: then it resolves the
target and marks every scenario that needs a capability the target lacks as skipped, with
the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.errors import QrunError

from .capabilities import CAPABILITIES
from .rules import RULES, rule_tag

if TYPE_CHECKING:
    from .target import TargetFactory

__all__ = [
    "SUITE_MARK",
    "is_suite_item",
    "missing_capabilities",
    "preset_factory",
    "register_markers",
    "target_factory",
    "target_name",
]

#: A module attribute set by the suite module; its items are the conformance scenarios.
SUITE_MARK = "__qrun_conformance_suite__"

_FACTORY = pytest.StashKey["TargetFactory"]()
_MARKERS_DONE = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qrun-conformance", "qrun conformance suite")
    group.addoption(
        "--qrun-target",
        default="local",
        metavar="NAME",
        help="target the session lifecycle conformance suite runs against: a built-in "
        "name (local, qiskit-local), an entry point of group qrun.conformance.targets, "
        "or module:Class (default: local)",
    )
    group.addoption(
        "--qrun-target-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the target (repeatable), e.g. url=http://127.0.0.1:8765 for "
        "the runtime target",
    )


def register_markers(config: pytest.Config) -> None:
    """Declare the markers feature tags turn into (once per run)."""
    if config.stash.get(_MARKERS_DONE, False):
        return
    for rule_id, text in RULES.items():
        config.addinivalue_line("markers", f"{rule_tag(rule_id)}: rule {rule_id}: {text}")
    for name, text in CAPABILITIES.items():
        config.addinivalue_line("markers", f"{name}: needs a target that {text}")
    config.stash[_MARKERS_DONE] = True


def pytest_configure(config: pytest.Config) -> None:
    # pytest checks the names in a -m expression against the registered markers, so the
    # markers must exist before any collection; registering them is all this does.
    register_markers(config)


def target_name(config: pytest.Config) -> str:
    """The target named on the command line."""
    return str(config.getoption("qrun_target"))


def target_factory(config: pytest.Config) -> TargetFactory:
    """What builds this run's targets: the chosen class with its options, made on first use."""
    if _FACTORY not in config.stash:
        from .targets import make_factory, parse_target_options

        try:
            options = parse_target_options(config.getoption("qrun_target_option") or [])
            config.stash[_FACTORY] = make_factory(
                target_name(config), options, cleanup=config.add_cleanup
            )
        except QrunError as error:
            raise pytest.UsageError(str(error)) from None
    return config.stash[_FACTORY]


def preset_factory(config: pytest.Config, factory: TargetFactory) -> None:
    """Use ``factory`` for this run instead of building one from the command line."""
    config.stash[_FACTORY] = factory


def is_suite_item(item: pytest.Item) -> bool:
    """Whether ``item`` is a scenario of the conformance suite."""
    module = getattr(item, "module", None)
    return bool(getattr(module, SUITE_MARK, False))


def missing_capabilities(item: pytest.Item, capabilities: frozenset[str]) -> list[str]:
    """The capabilities a scenario needs that the target does not declare."""
    wanted = {mark.name for mark in item.iter_markers() if mark.name in CAPABILITIES}
    return sorted(wanted - capabilities)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = [item for item in items if is_suite_item(item)]
    if not suite:
        return
    factory = target_factory(config)
    name = target_name(config)
    for item in suite:
        missing = missing_capabilities(item, factory.capabilities)
        if missing:
            reason = f"target {name} lacks {', '.join(missing)}"
            item.add_marker(pytest.mark.skip(reason=reason))
