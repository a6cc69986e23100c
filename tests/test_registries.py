"""The schema's enums and the code's registries name the same things.

A value the schema accepts must have code that runs it, and code that runs a value must
be reachable from a manifest: each registry (modes, workload orders, channels, optimiser
methods, backend kinds, conformance capabilities and targets) is held against the schema
or the feature files here, so the two cannot drift.
"""

from __future__ import annotations

import re
from importlib import import_module, resources
from pathlib import Path
from typing import get_args

import pytest

from qrun.conformance.capabilities import CAPABILITIES
from qrun.conformance.lint import scenarios_in
from qrun.conformance.targets import BUILTIN_TARGETS, load_target
from qrun.manifest.model import (
    BackendKind,
    ExecutionMode,
    OptimizerMethod,
    ServiceChannel,
    WorkloadOrder,
)
from qrun.manifest.schema import schema
from qrun.providers import PROVIDER_FOR_KIND, PROVIDERS
from qrun.run.execute import WORKLOAD_RUNNERS
from qrun.workloads.planning import GRADIENT_METHODS

FEATURES = Path(str(resources.files("qrun.features")))


def _property(*path: str) -> dict[str, object]:
    node: dict[str, object] = dict(schema())
    for name in path:
        if name.startswith("#"):
            node = schema()["$defs"][name[1:]]
            continue
        properties = node["properties"]
        assert isinstance(properties, dict)
        node = properties[name]
        reference = node.get("$ref")
        if isinstance(reference, str):
            node = schema()["$defs"][reference.removeprefix("#/$defs/")]
    return node


class TestSchemaEnums:
    """If the schema lists a value, the model's type lists the same values."""

    @pytest.mark.parametrize(
        ("path", "alias"),
        [
            (("execution", "mode"), ExecutionMode),
            (("execution", "workloads"), WorkloadOrder),
            (("service", "channel"), ServiceChannel),
            (("#workload", "method"), OptimizerMethod),
        ],
        ids=["execution.mode", "execution.workloads", "service.channel", "workload.method"],
    )
    def test_enum_equals_type(self, path: tuple[str, ...], alias: object) -> None:
        assert list(_property(*path)["enum"]) == list(get_args(alias))


class TestSimulatorOptions:
    """If a manifest names an Aer method or device, it is one Aer knows."""

    def test_methods_and_devices(self) -> None:
        from qiskit_aer import AerSimulator

        options = _property("backend", "options")["properties"]
        assert isinstance(options, dict)
        assert options["method"]["enum"] == list(AerSimulator._SIMULATION_METHODS)
        assert options["device"]["enum"] == list(AerSimulator._SIMULATION_DEVICES)


class TestOptimizerMethods:
    """If a workload names a method, SciPy knows it, and qrun knows whether it needs a
    gradient."""

    def test_gradient_methods_are_methods(self) -> None:
        assert set(GRADIENT_METHODS) <= set(get_args(OptimizerMethod))

    @pytest.mark.parametrize("method", get_args(OptimizerMethod))
    def test_scipy_runs_each(self, method: str) -> None:
        import numpy as np
        from scipy.optimize import minimize

        jac = (lambda x: 2 * x) if method in GRADIENT_METHODS else None
        result = minimize(lambda x: float(x @ x), np.array([0.5]), method=method, jac=jac, tol=1e-3)
        assert abs(result.x[0]) < 0.1

    def test_every_workload_kind_has_a_runner(self) -> None:
        required = _property("#workload")["required"]
        assert isinstance(required, list)
        kinds = set(required) - {"name", "method", "x0"}
        assert {kind.capitalize() for kind in kinds} == set(WORKLOAD_RUNNERS)


class TestBackendKinds:
    """If a manifest names a backend kind, a provider runs it."""

    def test_every_kind_has_a_provider(self) -> None:
        assert set(PROVIDER_FOR_KIND) == set(get_args(BackendKind))
        assert set(PROVIDER_FOR_KIND.values()) == set(PROVIDERS)

    @pytest.mark.parametrize("name", sorted(PROVIDERS))
    def test_each_provider_loads(self, name: str) -> None:
        module, _, factory = PROVIDERS[name].partition(":")
        assert callable(getattr(import_module(module), factory))

    def test_backend_names_cover_the_named_kinds(self) -> None:
        pattern = str(_property("backend", "name")["pattern"])
        named = set(re.findall(r"[a-z]+(?=_\[|\|)|(?<=\()[a-z]+", pattern))
        assert named | {"least_busy"} == set(get_args(BackendKind))
        assert "least_busy" in _property("backend")["properties"]


class TestConformanceRegistries:
    """If a feature asks for a capability, targets can declare it; every shipped target
    loads and declares only known capabilities."""

    def test_feature_tags_are_capabilities(self) -> None:
        used = {
            tag
            for feature in sorted(FEATURES.glob("*.feature"))
            for entry in scenarios_in(feature)
            for tag in entry.tags
            if not tag.startswith("rule-")
        }
        assert used == set(CAPABILITIES)

    @pytest.mark.parametrize("name", sorted(BUILTIN_TARGETS))
    def test_each_target_loads(self, name: str) -> None:
        assert set(load_target(name).capabilities) <= set(CAPABILITIES)
