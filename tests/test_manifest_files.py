"""Files a manifest names: read once, only inside its folder, judged without a traceback."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.manifest import load_manifest
from qrun.providers.local import LocalProvider
from qrun.run.plan import make_plan

if TYPE_CHECKING:
    from pathlib import Path


GHZ = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
measure q -> c;
"""

MANIFEST = """qrun: 1
backend: {{name: aer}}
circuits:
  ghz: {{file: {file}}}
primitives:
  - sampler:
    name: counts
    pubs: [{{circuit: ghz}}]
"""


def _write(folder: Path, file: str = '"ghz.qasm"') -> Path:
    (folder / "ghz.qasm").write_text(GHZ, encoding="utf-8")
    manifest = folder / "m.yaml"
    manifest.write_text(MANIFEST.format(file=file), encoding="utf-8")
    return manifest


class TestWhatIsCheckedIsWhatRuns:
    """If a circuit file changes after the manifest was loaded, the run uses the text that
    was checked."""

    def test_file_changed_after_loading(self, tmp_path: Path) -> None:
        manifest = load_manifest(_write(tmp_path))
        (tmp_path / "ghz.qasm").write_text("not OpenQASM at all", encoding="utf-8")
        provider = LocalProvider()
        try:
            plan = make_plan(manifest, provider)
        finally:
            provider.shutdown()
        assert plan.primitives[0].pubs[0].circuit == "ghz"
        assert plan.circuits["ghz"].count_ops()["measure"] == 3


class TestFileReferencesJudged:
    """If a file reference cannot be read, validate names the place and the reason."""

    def _validate(self, manifest: Path, capsys: pytest.CaptureFixture[str]) -> str:
        assert main(["validate", str(manifest)]) == 1
        return capsys.readouterr().out

    def test_nul_character(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        out = self._validate(_write(tmp_path, '"ghz\\0.qasm"'), capsys)
        assert "$.circuits.ghz.file: a file name cannot contain a NUL character" in out

    def test_outside_the_folder(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        inner = tmp_path / "inner"
        inner.mkdir()
        out = self._validate(_write(inner, '"../ghz.qasm"'), capsys)
        assert "leaves the manifest's folder" in out

    def test_not_utf8(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        manifest = _write(tmp_path)
        (tmp_path / "ghz.qasm").write_bytes(b"OPENQASM 2.0;\n\xff\xfe")
        out = self._validate(manifest, capsys)
        assert "$.circuits.ghz.file: cannot read 'ghz.qasm': it is not UTF-8 text" in out


class TestSpecialFiles:
    """If a file reference names something other than a regular file inside the folder,
    validate refuses it from its metadata: nothing is opened, waited on or shown."""

    def _validate(self, manifest: Path, capsys: pytest.CaptureFixture[str]) -> str:
        assert main(["validate", str(manifest)]) == 1
        return capsys.readouterr().out

    def test_fifo_is_not_waited_on(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _write(tmp_path, '"pipe.qasm"')
        os.mkfifo(tmp_path / "pipe.qasm")  # no writer: opening it to read would block
        out = self._validate(manifest, capsys)
        assert "$.circuits.ghz.file: 'pipe.qasm' is a named pipe (FIFO), not a regular file" in out

    def test_symlink_out_of_the_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        inner = tmp_path / "inner"
        inner.mkdir()
        (tmp_path / "secret.qasm").write_text("OPENQASM 2.0; // TOP SECRET\n", "utf-8")
        manifest = _write(inner, '"link.qasm"')
        (inner / "link.qasm").symlink_to(tmp_path / "secret.qasm")
        out = self._validate(manifest, capsys)
        assert "$.circuits.ghz.file: 'link.qasm' leaves the manifest's folder" in out
        assert "SECRET" not in out

    def test_directory(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        manifest = _write(tmp_path, '"sub"')
        (tmp_path / "sub").mkdir()
        out = self._validate(manifest, capsys)
        assert "$.circuits.ghz.file: 'sub' is a directory, not a regular file" in out


INLINE = """qrun: 1
backend: {{name: aer}}
circuits:
  ghz:
    qasm: |
      OPENQASM {version};
      // include "commented.inc";
      include "{include}";
      qreg q[1];
primitives:
  - sampler:
    name: counts
    pubs: [{{circuit: ghz}}]
"""


class TestIncludes:
    """If OpenQASM includes a file other than its built-in standard one, the manifest is
    refused at the include, and nothing is read."""

    @pytest.mark.parametrize(
        ("version", "include", "standard"),
        [
            ("2.0", "/etc/passwd", "qelib1.inc"),
            ("2.0", "../x.inc", "qelib1.inc"),
            ("3.0", "qelib1.inc", "stdgates.inc"),
        ],
    )
    def test_inline_include_refused_at_its_line(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        version: str,
        include: str,
        standard: str,
    ) -> None:
        manifest = tmp_path / "m.yaml"
        manifest.write_text(INLINE.format(version=version, include=include), encoding="utf-8")
        assert main(["validate", str(manifest)]) == 1
        out = capsys.readouterr().out
        assert out == (
            f"{manifest}:8:7: $.circuits.ghz.qasm: include {include!r} is refused: OpenQASM "
            f"{version[0]} programs may include only {standard!r}, which is built in; a "
            "manifest reads no other file\n"
        )

    def test_include_in_a_file_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _write(tmp_path)
        (tmp_path / "ghz.qasm").write_text(
            GHZ.replace('include "qelib1.inc";', 'include "secret.inc";'), encoding="utf-8"
        )
        (tmp_path / "secret.inc").write_text("TOP SECRET\n", encoding="utf-8")
        out = self._validate(manifest, capsys)
        assert "$.circuits.ghz.file: ghz.qasm:2:1: include 'secret.inc' is refused" in out
        assert "SECRET" not in out.replace("secret", "")

    def _validate(self, manifest: Path, capsys: pytest.CaptureFixture[str]) -> str:
        assert main(["validate", str(manifest)]) == 1
        return capsys.readouterr().out


class TestUnusedCircuits:
    """If a circuit no PUB uses does not parse, planning says so at the circuit."""

    def test_unused_broken_circuit(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _write(tmp_path)
        text = manifest.read_text(encoding="utf-8").replace(
            "circuits:\n", "circuits:\n  spare: {qasm: 'OPENQASM 2.0; qreg q[1]; nope q[0];'}\n"
        )
        manifest.write_text(text, encoding="utf-8")
        assert main(["validate", str(manifest)]) == 0
        capsys.readouterr()
        assert main(["plan", str(manifest)]) == 1
        err = capsys.readouterr().err
        assert "$.circuits.spare.qasm: OpenQASM 2 does not parse" in err
