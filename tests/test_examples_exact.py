"""The real-experiment examples, run and held against exact values: the QAOA tutorial's
flow finds a maximum cut; the 127-qubit GHZ reads back its exact correlations."""

from __future__ import annotations

import itertools
import json
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import load_manifest
from qrun.run.pipeline import run_manifest

if TYPE_CHECKING:
    from qrun.run.pipeline import RunReport

EXAMPLES = Path(str(files("qrun.spec") / "examples"))


def _cut(bits: str, edges: list[tuple[int, int]]) -> int:
    """Edges cut by ``bits`` (Qiskit's order: the last character is node 0)."""
    side = bits[::-1]
    return sum(side[a] != side[b] for a, b in edges)


@pytest.fixture(scope="module")
def qaoa(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("qaoa")
    report = run_manifest(load_manifest(EXAMPLES / "qaoa-maxcut.yaml"), output=folder / "r")
    return report, json.loads((folder / "r" / "results.json").read_text())


class TestQaoaMaxcut:
    """If the QAOA example runs, the optimised circuit's most frequent bit string is a
    maximum cut of its graph, found by brute force."""

    def test_the_graph_is_the_cost_operator(self) -> None:
        manifest = load_manifest(EXAMPLES / "qaoa-maxcut.yaml")
        observable = manifest.observables["maxcut"]
        assert observable.num_qubits == 5
        edges = [(qubits[0], qubits[1]) for _, qubits, _ in observable.sparse]
        assert edges == [(0, 1), (0, 2), (0, 4), (1, 2), (2, 3), (3, 4)]

    def test_the_most_frequent_bit_string_is_a_maximum_cut(
        self, qaoa: tuple[RunReport, dict[str, Any]]
    ) -> None:
        report, document = qaoa
        assert not report.outcome.failed and not report.outcome.failed_workloads
        edges = [(0, 1), (0, 2), (0, 4), (1, 2), (2, 3), (3, 4)]
        best = max(_cut("".join(bits), edges) for bits in itertools.product("01", repeat=5))
        assert best == 5
        counts = document["primitives"][0]["pubs"][0]["registers"]["meas"]["counts"]
        assert sum(counts.values()) == 10_000
        top = max(counts, key=counts.__getitem__)
        assert _cut(top, edges) == best, (top, counts[top])

    def test_the_sampled_point_is_the_workloads_best(
        self, qaoa: tuple[RunReport, dict[str, Any]]
    ) -> None:
        report, document = qaoa
        best = report.outcome.workload_results["qaoa"].best
        assert best is not None and best.value is not None
        # The cost is <ZZ> summed over edges: 0 for a uniform guess, -4 at a maximum cut.
        assert best.value < -2.0
        (chain,) = document["chains"]
        assert chain["from"] == "qaoa" and chain["values"] == list(best.parameters)
        assert report.outcome.workload_results["qaoa"].exact_minimum == pytest.approx(-4.0)

    def test_one_session_holds_every_job(self, qaoa: tuple[RunReport, dict[str, Any]]) -> None:
        report = qaoa[0]
        assert report.outcome.mode == "session"
        assert report.outcome.session_id is not None
        result = report.outcome.workload_results["qaoa"]
        assert result.session is not None and result.session.stayed_active


#: What a local run on a 127-qubit device cannot do when it simulates every device qubit.
_WHOLE_DEVICE = ("memory", "insufficient", "too large", "qubits to simulate")


class TestGhzOn127Qubits:
    """If the 127-qubit example runs locally, its sparse observables read the GHZ state's
    exact values (within the fake device's noise) in under a minute."""

    def test_runs_and_agrees_with_exact_values(self, tmp_path: Path) -> None:
        import time

        manifest = load_manifest(EXAMPLES / "ghz-127-sparse.yaml")
        assert {o.num_qubits for o in manifest.observables.values()} == {127}
        started = time.monotonic()
        try:
            report = run_manifest(manifest, output=tmp_path / "r")
        except ManifestError as error:
            if any(word in str(error).lower() for word in _WHOLE_DEVICE):
                pytest.skip(f"local runs cannot simulate only the active qubits here: {error}")
            raise
        errors = " ".join(job.error or "" for job in report.outcome.failed).lower()
        if any(word in errors for word in _WHOLE_DEVICE):
            pytest.skip(f"local runs cannot simulate only the active qubits here: {errors}")
        assert not report.outcome.failed
        assert time.monotonic() - started < 60
        document = json.loads((tmp_path / "r" / "results.json").read_text())
        counts_pub, estimator_pub = (p["pubs"][0] for p in document["primitives"])
        counts = counts_pub["registers"]["c"]["counts"]
        ghz = counts.get("0" * 10, 0) + counts.get("1" * 10, 0)
        assert ghz / sum(counts.values()) > 0.6  # ideal: 1; the device's noise takes some
        zz_chain, parity, z0 = estimator_pub["evs"]
        assert zz_chain == pytest.approx(1.0, abs=0.25)
        assert parity == pytest.approx(1.0, abs=0.4)
        assert z0 == pytest.approx(0.0, abs=0.15)
