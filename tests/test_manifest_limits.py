"""Sizes a manifest asks for are held against documented limits before anything is built."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.manifest.limits import Limits

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "qrun: 1\nbackend: {name: aer}\n"
PARAMETRIC = """circuits:
  rotation:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      input float theta;
      qubit[1] q;
      bit[1] c;
      rx(theta) q[0];
      c = measure q;
primitives:
  - sampler:
    name: counts
    pubs:
      - circuit: rotation
        parameter_values: {values}
"""


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(HEADER + text, encoding="utf-8")
    code = main(["validate", str(manifest)])
    out = capsys.readouterr().out
    assert code == (1 if out else 0)
    return out.replace(f"{manifest}:", "")


def _library(width: int) -> str:
    return (
        f"circuits:\n  wide: {{library: efficient_su2, args: {{num_qubits: {width}}}}}\n"
        "primitives:\n  - sampler:\n    name: counts\n    pubs: [{circuit: wide}]\n"
    )


def _qasm(declaration: str, version: str) -> str:
    return (
        f"circuits:\n  wide:\n    qasm: |\n      OPENQASM {version};\n      {declaration}\n"
        "primitives:\n  - sampler:\n    name: counts\n    pubs: [{circuit: wide}]\n"
    )


class TestParameterSets:
    """If a PUB would bind more parameter sets than the limit, it is refused where the
    count is written."""

    def test_linspace(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        values = "{linspace: {start: 0, stop: 1, num: 1000000000}}"
        out = _validate(tmp_path, PARAMETRIC.format(values=values), capsys)
        assert out == (
            "18:63: $.primitives[0].pubs[0].parameter_values.linspace.num: 1,000,000,000 "
            "parameter sets, more than the limit of 1,000,000 for one PUB; set "
            "QRUN_LIMIT_PARAMETER_SETS to raise it\n"
        )

    def test_random_shape(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        values = "{random: {seed: 1, low: 0, high: 1, shape: [100000, 100000]}}"
        out = _validate(tmp_path, PARAMETRIC.format(values=values), capsys)
        assert "$.primitives[0].pubs[0].parameter_values.random.shape: 10,000,000,000 " in out
        assert "parameter sets, more than the limit of 1,000,000 for one PUB" in out

    def test_within_the_limit(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        values = "{linspace: {start: 0, stop: 1, num: 1000000}}"
        assert _validate(tmp_path, PARAMETRIC.format(values=values), capsys) == ""


class TestCircuitWidth:
    """If a circuit declares, or a library call asks for, more qubits than the limit, it
    is refused before it is parsed or built."""

    @pytest.mark.parametrize(
        ("declaration", "version"),
        [
            ('include "qelib1.inc"; qreg q[100000000];', "2.0"),
            ("qubit[1000000000] q;", "3.0"),
            ("bit[1000000000] c; qubit q;", "3.0"),
        ],
    )
    def test_openqasm_registers(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], declaration: str, version: str
    ) -> None:
        out = _validate(tmp_path, _qasm(declaration, version), capsys)
        assert out.startswith("5:11: $.circuits.wide.qasm: the program declares ")
        assert "qubits or bits, more than the limit of 1,024 for one circuit; set " in out

    def test_library_width(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        out = _validate(tmp_path, _library(100000), capsys)
        assert out == (
            "4:53: $.circuits.wide.args.num_qubits: 100,000 qubits or bits, more than the "
            "limit of 1,024 for one circuit; set QRUN_LIMIT_QUBITS to raise it\n"
        )

    def test_raised_by_the_environment(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRUN_LIMIT_QUBITS", "200000")
        assert _validate(tmp_path, _library(100000), capsys) == ""

    def test_a_wrong_setting_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRUN_LIMIT_QUBITS", "lots")
        (tmp_path / "m.yaml").write_text(HEADER, encoding="utf-8")
        assert main(["validate", str(tmp_path / "m.yaml")]) == 2
        assert "QRUN_LIMIT_QUBITS must be a whole number, got 'lots'" in capsys.readouterr().err


class TestDefaults:
    """If nothing is set, the documented defaults apply."""

    def test_defaults(self) -> None:
        assert Limits.from_environment({}) == Limits(qubits=1024, parameter_sets=1_000_000)


class TestOtherLibraryArguments:
    """If a library argument does not size the circuit (a seed), it is not a width."""

    def test_seed_is_not_a_width(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        text = _library(3).replace("num_qubits: 3", "num_qubits: 3, depth: 2, seed: 123456")
        text = text.replace("efficient_su2", "random_circuit")
        assert _validate(tmp_path, text, capsys) == ""


class TestNameLengths:
    """If a name is too long to name results or a record folder, validate says how long
    it may be, without repeating all of it."""

    def test_metadata_name(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        text = "metadata: {name: " + "b" * 300 + "}\n"
        out = _validate(tmp_path, text, capsys)
        assert out == "3:18: $.metadata.name: expected at most 100 characters, got 300\n"

    def test_circuit_name(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        name = "c" * 70
        out = _validate(tmp_path, _library(3).replace("wide", name), capsys)
        assert out.startswith(f"4:3: $.circuits.{name}: key '{name[:37]}...': expected at most 64")
