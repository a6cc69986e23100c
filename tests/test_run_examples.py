"""Every example manifest runs on aer and on a fake backend, and its numbers are right."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector
from scipy.stats import binomtest

from qrun.manifest.load import load_manifest
from qrun.manifest.model import Backend
from qrun.run.pipeline import run_manifest
from qrun.run.results import load_results

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.model import BackendKind, Manifest
    from qrun.run.plan import PlannedPub

EXAMPLES = Path(str(files("qrun.spec") / "examples"))
MANIFESTS = sorted(EXAMPLES.glob("*.yaml"))
FAKE = "fake_manila"


def _skip_reason(manifest: Manifest) -> str | None:
    if manifest.workloads:
        return "iterative workloads are checked against exact minima in test_workloads.py"
    if manifest.backend.kind in ("ibm", "least_busy"):
        return "needs an IBM Quantum account"
    if manifest.backend.kind == "fake" and manifest.backend.name != FAKE:
        return f"written for {manifest.backend.name}; checked in test_examples_exact.py"
    return None


def _on(manifest: Manifest, backend: str) -> Manifest:
    kind: BackendKind = "aer" if backend == "aer" else "fake"
    return dataclasses.replace(
        manifest, backend=Backend(kind=kind, name=backend, path=manifest.backend.path)
    )


def _bound(pub: PlannedPub) -> list[tuple[QuantumCircuit, tuple[int, ...]]]:
    """The PUB's circuit bound to each of its parameter sets, with the set's index."""
    qiskit_pub = pub.pub
    circuit: QuantumCircuit = qiskit_pub.circuit  # type: ignore[attr-defined]
    bindings = qiskit_pub.parameter_values  # type: ignore[attr-defined]
    if bindings.num_parameters == 0:
        return [(circuit, ())]
    bound = bindings.bind_all(circuit)
    return [(bound[index], index) for index in np.ndindex(bound.shape)]


def _exact_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    """Outcome probabilities of a circuit whose measurements are all at the end."""
    measured = [
        (circuit.find_bit(item.qubits[0]).index, circuit.find_bit(item.clbits[0]).index)
        for item in circuit.data
        if item.operation.name == "measure"
    ]
    state = Statevector(circuit.remove_final_measurements(inplace=False))
    probabilities = state.probabilities([qubit for qubit, _ in measured])
    distribution: dict[str, float] = {}
    width = circuit.num_clbits
    for outcome, probability in enumerate(probabilities):
        bits = ["0"] * width
        for position, (_, clbit) in enumerate(measured):
            bits[width - 1 - clbit] = "1" if outcome >> position & 1 else "0"
        key = "".join(bits)
        distribution[key] = distribution.get(key, 0.0) + float(probability)
    return distribution


def _check_sampler(pub: PlannedPub, body: dict[str, object], noisy: bool) -> None:
    registers = body["registers"]
    assert isinstance(registers, dict)
    (register,) = registers.values()  # every example measures into one register
    counts: dict[str, int] = register["counts"]
    total = sum(counts.values())
    bindings = _bound(pub)
    assert total == body["num_shots"] * len(bindings)
    expected: dict[str, float] = {}
    for circuit, _ in bindings:
        for key, probability in _exact_distribution(circuit).items():
            expected[key] = expected.get(key, 0.0) + probability / len(bindings)
    for key in set(expected) | set(counts):
        p = expected.get(key, 0.0)
        seen = counts.get(key, 0)
        if noisy:  # a fake backend's readout and gate errors move every outcome a little
            assert abs(seen / total - p) <= 5 * np.sqrt(p * (1 - p) / total) + 0.08, (key, p)
        else:
            # An exact binomial test: the normal approximation is too tight for rare
            # outcomes (a handful of counts where a fraction of one is expected).
            assert binomtest(seen, total, min(max(p, 0.0), 1.0)).pvalue > 1e-6, (key, seen, p)


def _broadcast_index(index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element of an array of ``shape`` that broadcasts to ``index``."""
    tail = index[len(index) - len(shape) :] if shape else ()
    return tuple(0 if size == 1 else position for position, size in zip(tail, shape, strict=False))


def _check_estimator(pub: PlannedPub, body: dict[str, object], noisy: bool) -> None:
    qiskit_pub = pub.pub
    evs = np.asarray(body["evs"])
    stds = np.asarray(body["stds"])
    assert evs.shape == tuple(pub.shape) == stds.shape
    observables = qiskit_pub.observables  # type: ignore[attr-defined]
    circuits = {index: circuit for circuit, index in _bound(pub)}
    parameter_shape = qiskit_pub.parameter_values.shape  # type: ignore[attr-defined]
    for index in np.ndindex(evs.shape):
        terms = observables[_broadcast_index(index, observables.shape)]
        operator = SparsePauliOp.from_list(list(terms.items()))
        circuit = circuits[_broadcast_index(index, parameter_shape)]
        exact = float(np.real(Statevector(circuit).expectation_value(operator)))
        if noisy:
            assert abs(evs[index] - exact) <= 0.25, (index, evs[index], exact)
        else:
            assert abs(evs[index] - exact) <= 5 * stds[index] + 1e-9, (index, evs[index], exact)


@pytest.mark.slow
class TestExamples:
    """If an example manifest runs, its counts and expectation values match exact ones."""

    @pytest.mark.parametrize("backend", ["aer", FAKE])
    @pytest.mark.parametrize("path", MANIFESTS, ids=[path.stem for path in MANIFESTS])
    def test_example_runs_and_agrees_with_exact_values(
        self, path: Path, backend: str, tmp_path: Path
    ) -> None:
        manifest = load_manifest(path)
        reason = _skip_reason(manifest)
        if reason is not None:
            pytest.skip(reason)
        report = run_manifest(_on(manifest, backend), output=tmp_path / "record")
        assert not report.outcome.failed and not report.outcome.interrupted
        document = json.loads((tmp_path / "record" / "results.json").read_text())
        planned_primitives = report.outcome.plan.primitives
        for planned, primitive in zip(planned_primitives, document["primitives"], strict=True):
            assert primitive["status"] == "DONE"
            for pub, body in zip(planned.pubs, primitive["pubs"], strict=True):
                if primitive["kind"] == "sampler":
                    _check_sampler(pub, body, noisy=backend != "aer")
                else:
                    _check_estimator(pub, body, noisy=backend != "aer")
        names = [primitive.name for primitive in report.outcome.plan.primitives]
        assert list(load_results(tmp_path / "record")) == names
