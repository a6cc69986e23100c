"""Memory bounds of local runs: what a simulation would need is checked before any job,
and a library circuit too large to build is refused before it is built."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main

if TYPE_CHECKING:
    from pathlib import Path

GHZ = """\
qrun: 1
metadata: {{name: ghz}}
backend:
  name: {backend}
{options}
circuits:
  ghz:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[{width}] q;
      h q[0];
{body}
    measure_all: true
primitives:
  - sampler:
    name: counts
    options: {{default_shots: 100, seed_simulator: 2}}
    pubs:
      - circuit: ghz
"""

LIBRARY = """\
qrun: 1
metadata: {{name: library}}
backend: {{name: aer}}
circuits:
  big:
    library: {function}
    args: {args}
    measure_all: true
primitives:
  - sampler:
    name: counts
    pubs:
      - circuit: big
"""


def _ghz(folder: Path, width: int, options: str = "", backend: str = "aer") -> Path:
    body = "\n".join(f"      cx q[{i}], q[{i + 1}];" for i in range(width - 1))
    path = folder / "ghz.yaml"
    path.write_text(
        GHZ.format(backend=backend, options=options, width=width, body=body or "      id q[0];")
    )
    return path


class TestSimulationMemoryIsCheckedBeforeTheFirstJob:
    """If a circuit's simulation would not fit in memory, plan and run refuse it at the
    circuit with the estimate, the memory available and a method that fits."""

    def test_a_40_qubit_statevector_is_refused_with_a_method_that_fits(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _ghz(tmp_path, 40, "  options: {method: statevector}")
        for command in (["plan", str(path)], ["run", str(path), "-o", str(tmp_path / "r")]):
            assert main(command) == 1
            err = capsys.readouterr().err
            assert "ghz.yaml:8:5: $.circuits.ghz: circuit 'ghz' touches 40 qubits: " in err
            assert "the statevector method needs about 16.0 TiB, more than the " in err
            assert "GiB available)" in err
            assert "the stabilizer method would fit: set backend.options.method: stabilizer" in (
                err
            )
            assert "Traceback" not in err
        assert not (tmp_path / "r").exists()  # nothing was submitted

    def test_a_density_matrix_over_a_memory_cap_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        options = "  options: {method: density_matrix, max_memory_mb: 1}"
        path = _ghz(tmp_path, 12, options)  # 16 * 4**12 bytes = 256 MiB
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        assert "the density_matrix method needs about 256.0 MiB, more than the 1.0 MiB" in err
        assert "(max_memory_mb;" in err
        assert "the statevector method would fit" not in err  # 64 KiB: it would, but Clifford
        assert "the stabilizer method would fit" in err

    def test_a_non_clifford_circuit_too_entangled_for_any_method(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # 40 qubits, every pair entangled by a controlled phase: no method fits.
        body = "\n".join(
            f"      cp(0.3) q[{i}], q[{j}];" for i in range(40) for j in range(i + 1, 40)
        )
        path = tmp_path / "dense.yaml"
        path.write_text(
            GHZ.format(backend="aer", options="", width=40, body=body).replace(
                "      h q[0];\n", "      h q;\n"
            )
        )
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        assert "the matrix_product_state method needs about " in err
        assert "no method would fit: simulate fewer qubits, or cap " in err

    def test_automatic_choice_and_estimate_are_recorded(self, tmp_path: Path) -> None:
        path = _ghz(tmp_path, 8)
        assert main(["run", str(path), "-o", str(tmp_path / "r")]) == 0
        run = json.loads((tmp_path / "r" / "run.json").read_text())
        simulator = run["backend"]["simulator"]
        assert simulator["circuits"]["ghz"] == {
            "device_qubits": 8,
            "simulated_qubits": 8,
            "method": "automatic",
            "method_chosen_by": "qrun",
            "estimated_bytes": 16 * 2**8,
        }
        assert simulator["memory_budget_bytes"] > 0

    def test_a_wide_circuit_on_a_fake_backend_is_estimated_on_its_touched_qubits(
        self, tmp_path: Path
    ) -> None:
        path = _ghz(tmp_path, 4, backend="fake_kyiv")
        assert main(["run", str(path), "-o", str(tmp_path / "r")]) == 0
        run = json.loads((tmp_path / "r" / "run.json").read_text())
        circuit = run["backend"]["simulator"]["circuits"]["ghz"]
        assert circuit["device_qubits"] == 127
        assert len(circuit["simulated_qubits"]) == 4
        assert circuit["estimated_bytes"] == 16 * 2**4


class TestLibraryCircuitsAreSizedBeforeTheyAreBuilt:
    """If a library circuit's arguments would build a huge circuit, plan refuses it
    within moments, naming the limit and how to raise it."""

    @pytest.mark.parametrize(
        ("function", "args", "estimate"),
        [
            # (depth and reps left to their defaults: the area limit judges those written)
            ("quantum_volume", "{num_qubits: 1000}", "5,000,000"),
            ("efficient_su2", "{num_qubits: 1000, entanglement: full}", "1,506,500"),
            ("real_amplitudes", "{num_qubits: 800, reps: 2, entanglement: full}", "644,000"),
        ],
    )
    def test_refused_quickly(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        function: str,
        args: str,
        estimate: str,
    ) -> None:
        path = tmp_path / "library.yaml"
        path.write_text(LIBRARY.format(function=function, args=args))
        started = time.perf_counter()
        assert main(["plan", str(path)]) == 1
        assert time.perf_counter() - started < 5
        err = capsys.readouterr().err
        assert f"library.yaml:6:5: $.circuits.big: {function}() would build about " in err
        assert f"{estimate} operations (estimated), more than the limit of 250,000 " in err
        assert "set QRUN_LIMIT_OPERATIONS to raise it" in err

    def test_written_layers_are_judged_by_area_at_validate(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "library.yaml"
        path.write_text(
            LIBRARY.format(function="quantum_volume", args="{num_qubits: 1000, depth: 1000}")
        )
        assert main(["validate", str(path)]) == 1
        out = capsys.readouterr().out
        assert "library.yaml:7:11: $.circuits.big.args: 1,000,000 qubits × layers" in out
        assert "set QRUN_LIMIT_LIBRARY_AREA to raise it" in out

    def test_the_limit_can_be_lowered(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "library.yaml"
        path.write_text(LIBRARY.format(function="quantum_volume", args="{num_qubits: 4}"))
        assert main(["plan", str(path)]) == 0
        capsys.readouterr()
        monkeypatch.setenv("QRUN_LIMIT_OPERATIONS", "10")
        assert main(["plan", str(path)]) == 1
        assert "about 80 operations (estimated), more than the limit of 10" in (
            capsys.readouterr().err
        )
