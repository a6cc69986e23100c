"""Where conformance targets come from: built-ins, entry points, or ``module:Class``.

A target class is anything that builds a :class:`~qrun.conformance.target.Target` when
called with no arguments and carries a class-level ``capabilities`` frozenset. Other
packages add targets under the entry point group ``qrun.conformance.targets``.

Target options (``KEY=VALUE``) reach a target through :func:`make_factory`: a class with a
``configure`` class method gets them, any other class must be given none.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from qrun.errors import UsageError

from ..capabilities import CAPABILITIES

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..target import Target, TargetFactory

__all__ = [
    "BUILTIN_TARGETS",
    "ENTRY_POINT_GROUP",
    "available_targets",
    "load_target",
    "make_factory",
    "parse_target_options",
]

ENTRY_POINT_GROUP = "qrun.conformance.targets"

#: name -> "module:Class" of the targets shipped with qrun.
BUILTIN_TARGETS: dict[str, str] = {
    "local": "qrun.conformance.targets.local:LocalTarget",
    "qiskit-local": "qrun.conformance.targets.qiskit_local:QiskitLocalTarget",
    "runtime": "qrun.conformance.targets.runtime:RuntimeTarget",
}


def available_targets() -> dict[str, str]:
    """Every target name this installation knows -> where its class lives."""
    found = dict(BUILTIN_TARGETS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(point.name, point.value)
    return found


def load_target(spec: str) -> type[Target]:
    """The target class named by ``spec``: a known name or ``package.module:Class``."""
    location = available_targets().get(spec, spec)
    if ":" not in location:
        known = ", ".join(sorted(available_targets()))
        raise UsageError(
            f"unknown conformance target {spec!r}; use one of {known} or 'module:Class'"
        )
    module_name, _, attribute = location.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(
            f"conformance target {spec!r}: cannot import {module_name}: {error}"
        ) from None
    found = getattr(module, attribute, None)
    if found is None or not callable(found):
        raise UsageError(f"conformance target {spec!r}: {module_name} has no class {attribute}")
    capabilities = getattr(found, "capabilities", None)
    if not isinstance(capabilities, frozenset):
        raise UsageError(
            f"conformance target {spec!r}: {location} needs a class attribute "
            "'capabilities' (a frozenset of capability names)"
        )
    unknown = sorted(str(name) for name in capabilities - CAPABILITIES.keys())
    if unknown:
        raise UsageError(
            f"conformance target {spec!r} declares unknown capabilities {unknown}; "
            f"known: {sorted(CAPABILITIES)}"
        )
    return cast("type[Target]", found)


def parse_target_options(texts: Sequence[str]) -> dict[str, str]:
    """``["url=http://…", "real-time=yes"]`` -> ``{"url": "http://…", "real-time": "yes"}``."""
    options: dict[str, str] = {}
    for text in texts:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"target option {text!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def make_factory(
    spec: str,
    options: Mapping[str, str],
    *,
    cleanup: Callable[[Callable[[], None]], None],
) -> TargetFactory:
    """What builds the targets of one run: ``spec``'s class, configured with ``options``."""
    found = load_target(spec)
    configure = getattr(found, "configure", None)
    if callable(configure):
        factory = cast("TargetFactory", configure(options, cleanup=cleanup))
    elif options:
        raise UsageError(f"conformance target {spec!r} takes no target options")
    else:
        factory = cast("TargetFactory", found)
    unknown = sorted(str(name) for name in factory.capabilities - CAPABILITIES.keys())
    if unknown:
        raise UsageError(f"conformance target {spec!r} found unknown capabilities {unknown}")
    return factory
