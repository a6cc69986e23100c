"""Sparse observables: terms written with the qubits they act on, checked where written
and laid out to the transpiled circuit as dense ones are."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qrun.cli import main
from qrun.manifest.load import check, load_manifest
from qrun.manifest.operator import sparse_pauli_op
from qrun.providers.local import LocalProvider
from qrun.run.plan import make_plan
from qrun.workloads.exact import find_exact_minimum

if TYPE_CHECKING:
    from pathlib import Path

GHZ3 = """\
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[3] q;
      h q[0];
      cx q[0], q[1];
      cx q[1], q[2];
"""


def _manifest(observable: str, *, backend: str = "aer", extra: str = "") -> str:
    return (
        "qrun: 1\n"
        f"backend: {{name: {backend}}}\n"
        "transpile: {optimization_level: 1, seed: 5}\n"
        "circuits:\n  ghz:\n" + textwrap.indent(GHZ3, "  ") + "observables:\n"
        "  h:\n"
        + textwrap.indent(textwrap.dedent(observable).rstrip("\n") + "\n", "    ")
        + extra
        + "primitives:\n"
        "  - estimator:\n    name: e\n    options: {default_precision: 0.01, seed_simulator: 3}\n"
        "    pubs:\n      - {circuit: ghz, observables: h}\n"
    )


SPARSE = """\
num_qubits: 3
terms:
  - [ZZ, [0, 2], 0.5]
  - [X, [1], -2.0]
"""


def _write(folder: Path, text: str) -> Path:
    file = folder / "m.yaml"
    file.write_text(text, encoding="utf-8")
    return file


class TestTheSparseForm:
    """If an observable is written sparsely, it is the same operator as written densely."""

    def test_equals_the_dense_form(self, tmp_path: Path) -> None:
        manifest = load_manifest(_write(tmp_path, _manifest(SPARSE)))
        operator = sparse_pauli_op(manifest.observables["h"])
        expected = SparsePauliOp.from_list([("ZIZ", 0.5), ("IXI", -2.0)])
        assert operator.equiv(expected)
        assert manifest.observables["h"].num_qubits == 3

    def test_dense_forms_go_through_the_same_builder(self, tmp_path: Path) -> None:
        manifest = load_manifest(_write(tmp_path, _manifest("{ZIZ: 0.5, IXI: -2.0, III: 1}")))
        operator = sparse_pauli_op(manifest.observables["h"])
        expected = SparsePauliOp.from_list([("ZIZ", 0.5), ("IXI", -2.0), ("III", 1.0)])
        assert operator.equiv(expected)

    def test_laid_out_to_the_transpiled_circuit(self, tmp_path: Path) -> None:
        """On a 5-qubit device the observable follows its virtual qubits to the physical
        ones the transpiler chose, as a dense observable does."""
        sparse = load_manifest(_write(tmp_path, _manifest(SPARSE, backend="fake_manila")))
        dense_file = tmp_path / "dense.yaml"
        dense_file.write_text(_manifest("{ZIZ: 0.5, IXI: -2.0}", backend="fake_manila"))
        dense = load_manifest(dense_file)
        provider = LocalProvider()
        ours = make_plan(sparse, provider).primitives[0].pubs[0].pub
        theirs = make_plan(dense, provider).primitives[0].pubs[0].pub
        ours_op = ours.observables[()]  # type: ignore[attr-defined]
        theirs_op = theirs.observables[()]  # type: ignore[attr-defined]
        assert ours_op == theirs_op
        assert len(next(iter(ours_op))) == 5  # the device's width

    def test_runs_to_the_exact_value(self, tmp_path: Path) -> None:
        """<ZZ on 0,2> of a GHZ state is 1 and <X on 1> is 0: 0.5 in all."""
        file = _write(tmp_path, _manifest(SPARSE))
        assert main([str(file), "-o", str(tmp_path / "r")]) == 0
        import json

        document = json.loads((tmp_path / "r" / "results.json").read_text())
        pub = document["primitives"][0]["pubs"][0]
        assert abs(pub["evs"] - 0.5) <= 5 * pub["stds"] + 1e-9

    def test_exact_minimum_of_a_sparse_observable(self, tmp_path: Path) -> None:
        manifest = load_manifest(_write(tmp_path, _manifest(SPARSE)))
        # ZZ and X on different qubits commute: the minimum is -0.5 - 2.
        assert find_exact_minimum(manifest.observables["h"]).value == pytest.approx(-2.5)


BAD = [
    (
        "num_qubits: 3\nterms:\n  - [ZZ, [0, 3], 1.0]\n",
        "17:18: $.observables.h.terms[0][1][1]: qubit 3 is outside the observable's 3 qubits",
    ),
    (
        "num_qubits: 3\nterms:\n  - [ZZ, [1, 1], 1.0]\n",
        "17:18: $.observables.h.terms[0][1][1]: qubit 1 is listed twice",
    ),
    (
        "num_qubits: 3\nterms:\n  - [ZZZ, [0, 1], 1.0]\n",
        "17:15: $.observables.h.terms[0][1]: 'ZZZ' has 3 letters but 2 qubits are listed",
    ),
    (
        "num_qubits: 3\nterms:\n  - [ZQ, [0, 1], 1.0]\n",
        "17:10: $.observables.h.terms[0][0]: expected Pauli letters (I, X, Y, Z) first, got 'ZQ'",
    ),
    (
        "num_qubits: 3\nterms:\n  - [Z, [0], 1" + "0" * 400 + "]\n",
        "17:18: $.observables.h.terms[0][2]: a number written with 401 characters",
    ),
    (
        "num_qubits: 3\nterms:\n  - [Z, [0], .nan]\n",
        "17:18: $.observables.h.terms[0][2]: numbers must be finite",
    ),
    (
        "num_qubits: 5000\nterms:\n  - [Z, [0], 1.0]\n",
        "15:17: $.observables.h.num_qubits: 5,000 qubits or bits, more than the limit of 1,024",
    ),
    (
        "num_qubits: 3\nterms: [[Z, 0, 1.0]]\n",
        "$.observables.h.terms[0][1]: expected the list of qubits the letters act on second",
    ),
    (
        "num_qubits: three\nterms: [[Z, [0], 1.0]]\n",
        "15:17: $.observables.h.num_qubits: expected an integer",
    ),
    ("num_qubits: 3\nterms: [[Z, [0], 1.0]]\nextra: 1\n", "$.observables.h"),
]


class TestBadSparseObservables:
    """If a sparse observable is wrong, validate exits 1 naming file:line:col and the
    JSON path, without a traceback."""

    @pytest.mark.parametrize(("observable", "expected"), BAD)
    def test_refused_at_its_place(
        self, observable: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = _write(tmp_path, _manifest(observable))
        assert main(["validate", str(file)]) == 1
        captured = capsys.readouterr()
        output = captured.out + captured.err
        assert f"{file}:" in output and expected in output, output
        assert "Traceback" not in output

    def test_wider_than_its_circuit_at_plan(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = _write(tmp_path, _manifest("num_qubits: 4\nterms: [[Z, [3], 1.0]]\n"))
        assert check(file) == []
        assert main(["plan", str(file)]) == 1
        err = capsys.readouterr().err
        assert "observable 'h' acts on 4 qubits but circuit 'ghz' has 3" in err


class TestExactMinimumNeverCrashes:
    """If an observable cannot be diagonalised cheaply and finitely, the reference is
    skipped with the reason, and planning goes on."""

    def test_extreme_coefficients(self, tmp_path: Path) -> None:
        manifest = load_manifest(
            _write(tmp_path, _manifest("{ZZZ: 1.0e+308, XXX: 1.0e+308, YYY: -1.0e+308}"))
        )
        found = find_exact_minimum(manifest.observables["h"])
        assert found.value is None or np.isfinite(found.value)
        if found.value is None:
            assert found.skipped is not None and "h" in found.skipped

    def test_too_wide_is_skipped_and_says_so(self, tmp_path: Path) -> None:
        manifest = load_manifest(
            _write(tmp_path, _manifest("num_qubits: 40\nterms: [[Z, [39], 1.0]]\n"))
        )
        found = find_exact_minimum(manifest.observables["h"])
        assert found.value is None
        assert found.skipped == (
            "no exact minimum: observable 'h' acts on 40 qubits, more than the 10 "
            "diagonalised exactly"
        )
