"""Manifests built directly from the model, for tests that do not go through YAML."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qrun.manifest.diagnostics import Issue
from qrun.manifest.model import (
    Backend,
    Circuit,
    Execution,
    Manifest,
    Metadata,
    Observable,
    Primitive,
    QasmSource,
    Transpile,
)

if TYPE_CHECKING:
    from pathlib import Path

BELL_QASM = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


@dataclass
class FakeSourceMap:
    """Positions from a table; a path not in it is at line 1, column 1."""

    file: str
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: str) -> tuple[int, int]:
        while path not in self.positions and ("." in path or "[" in path):
            path = path[: max(path.rfind("."), path.rfind("["))]
        return self.positions.get(path, (1, 1))

    def inner_position(self, path: str, line: int, column: int) -> tuple[int, int] | None:
        del path, line, column  # no literal blocks: positions point at the node
        return None

    def issue(self, path: str, message: str) -> Issue:
        line, column = self.position(path)
        return Issue(self.file, line, column, path, message)


def manifest(
    folder: Path,
    *,
    backend: Backend | None = None,
    circuits: dict[str, Circuit] | None = None,
    observables: dict[str, Observable] | None = None,
    primitives: tuple[Primitive, ...] = (),
    execution: Execution | None = None,
    transpile: Transpile | None = None,
    name: str = "test",
    positions: dict[str, tuple[int, int]] | None = None,
) -> Manifest:
    """A manifest as the loader would build it, with its text written to ``folder``."""
    file = folder / f"{name}.yaml"
    text = f"# {name}: built in a test\nqrun: 1\n"
    file.write_text(text, encoding="utf-8")
    return Manifest(
        version=1,
        file=file,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        source=FakeSourceMap(str(file), positions or {}),
        backend=backend or Backend(kind="aer", name="aer", path="$.backend"),
        metadata=Metadata(name=name),
        execution=execution or Execution(),
        transpile=transpile or Transpile(optimization_level=1, seed=7),
        circuits=circuits or {},
        observables=observables or {},
        primitives=primitives,
    )


def bell_circuit() -> Circuit:
    return Circuit("bell", QasmSource(BELL_QASM, 3), "$.circuits.bell")
