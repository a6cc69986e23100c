"""Circuits from QPY files: read through the manifest's folder, bounded, judged by their
header without Qiskit, and every failure of the loader reported at the file's place."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from qiskit import QuantumCircuit, qpy

from qrun.cli import main
from qrun.manifest.load import check, load_manifest
from qrun.manifest.model import QpySource
from qrun.manifest.source import MAX_BYTES

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def _circuits() -> list[QuantumCircuit]:
    zero = QuantumCircuit(2, 2, name="zero")
    zero.measure([0, 1], [0, 1])
    flipped = QuantumCircuit(2, 2, name="flipped")
    flipped.x(0)
    flipped.measure([0, 1], [0, 1])
    return [zero, flipped]


def _dump(path: Path, circuits: list[QuantumCircuit]) -> None:
    with path.open("wb") as stream:
        qpy.dump(circuits, stream)


def _manifest(folder: Path, circuit: str) -> Path:
    file = folder / "m.yaml"
    file.write_text(
        "qrun: 1\n"
        "backend: {name: aer}\n"
        "circuits:\n"
        f"  prepared: {circuit}\n"
        "primitives:\n"
        "  - sampler:\n"
        "    name: counts\n"
        "    options: {default_shots: 100, seed_simulator: 1}\n"
        "    pubs:\n"
        "      - circuit: prepared\n",
        encoding="utf-8",
    )
    return file


def _output(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return text


class TestQpyCircuits:
    """If a circuit names a QPY file, the circuit it chooses is the one that runs."""

    def test_the_chosen_index_runs(self, tmp_path: Path) -> None:
        _dump(tmp_path / "prepared.qpy", _circuits())
        file = _manifest(tmp_path, "{file: prepared.qpy, index: 1}")
        manifest = load_manifest(file)
        source = manifest.circuits["prepared"].source
        assert isinstance(source, QpySource)
        assert (source.index, source.count) == (1, 2)
        assert main([str(file), "-o", str(tmp_path / "r")]) == 0
        document = json.loads((tmp_path / "r" / "results.json").read_text())
        counts = document["primitives"][0]["pubs"][0]["registers"]["c"]["counts"]
        assert counts == {"01": 100}

    def test_the_first_circuit_by_default(self, tmp_path: Path) -> None:
        _dump(tmp_path / "prepared.qpy", _circuits())
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        assert main([str(file), "-o", str(tmp_path / "r")]) == 0
        document = json.loads((tmp_path / "r" / "results.json").read_text())
        assert document["primitives"][0]["pubs"][0]["registers"]["c"]["counts"] == {"00": 100}


class TestBadQpyFiles:
    """If a QPY file is wrong, validate or plan exits 1 at the file's place, no traceback."""

    def test_a_file_that_is_not_qpy(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "prepared.qpy").write_text("OPENQASM 3.0;\nqubit q;\n")
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        assert main(["validate", str(file)]) == 1
        assert (
            f"{file}:4:20: $.circuits.prepared.file: 'prepared.qpy' is not a QPY file: it "
            "does not start with the QPY header ('QISKIT')"
        ) in _output(capsys)

    def test_an_index_past_the_end(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _dump(tmp_path / "prepared.qpy", _circuits())
        file = _manifest(tmp_path, "{file: prepared.qpy, index: 2}")
        assert main(["validate", str(file)]) == 1
        assert (
            f"{file}:4:41: $.circuits.prepared.index: index 2 chooses past the end of "
            "'prepared.qpy', which holds 2 circuits (indices from 0)"
        ) in _output(capsys)

    def test_an_index_for_an_openqasm_file(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "bell.qasm").write_text("OPENQASM 3.0;\nqubit q;\n")
        file = _manifest(tmp_path, "{file: bell.qasm, index: 0}")
        assert main(["validate", str(file)]) == 1
        assert "$.circuits.prepared.index: `index` chooses a circuit of a QPY file" in _output(
            capsys
        )

    def test_a_negative_index(self, tmp_path: Path) -> None:
        _dump(tmp_path / "prepared.qpy", _circuits())
        (issue,) = check(_manifest(tmp_path, "{file: prepared.qpy, index: -1}"))
        assert issue.path == "$.circuits.prepared.index"

    def test_a_file_outside_the_folder(self, tmp_path: Path) -> None:
        _dump(tmp_path / "outside.qpy", _circuits())
        inner = tmp_path / "inner"
        inner.mkdir()
        (issue,) = check(_manifest(inner, "{file: ../outside.qpy}"))
        assert issue.path == "$.circuits.prepared.file"
        assert "leaves the manifest's folder" in issue.message

    def test_a_file_too_large(self, tmp_path: Path) -> None:
        with (tmp_path / "prepared.qpy").open("wb") as stream:
            stream.write(b"QISKIT")
            stream.truncate(MAX_BYTES + 1)
        (issue,) = check(_manifest(tmp_path, "{file: prepared.qpy}"))
        assert "is larger than 8 MiB" in issue.message

    def test_a_corrupt_body(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A valid header over garbage passes validate (which reads no more than the
        header) and is refused by plan, whatever the loader raised."""
        _dump(tmp_path / "good.qpy", _circuits())
        data = (tmp_path / "good.qpy").read_bytes()
        (tmp_path / "prepared.qpy").write_bytes(data[:40] + bytes(range(256)) * 4)
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        assert check(file) == []
        assert main(["plan", str(file)]) == 1
        text = _output(capsys)
        assert f"{file}:4:20: $.circuits.prepared.file: prepared.qpy is not a QPY file" in text

    def test_a_header_declaring_a_billion_qubits(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The circuit header's qubit count is the loader's to trust; a hostile one is
        refused in moments, not allocated."""
        import struct
        import time

        _dump(tmp_path / "good.qpy", _circuits()[:1])
        data = bytearray((tmp_path / "good.qpy").read_bytes())
        # file header (19 bytes), program type (1), circuit header length (8), then the
        # header: name size (2), phase type (1), phase size (2), qubits (4), clbits (4)
        struct.pack_into("!II", data, 19 + 1 + 8 + 5, 10**9, 10**9)
        (tmp_path / "prepared.qpy").write_bytes(bytes(data))
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        started = time.monotonic()
        assert main(["plan", str(file)]) == 1
        assert time.monotonic() - started < 5
        assert f"{file}:4:20: $.circuits.prepared.file: prepared.qpy" in _output(capsys)

    def test_a_truncated_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        _dump(tmp_path / "good.qpy", _circuits())
        (tmp_path / "prepared.qpy").write_bytes((tmp_path / "good.qpy").read_bytes()[:60])
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        assert main(["plan", str(file)]) == 1
        assert "prepared.qpy is not a QPY file this Qiskit can load" in _output(capsys)

    def test_a_circuit_over_the_qubit_limit(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wide = QuantumCircuit(6)
        wide.measure_all()
        _dump(tmp_path / "prepared.qpy", [wide])
        file = _manifest(tmp_path, "{file: prepared.qpy}")
        monkeypatch.setenv("QRUN_LIMIT_QUBITS", "5")
        assert main(["plan", str(file)]) == 1
        assert (
            "circuit 0 of prepared.qpy has 6 qubits or bits, more than the limit of 5"
            in _output(capsys)
        )
