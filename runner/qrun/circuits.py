"""Building Qiskit circuits from a manifest's ``circuits`` section.

A circuit comes from OpenQASM 2 or 3 text written in the manifest, from a ``.qasm``
file beside it, or from a function of ``qiskit.circuit.library``. What only Qiskit can
judge (QASM syntax, an unknown library function, arguments it rejects) becomes an
:class:`~qrun.diagnostics.Issue` at the circuit's place in the manifest.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qrun.model import JSON, Circuit, LibrarySource, QasmFileSource, QasmSource

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qrun.diagnostics import Issue
    from qrun.model import SourceMap

__all__ = ["CircuitError", "build_circuit", "build_circuits"]


class CircuitError(Exception):
    """Qiskit could not build a circuit; ``path`` is the manifest node to blame."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _plain(value: JSON) -> object:
    """Manifest values as Qiskit expects them: lists instead of tuples, dicts for mappings."""
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _from_qasm(text: str, version: int, path: str) -> QuantumCircuit:
    if version == 2:
        from qiskit import qasm2

        try:
            return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        except qasm2.QASM2Error as error:
            raise CircuitError(path, f"OpenQASM 2 does not parse: {error}") from error
    from qiskit import qasm3

    try:
        return qasm3.loads(text)
    except qasm3.QASM3Error as error:
        raise CircuitError(path, f"OpenQASM 3 does not parse: {error}") from error
    except Exception as error:
        raise CircuitError(path, f"OpenQASM 3 does not parse: {error}") from error


def _from_library(source: LibrarySource, path: str) -> QuantumCircuit:
    from qiskit import circuit
    from qiskit.circuit import QuantumCircuit, library

    function = getattr(library, source.function, None)
    if function is None or not callable(function) or source.function.startswith("_"):
        raise CircuitError(path, f"qiskit.circuit.library has no function {source.function!r}")
    arguments = {name: _plain(value) for name, value in source.arguments.items()}
    try:
        inspect.signature(function).bind(**arguments)
    except TypeError as error:
        raise CircuitError(path, f"{source.function}(): {error}") from error
    except ValueError:  # no signature available (a compiled function): let the call judge
        pass
    try:
        built = function(**arguments)
    except (TypeError, ValueError, circuit.CircuitError) as error:
        raise CircuitError(path, f"{source.function}() rejects its arguments: {error}") from error
    if not isinstance(built, QuantumCircuit):
        raise CircuitError(
            path, f"qiskit.circuit.library.{source.function} does not build a circuit"
        )
    return built


def build_circuit(circuit: Circuit) -> QuantumCircuit:
    """The Qiskit circuit ``circuit`` describes; raises :class:`CircuitError`."""
    source = circuit.source
    if isinstance(source, QasmSource):
        built = _from_qasm(source.text, source.version, f"{circuit.path}.qasm")
    elif isinstance(source, QasmFileSource):
        try:
            text = source.file.read_text(encoding="utf-8")
        except OSError as error:
            raise CircuitError(circuit.path, f"cannot read {source.file}: {error}") from error
        built = _from_qasm(text, source.version, circuit.path)
    else:
        built = _from_library(source, circuit.path)
    built.name = circuit.name
    if circuit.measure_all:
        built.measure_all()
    return built


def build_circuits(
    circuits: Mapping[str, Circuit], source: SourceMap, issues: list[Issue]
) -> dict[str, QuantumCircuit]:
    """Every circuit that builds; the others add an Issue to ``issues``."""
    built: dict[str, QuantumCircuit] = {}
    for name, circuit in circuits.items():
        try:
            built[name] = build_circuit(circuit)
        except CircuitError as error:
            issues.append(source.issue(error.path, error.message))
    return built
