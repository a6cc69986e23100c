"""The example manifests: valid ones load into the model, invalid ones fail as they state."""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path

import pytest

from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import check, load_manifest
from qrun.manifest.model import (
    Array,
    EstimatorPub,
    LibrarySource,
    Linspace,
    QasmFileSource,
    QasmSource,
    RandomValues,
    SamplerPub,
)

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))
VALID = sorted(EXAMPLES.glob("*.yaml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (\d+):(\d+) (\S+) (.+)")


def _expectations(path: Path) -> list[tuple[int, int, str, str]]:
    found = []
    for line in path.read_text("utf-8").splitlines():
        match = EXPECT.match(line)
        if match:
            found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


class TestValidExamples:
    """If an example is in the valid folder, it has no issues and loads."""

    @pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
    def test_no_issues(self, path: Path) -> None:
        assert check(path) == []

    @pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
    def test_has_the_modeline(self, path: Path) -> None:
        first = path.read_text("utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../manifest.schema.json"

    def test_the_expected_examples_exist(self) -> None:
        names = {path.stem for path in VALID}
        assert names >= {
            "bell",
            "sweep",
            "ghz",
            "fake-backend",
            "least-busy",
            "batch",
            "vqe",
            "vqe-two-optimizers",
        }


class TestInvalidExamples:
    """If an invalid example is checked, it produces exactly the issues it states."""

    @pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
    def test_states_its_errors(self, path: Path) -> None:
        assert _expectations(path), f"{path.name} states no '# expect:' line"

    @pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
    def test_produces_exactly_the_stated_issues(self, path: Path) -> None:
        issues = check(path)
        expected = _expectations(path)
        assert len(issues) == len(expected), "\n".join(str(issue) for issue in issues)
        for issue, (line, column, json_path, message) in zip(issues, expected, strict=True):
            assert (issue.line, issue.column, issue.path) == (line, column, json_path)
            assert message in issue.message

    @pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
    def test_load_manifest_raises_with_the_same_issues(self, path: Path) -> None:
        with pytest.raises(ManifestError) as raised:
            load_manifest(path)
        assert list(raised.value.issues) == check(path)


class TestModelValues:
    """If a valid example is loaded, the model holds what the file says."""

    def test_bell(self) -> None:
        manifest = load_manifest(EXAMPLES / "bell.yaml")
        assert manifest.version == 1
        assert manifest.backend.kind == "aer"
        assert manifest.backend.name == "aer"
        assert manifest.execution.mode == "session"
        assert manifest.execution.max_time == 1500.0
        assert manifest.transpile.optimization_level == 1
        assert manifest.transpile.seed == 7
        assert manifest.metadata.labels == {"topic": "tutorial"}
        circuit = manifest.circuits["bell"]
        assert isinstance(circuit.source, QasmSource)
        assert circuit.source.version == 3
        (primitive,) = manifest.primitives
        assert (primitive.kind, primitive.name, primitive.path) == (
            "sampler",
            "counts",
            "$.primitives[0]",
        )
        assert primitive.options.default_shots == 4096
        assert primitive.options.seed_simulator == 1234
        assert primitive.options.job_tags == ("bell",)
        assert primitive.pubs == (SamplerPub("bell", "$.primitives[0].pubs[0]"),)
        assert manifest.source.position("$.primitives[0].pubs[0].circuit") == (36, 18)
        assert len(manifest.sha256) == 64

    def test_sweep_broadcasts_observables_over_a_linspace(self) -> None:
        manifest = load_manifest(EXAMPLES / "sweep.yaml")
        (pub,) = manifest.primitives[0].pubs
        assert isinstance(pub, EstimatorPub)
        assert pub.observables == (("zi",), ("xx",))
        assert isinstance(pub.parameter_values, Linspace)
        assert pub.parameter_values.num == 21
        assert pub.parameter_values.stop == pytest.approx(2 * math.pi)
        assert manifest.observables["xx"].terms == (("XX", 1.0),)

    def test_ghz_reads_an_openqasm2_file_beside_the_manifest(self) -> None:
        manifest = load_manifest(EXAMPLES / "ghz.yaml")
        source = manifest.circuits["ghz"].source
        assert isinstance(source, QasmFileSource)
        assert source.file == (EXAMPLES / "ghz.qasm").resolve()
        assert source.version == 2
        assert manifest.backend.options == {"method": "statevector"}

    def test_least_busy_and_service(self) -> None:
        manifest = load_manifest(EXAMPLES / "least-busy.yaml")
        assert manifest.backend.kind == "least_busy"
        assert manifest.backend.name is None
        assert manifest.backend.least_busy is not None
        assert manifest.backend.least_busy.min_num_qubits == 5
        assert manifest.service is not None
        assert manifest.service.channel == "ibm_quantum_platform"
        assert manifest.execution.fallback is True

    def test_fake_backend_kind(self) -> None:
        manifest = load_manifest(EXAMPLES / "fake-backend.yaml")
        assert (manifest.backend.kind, manifest.backend.name) == ("fake", "fake_manila")
        assert manifest.circuits["bell"].measure_all is True
        assert [p.kind for p in manifest.primitives] == ["sampler", "estimator"]

    def test_batch_random_and_explicit_values(self) -> None:
        manifest = load_manifest(EXAMPLES / "batch.yaml")
        assert manifest.execution.mode == "batch"
        random_pub, explicit_pub = manifest.primitives[0].pubs[0], manifest.primitives[1].pubs[0]
        assert random_pub.parameter_values == RandomValues(
            17, 0.0, math.pi, (4,), "$.primitives[0].pubs[0].parameter_values.random"
        )
        assert isinstance(explicit_pub.parameter_values, Array)
        assert explicit_pub.parameter_values.values == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
        assert isinstance(explicit_pub, SamplerPub)
        assert explicit_pub.shots == 256

    def test_vqe(self) -> None:
        manifest = load_manifest(EXAMPLES / "vqe.yaml")
        assert manifest.observables["hamiltonian"].terms == (
            ("YZ", 0.398),
            ("ZI", -0.398),
            ("ZZ", -0.0113),
            ("XX", 0.181),
        )
        circuit = manifest.circuits["ansatz"].source
        assert circuit == LibrarySource("efficient_su2", {"num_qubits": 2})
        assert manifest.transpile.optimization_level == 3
        (workload,) = manifest.workloads
        assert workload.method == "cobyla"
        assert workload.options.default_shots == 10000
        assert workload.reference == -0.70293
        assert isinstance(workload.x0, RandomValues)
        assert (workload.x0.seed, workload.x0.low, workload.x0.shape) == (42, 0.0, ())
        assert workload.x0.high == pytest.approx(2 * math.pi)

    def test_two_optimizers_have_their_own_tags(self) -> None:
        manifest = load_manifest(EXAMPLES / "vqe-two-optimizers.yaml")
        assert manifest.execution.workloads == "concurrent"
        assert [(w.name, w.method, w.options.job_tags) for w in manifest.workloads] == [
            ("cobyla", "cobyla", ("cobyla",)),
            ("nelder-mead", "nelder-mead", ("nelder-mead",)),
        ]
        assert manifest.workloads[1].method_options == {"adaptive": True}
