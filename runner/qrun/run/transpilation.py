"""Transpiling circuits to a backend's ISA with Qiskit's preset pass managers.

``generate_preset_pass_manager`` builds a stage-plugin manager that imports every
installed transpiler plugin, whether or not the chosen backend uses it. One of those is
``qiskit_ibm_runtime``'s translation plugin, and importing it costs more than a whole
local Bell-pair run. While qrun builds a pass manager it therefore makes the stage-plugin
manager load a plugin only when a stage asks for it by name; the passes that result are
exactly the ones Qiskit would pick, the plugins nobody asks for are simply not imported.
Installed plugins are listed once per process (reading every installed distribution's
metadata costs more than transpiling a small circuit), and each stage's list is reused.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from qiskit.providers import BackendV2
    from qiskit.transpiler import StagedPassManager, Target

__all__ = ["preset_pass_manager"]

_STAGES = ("init", "layout", "routing", "translation", "optimization", "scheduling")
_LOCK = threading.Lock()


class _Extension:
    """What stevedore's ``Extension`` offers the plugin manager: ``name`` and ``obj``."""

    def __init__(self, entry_point: EntryPoint) -> None:
        self.name = entry_point.name
        self.entry_point = entry_point
        self.plugin: type = entry_point.load()
        self.obj: object = self.plugin()


class _OnDemandPlugins:
    """The stage plugins of one namespace, each imported the first time it is looked up."""

    def __init__(self, namespace: str) -> None:
        self._entry_points = _installed(namespace)
        self._loaded: dict[str, _Extension] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._entry_points

    def __getitem__(self, name: str) -> _Extension:
        if name not in self._loaded:
            self._loaded[name] = _Extension(self._entry_points[name])
        return self._loaded[name]

    def names(self) -> list[str]:
        return list(self._entry_points)


@cache
def _installed(namespace: str) -> dict[str, EntryPoint]:
    """The plugins installed for ``namespace`` (the distributions are read once)."""
    found = _all_entry_points().select(group=namespace)
    return {point.name: point for point in found}


class _Selectable(Protocol):
    def select(self, *, group: str) -> Iterable[EntryPoint]: ...


@cache
def _all_entry_points() -> _Selectable:
    """Every installed entry point (``entry_points()`` without arguments reads the
    distributions once; with a group it reads them all again)."""
    return entry_points()


def _on_demand_init(manager: object) -> None:
    for stage in _STAGES:
        setattr(manager, f"{stage}_plugins", _OnDemandPlugins(f"qiskit.transpiler.{stage}"))


@contextmanager
def _plugins_on_demand() -> Iterator[None]:
    from qiskit.transpiler.preset_passmanagers import plugin

    manager_class = plugin.PassManagerStagePluginManager
    with _LOCK:
        original = manager_class.__init__
        manager_class.__init__ = _on_demand_init
        try:
            yield
        finally:
            manager_class.__init__ = original


def preset_pass_manager(
    backend: BackendV2 | Target, optimization_level: int, seed: int | None
) -> StagedPassManager:
    """Qiskit's preset pass manager (``generate_preset_pass_manager``) for a backend, or
    for a bare target when that is all a provider has."""
    from qiskit.transpiler import Target, generate_preset_pass_manager

    def generate() -> StagedPassManager:
        if isinstance(backend, Target):
            return generate_preset_pass_manager(
                optimization_level, target=backend, seed_transpiler=seed
            )
        return generate_preset_pass_manager(
            optimization_level, backend=backend, seed_transpiler=seed
        )

    try:
        with _plugins_on_demand():
            return generate()
    except AttributeError:
        # The plugin manager's shape changed in this Qiskit version: build the pass manager
        # the ordinary way, importing every plugin. Slower to start, same passes.
        return generate()
