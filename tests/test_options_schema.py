"""The schema's primitive options follow qiskit-ibm-runtime's own option models.

The option tree (names, JSON types, enums, bounds) is derived from the installed client's
``SamplerOptions`` and ``EstimatorOptions`` dataclasses and compared with the schema's
``samplerOptions`` and ``estimatorOptions``; when a client release adds, drops or changes
an option, the test fails and lists exactly what differs. The few places where qrun
deliberately says more than the client (its ``seed_simulator`` shorthand, bounds the
service enforces but the client does not check) are listed below, and a listed difference
that no longer exists fails too, so the list cannot go stale.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, Union

import pytest
from qiskit_ibm_runtime.options import EstimatorOptions, SamplerOptions
from qiskit_ibm_runtime.options.utils import Dict, UnsetType

from qrun.manifest.load import check
from qrun.manifest.schema import schema

if typing.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

SEED_MAX = 2**63 - 1

#: Facts the schema states that the client's models do not check: qrun's shorthand, seeds
#: that fit in 63 bits, and bounds the service enforces.
QRUN_ADDS = {
    "sampler.seed_simulator",
    "sampler.seed_simulator: type integer",
    "sampler.seed_simulator: minimum 0",
    f"sampler.seed_simulator: maximum {SEED_MAX}",
    "estimator.seed_simulator",
    "estimator.seed_simulator: type integer",
    "estimator.seed_simulator: minimum 0",
    f"estimator.seed_simulator: maximum {SEED_MAX}",
    "estimator.seed_estimator: minimum 0",
    f"estimator.seed_estimator: maximum {SEED_MAX}",
    *(f"{kind}.simulator.seed_simulator: minimum 0" for kind in ("sampler", "estimator")),
    *(f"{kind}.simulator.seed_simulator: maximum {SEED_MAX}" for kind in ("sampler", "estimator")),
    "sampler.default_shots: minimum 1",
    "estimator.default_shots: minimum 1",
    *(f"{kind}.max_execution_time: minimum 1" for kind in ("sampler", "estimator")),
    *(f"{kind}.execution.rep_delay: minimum 0" for kind in ("sampler", "estimator")),
    *(f"{kind}.environment.job_tags[]: type string" for kind in ("sampler", "estimator")),
    *(f"{kind}.simulator.coupling_map[][]: minimum 0" for kind in ("sampler", "estimator")),
    # checked by the client's own validators, which a derivation cannot read
    "estimator.resilience.zne.noise_factors[]: minimum 1",
    "estimator.resilience.layer_noise_learning.layer_pair_depths[]: minimum 0",
}

#: Facts of the client's models the schema leaves out: 0 shots, which the service refuses,
#: and Python objects (a NoiseModel, a CouplingMap, a NoiseLearnerResult) that a YAML
#: manifest cannot hold.
QRUN_OMITS = {
    "estimator.default_shots: minimum 0",
    *(f"{kind}.simulator.noise_model: type python-object" for kind in ("sampler", "estimator")),
    *(f"{kind}.simulator.coupling_map: type python-object" for kind in ("sampler", "estimator")),
    "estimator.resilience.layer_noise_model: type python-object",
    "estimator.resilience.layer_noise_model: type array",
    "estimator.resilience.layer_noise_model[]: type python-object",
}

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


# --------------------------------------------------------------- the client's models


def _alternatives(annotation: object) -> list[object]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [found for arg in typing.get_args(annotation) for found in _alternatives(arg)]
    return [annotation]


def _client_bounds(model: type) -> dict[str, dict[str, object]]:
    """Bounds set with the client's ``make_constraint_validator`` (read from its closure)."""
    found: dict[str, dict[str, object]] = {}
    decorators = getattr(model, "__pydantic_decorators__", None)
    for decorator in getattr(decorators, "field_validators", {}).values():
        function = getattr(decorator.func, "__func__", decorator.func)
        function = getattr(function, "__wrapped__", function)
        names = function.__code__.co_freevars
        if not set(_BOUNDS) <= set(names):
            continue
        values = dict(
            zip(names, (cell.cell_contents for cell in function.__closure__), strict=True)
        )
        for field_name in decorator.info.fields:
            for short, keyword in _BOUNDS.items():
                if values[short] is not None:
                    found.setdefault(field_name, {})[keyword] = values[short]
    return found


def _client_facts(annotation: object, where: str, bounds: Mapping[str, object]) -> Iterator[str]:
    for option in _alternatives(annotation):
        origin = typing.get_origin(option)
        if option in (UnsetType, Dict):
            continue
        if option is type(None):
            yield f"{where}: type null"
        elif origin is Literal:
            yield from (f"{where}: enum {value!r}" for value in typing.get_args(option))
        elif option in _JSON_TYPES:
            yield f"{where}: type {_JSON_TYPES[option]}"  # type: ignore[index]
        elif option is list or origin in (list, Sequence):
            yield f"{where}: type array"
            for item in typing.get_args(option):
                yield from _client_facts(item, f"{where}[]", {})
        elif dataclasses.is_dataclass(option):
            yield f"{where}: type object"
            yield from _client_tree(option, where)  # type: ignore[arg-type]
        else:
            yield f"{where}: type python-object"
    for keyword, value in bounds.items():
        yield f"{where}: {keyword} {value}"


def _client_tree(model: type, where: str) -> Iterator[str]:
    hints = typing.get_type_hints(model)
    bounds = _client_bounds(model)
    for item in dataclasses.fields(model):  # type: ignore[arg-type]
        if item.name.startswith("_"):
            continue
        path = f"{where}.{item.name}"
        yield path
        yield from _client_facts(hints[item.name], path, bounds.get(item.name, {}))


# ------------------------------------------------------------------------ the schema


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = schema()["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _schema_facts(node: Mapping[str, Any], where: str) -> Iterator[str]:
    node = _resolve(node)
    for alternative in node.get("anyOf", ()):
        yield from _schema_facts(alternative, where)
    kinds = node.get("type", [])
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        yield f"{where}: type {kind}"
    if "const" in node:
        yield f"{where}: enum {node['const']!r}"
    yield from (f"{where}: enum {value!r}" for value in node.get("enum", ()))
    for keyword in _BOUNDS.values():
        if keyword in node:
            yield f"{where}: {keyword} {node[keyword]}"
    if "items" in node:
        yield from _schema_facts(node["items"], f"{where}[]")
    for name, sub in node.get("properties", {}).items():
        yield f"{where}.{name}"
        yield from _schema_facts(sub, f"{where}.{name}")


def _trees() -> tuple[set[str], set[str]]:
    client = set(_client_tree(SamplerOptions, "sampler"))
    client |= set(_client_tree(EstimatorOptions, "estimator"))
    written = set(_schema_facts(schema()["$defs"]["samplerOptions"], "sampler"))
    written |= set(_schema_facts(schema()["$defs"]["estimatorOptions"], "estimator"))
    return client, written - {"sampler: type object", "estimator: type object"}


def _normalised(facts: set[str]) -> set[str]:
    """Bounds compared as numbers (the client writes ``1``, JSON may say ``1.0``)."""
    found = set()
    for fact in facts:
        head, _, value = fact.rpartition(" ")
        if head.endswith(tuple(_BOUNDS.values())) and "." in value:
            number = float(value)
            value = str(int(number)) if number.is_integer() else str(number)
        found.add(f"{head} {value}" if head else fact)
    return found


class TestOptionsFollowTheClient:
    """If the client's option models change, the schema is shown to differ, option by option."""

    def test_schema_equals_the_client_tree(self) -> None:
        import qiskit_ibm_runtime

        client, written = (_normalised(tree) for tree in _trees())
        missing = sorted(client - written - QRUN_OMITS)
        extra = sorted(written - client - QRUN_ADDS)
        lines = [f"  in qiskit-ibm-runtime only: {fact}" for fact in missing]
        lines += [f"  in the schema only:         {fact}" for fact in extra]
        assert not lines, (
            f"spec/manifest.schema.json's primitive options differ from qiskit-ibm-runtime "
            f"{qiskit_ibm_runtime.__version__}'s option models:\n" + "\n".join(lines)
        )

    def test_every_listed_difference_still_exists(self) -> None:
        client, written = (_normalised(tree) for tree in _trees())
        assert sorted(QRUN_ADDS - (written - client)) == []
        assert sorted(QRUN_OMITS - (client - written)) == []

    def test_the_derivation_sees_what_the_client_checks(self) -> None:
        """The comparison is only as good as the derivation: it finds literals, nested
        models and the bounds of the client's validators."""
        client, _ = _trees()
        assert {
            "estimator.resilience_level: maximum 2",
            "estimator.twirling.strategy: enum 'active-accum'",
            "sampler.execution.meas_type: enum 'avg_kerneled'",
            "estimator.resilience.zne.extrapolator[]: enum 'fallback'",
            "estimator.resilience.pec.max_overhead: exclusiveMinimum 0",
        } <= client
        assert "sampler.resilience_level" not in client

    def test_a_drifted_schema_is_reported_readably(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A schema edited out of step (an enum value dropped) fails with that one line."""
        published = schema()
        drifted = dict(published)
        defs = {name: dict(value) for name, value in published["$defs"].items()}
        dd = dict(defs["dynamicalDecouplingOptions"])
        dd["properties"] = dict(dd["properties"])
        dd["properties"]["sequence_type"] = {"enum": ["XX", "XpXm"]}
        defs["dynamicalDecouplingOptions"] = dd
        drifted["$defs"] = defs
        monkeypatch.setattr(sys.modules[__name__], "schema", lambda: drifted)
        with pytest.raises(AssertionError) as failed:
            self.test_schema_equals_the_client_tree()
        report = str(failed.value)
        assert (
            "in qiskit-ibm-runtime only: sampler.dynamical_decoupling.sequence_type: enum 'XY4'"
            in report
        )
        assert "in the schema only" not in report


class TestOptionsAreDocumented:
    """If an option is in the schema, an editor can explain it in one line."""

    @pytest.mark.parametrize(
        "name", [name for name in schema()["$defs"] if name.endswith("Options")]
    )
    def test_one_line_description_for_each_option(self, name: str) -> None:
        for key, prop in schema()["$defs"][name]["properties"].items():
            described = _resolve(prop)
            assert "\n" not in described["description"] and described["description"], key


class TestTypedOptionsInManifests:
    """If a manifest misspells a Runtime option, it is refused at the option's place."""

    def _manifest(self, tmp_path: Path, options: str, kind: str = "estimator") -> Path:
        pubs = "      - circuit: bell\n" + (
            "        observables: zz\n" if kind == "estimator" else ""
        )
        text = (
            "qrun: 1\nbackend:\n  name: aer\ncircuits:\n  bell:\n    library: real_amplitudes\n"
            "    args: {num_qubits: 2, reps: 0}\nobservables:\n  zz: {ZZ: 1}\nprimitives:\n"
            f"  - {kind}:\n    name: p\n    options:\n{options}    pubs:\n{pubs}"
        )
        path = tmp_path / "m.yaml"
        path.write_text(text, "utf-8")
        return path

    def test_misspelt_resilience_level(self, tmp_path: Path) -> None:
        (issue,) = check(self._manifest(tmp_path, "      resilence_level: 2\n"))
        assert (issue.line, issue.column) == (14, 7)
        assert issue.message == "unknown key 'resilence_level'; did you mean 'resilience_level'?"

    def test_workload_options_are_typed_as_an_estimator(self, tmp_path: Path) -> None:
        path = tmp_path / "w.yaml"
        path.write_text(
            "qrun: 1\nbackend:\n  name: aer\ncircuits:\n  c:\n    library: real_amplitudes\n"
            "    args: {num_qubits: 1, reps: 1}\nobservables:\n  z: {Z: 1}\nworkloads:\n"
            "  - name: w\n    minimize: {circuit: c, observable: z}\n    method: cobyla\n"
            "    x0: [0, 0]\n    options:\n      twirling: {enable_gate: true}\n",
            "utf-8",
        )
        (issue,) = check(path)
        assert issue.path == "$.workloads[0].options.twirling.enable_gate"
        assert "did you mean 'enable_gates'?" in issue.message

    def test_options_the_client_takes_are_valid(self, tmp_path: Path) -> None:
        options = (
            "      default_precision: 0.01\n      resilience_level: 2\n"
            "      resilience: {measure_mitigation: true, zne: {amplifier: pea,"
            " noise_factors: [1, 1.5, 2], extrapolator: linear},"
            " layer_noise_learning: {max_layers_to_learn: null}}\n"
            "      twirling: {enable_gates: true, num_randomizations: auto, strategy: all}\n"
            "      execution: {init_qubits: true, rep_delay: 0.0005}\n"
            "      environment: {log_level: INFO, private: true, job_tags: [a]}\n"
            "      max_execution_time: 600\n      experimental: {anything: [1, 2]}\n"
        )
        assert check(self._manifest(tmp_path, options)) == []
        EstimatorOptions(
            default_precision=0.01,
            resilience_level=2,
            resilience={  # type: ignore[arg-type]
                "measure_mitigation": True,
                "zne": {"amplifier": "pea", "noise_factors": [1, 1.5, 2], "extrapolator": "linear"},
                "layer_noise_learning": {"max_layers_to_learn": None},
            },
            twirling={"enable_gates": True, "num_randomizations": "auto", "strategy": "all"},  # type: ignore[arg-type]
            execution={"init_qubits": True, "rep_delay": 0.0005},  # type: ignore[arg-type]
            environment={"log_level": "INFO", "private": True, "job_tags": ["a"]},  # type: ignore[arg-type]
            max_execution_time=600,
            experimental={"anything": [1, 2]},
        )


class TestCompiledValidatorCache:
    """If the cached validator is missing or damaged, it is compiled again and judges alike."""

    def test_damaged_cache_is_rebuilt(self, tmp_path: Path) -> None:
        script = (
            "from qrun.manifest.schema import is_valid\n"
            "print(is_valid({'qrun': 1, 'backend': {'name': 'aer'}}), is_valid({'qrun': 2}))\n"
        )
        environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

        def judged() -> str:
            done = subprocess.run(
                [sys.executable, "-c", script],
                check=False,
                capture_output=True,
                text=True,
                env=environment,
            )
            return done.stdout + done.stderr

        assert judged() == "True False\n"
        (cached,) = (tmp_path / "qrun").glob("manifest_schema_*.marshal")
        cached.write_bytes(b"not byte code")
        assert judged() == "True False\n"
        assert cached.read_bytes() != b"not byte code"
