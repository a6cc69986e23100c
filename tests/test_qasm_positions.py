"""Errors inside OpenQASM text point at their own line of the manifest or file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import load_manifest
from qrun.providers.local import LocalProvider
from qrun.run.plan import make_plan

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HEAD = """\
qrun: 1
backend:
  name: aer
circuits:
  c:
"""
TAIL = """\
primitives:
  - sampler:
    name: counts
    pubs:
      - circuit: c
"""


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    chosen = LocalProvider()
    yield chosen
    chosen.shutdown()


def _issues(folder: Path, circuit: str, provider: LocalProvider) -> list[str]:
    manifest = folder / "m.yaml"
    manifest.write_text(HEAD + circuit + TAIL)
    with pytest.raises(ManifestError) as caught:
        make_plan(load_manifest(manifest), provider)
    return [f"{i.line}:{i.column} {i.path} {i.message}" for i in caught.value.issues]


class TestInlineQasm:
    """If inline OpenQASM does not parse, the issue is at the offending line of the
    manifest, not at the start of the block."""

    def test_qasm3_syntax_error(self, tmp_path: Path, provider: LocalProvider) -> None:
        block = (
            "    qasm: |\n"
            "      OPENQASM 3.0;\n"
            '      include "stdgates.inc";\n'
            "      qubit[2] q;\n"
            "      h q[0]\n"  # the missing ';' is seen at the next token, line 11
            "      cx q[0], q[1];\n"
            "      measure q;\n"
        )
        assert _issues(tmp_path, block, provider) == [
            "11:7 $.circuits.c.qasm OpenQASM 3 syntax error: unexpected 'cx'"
        ]

    def test_qasm3_unknown_name(self, tmp_path: Path, provider: LocalProvider) -> None:
        block = (
            "    qasm: |\n"
            "      OPENQASM 3.0;\n"
            '      include "stdgates.inc";\n'
            "      qubit[2] q;\n"
            "      h r[0];\n"
        )
        assert _issues(tmp_path, block, provider) == [
            "10:9 $.circuits.c.qasm OpenQASM 3 does not load: Undefined symbol 'r'."
        ]

    def test_qasm2_error(self, tmp_path: Path, provider: LocalProvider) -> None:
        block = (
            "    qasm: |\n"
            "      OPENQASM 2.0;\n"
            '      include "qelib1.inc";\n'
            "      qreg q[2];\n"
            "      cx q[0] q[1];\n"
        )
        (issue,) = _issues(tmp_path, block, provider)
        assert issue.startswith("10:7 $.circuits.c.qasm OpenQASM 2 does not parse: ")
        assert "argument list" in issue

    def test_quoted_text_falls_back_to_the_node_with_the_qasm_line(
        self, tmp_path: Path, provider: LocalProvider
    ) -> None:
        block = '    qasm: "OPENQASM 3.0;\\nqubit[2] q;\\nh q[0]\\nh q[1];\\n"\n'
        assert _issues(tmp_path, block, provider) == [
            "6:11 $.circuits.c.qasm OpenQASM 3 syntax error: unexpected 'h' "
            "(OpenQASM line 4, column 1)"
        ]


class TestQasmFile:
    """If a .qasm file does not parse, the issue names the file's own line and column."""

    def test_file_position_in_message(self, tmp_path: Path, provider: LocalProvider) -> None:
        (tmp_path / "broken.qasm").write_text(
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nx q[0]\nmeasure q;\n'
        )
        assert _issues(tmp_path, "    file: broken.qasm\n", provider) == [
            "6:11 $.circuits.c.file broken.qasm:5:1: OpenQASM 3 syntax error: unexpected 'measure'"
        ]
