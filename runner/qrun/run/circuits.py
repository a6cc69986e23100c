"""Building Qiskit circuits from a manifest's ``circuits`` section.

A circuit comes from OpenQASM 2 or 3 text written in the manifest, from a ``.qasm``
file beside it, or from a function of ``qiskit.circuit.library`` (whose size is estimated
from its arguments and held against the ``operations`` limit before it is built). What
only Qiskit can judge (QASM syntax, an unknown library function, arguments it rejects)
becomes an :class:`~qrun.manifest.diagnostics.Issue` at the circuit's place in the
manifest.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING

from qrun.manifest.diagnostics import Issue
from qrun.manifest.limits import Limits
from qrun.manifest.model import (
    Circuit,
    LibrarySource,
    QasmFileSource,
    QasmSource,
    QpySource,
    to_python,
)
from qrun.manifest.operator import sparse_pauli_op
from qrun.run.qpy import load_qpy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.model import SourceMap

__all__ = ["CircuitError", "build_circuit", "build_circuits", "estimated_operations"]


class CircuitError(Exception):
    """Qiskit could not build a circuit; ``path`` is the manifest node to blame and
    ``where`` the 1-based (line, column) inside the OpenQASM text, when the parser said."""

    def __init__(self, path: str, message: str, where: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.where = where


_QASM2_PLACE = re.compile(r"^'?<input>:(\d+),(\d+): (.*?)'?$", re.S)
_QASM3_PLACE = re.compile(r"^(\d+),(\d+): (.*)$", re.S)


def _qasm2_error(error: Exception, path: str) -> CircuitError:
    match = _QASM2_PLACE.match(str(error))
    if match is None:
        return CircuitError(path, f"OpenQASM 2 does not parse: {error}")
    line, column, reason = int(match[1]), int(match[2]) + 1, match[3]
    return CircuitError(path, f"OpenQASM 2 does not parse: {reason}", (line, column))


def _qasm3_error(error: Exception, text: str, path: str) -> CircuitError:
    """Find where the OpenQASM 3 parser or importer stopped.

    The parser's own exception has no message; the token it choked on travels in the
    exception it was raised from. The importer's messages start with ``line,offset``.
    """
    cause = error.__context__
    inner = cause.args[0] if cause is not None and cause.args else None
    token = getattr(inner, "offendingToken", None)
    if token is not None and isinstance(getattr(token, "line", None), int):
        seen = str(getattr(token, "text", "") or "")
        if seen in ("", "<EOF>"):  # point just after the last thing written
            rows = text.rstrip().splitlines() or [""]
            return CircuitError(
                path,
                "OpenQASM 3 syntax error: the text ends too early (a missing ';'?)",
                (len(rows), len(rows[-1]) + 1),
            )
        return CircuitError(
            path, f"OpenQASM 3 syntax error: unexpected {seen!r}", (token.line, token.column + 1)
        )
    match = _QASM3_PLACE.match(str(error).strip("'\""))
    if match is not None:
        line, offset, reason = int(match[1]), int(match[2]), match[3]
        line_start = text.rfind("\n", 0, offset) + 1
        return CircuitError(
            path, f"OpenQASM 3 does not load: {reason}", (line, offset - line_start + 1)
        )
    detail = str(error) or type(error).__name__
    return CircuitError(path, f"OpenQASM 3 does not parse: {detail}")


def _from_qasm(text: str, version: int, path: str) -> QuantumCircuit:
    if version == 2:
        from qiskit import qasm2

        try:
            return qasm2.loads(
                text, include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
            )
        except qasm2.QASM2Error as error:
            raise _qasm2_error(error, path) from error
    from qiskit import qasm3

    try:
        return qasm3.loads(text)
    except Exception as error:  # the parser raises plain Exception subclasses
        raise _qasm3_error(error, text, path) from error


#: Library functions of the ``n_local`` family: rotation layers between entangling ones.
_LAYERED = frozenset(
    {
        "efficient_su2",
        "real_amplitudes",
        "excitation_preserving",
        "pauli_two_design",
        "n_local",
        "EfficientSU2",
        "RealAmplitudes",
        "ExcitationPreserving",
        "PauliTwoDesign",
        "NLocal",
        "TwoLocal",
    }
)


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def estimated_operations(function: str, arguments: Mapping[str, object]) -> int:
    """About how many operations a library circuit holds once built and transpiled,
    judged from its arguments alone (so before anything is built).

    The width is the largest ``*qubit*`` or ``width`` argument, the layers the largest of
    ``depth`` and ``reps``. ``quantum_volume`` holds ``depth`` layers of ``width/2``
    two-qubit unitaries (each about ten gates once synthesised); a layered ansatz
    (``efficient_su2``, ``n_local``, ...) rotation layers of ``width`` gates between
    entangling layers of ``width`` gates, or ``width**2/2`` with full entanglement;
    anything else ``width`` per layer.
    """
    width = max(
        (
            _whole(value)
            for name, value in arguments.items()
            if "qubit" in name.lower() or name == "width"
        ),
        default=0,
    )
    if function in ("quantum_volume", "QuantumVolume"):
        depth = _whole(arguments.get("depth")) or width
        return 10 * depth * (width // 2)
    layers = max(_whole(arguments.get("depth")), _whole(arguments.get("reps")), 1)
    if function in _LAYERED:
        reps = _whole(arguments.get("reps")) or 3
        entanglement = arguments.get("entanglement", "full" if "local" in function.lower() else "")
        entangling = width * (width - 1) // 2 if entanglement == "full" else width
        return 2 * width * (reps + 1) + reps * entangling
    return width * layers


def _from_library(source: LibrarySource, path: str) -> QuantumCircuit:
    from qiskit import circuit
    from qiskit.circuit import QuantumCircuit, library

    function = getattr(library, source.function, None)
    if function is None or not callable(function) or source.function.startswith("_"):
        raise CircuitError(path, f"qiskit.circuit.library has no function {source.function!r}")
    arguments = {name: to_python(value) for name, value in source.arguments.items()}
    arguments.update({name: sparse_pauli_op(item) for name, item in source.observables.items()})
    try:
        inspect.signature(function).bind(**arguments)
    except TypeError as error:
        raise CircuitError(path, f"{source.function}(): {error}") from error
    except ValueError:  # no signature available (a compiled function): let the call judge
        pass
    limits = Limits.from_environment()
    too_large = limits.exceeded("operations", estimated_operations(source.function, arguments))
    if too_large is not None:
        raise CircuitError(path, f"{source.function}() would build about {too_large}")
    try:
        built = function(**arguments)
    except (TypeError, ValueError, circuit.CircuitError) as error:
        raise CircuitError(path, f"{source.function}() rejects its arguments: {error}") from error
    if not isinstance(built, QuantumCircuit):
        raise CircuitError(
            path, f"qiskit.circuit.library.{source.function} does not build a circuit"
        )
    too_large = limits.exceeded("operations", len(built.data))
    if too_large is not None:  # the estimate missed: refuse before transpiling it
        raise CircuitError(path, f"{source.function}() built {too_large}")
    return built


def build_circuit(circuit: Circuit) -> QuantumCircuit:
    """The Qiskit circuit ``circuit`` describes; raises :class:`CircuitError`."""
    source = circuit.source
    if isinstance(source, QasmSource):
        built = _from_qasm(source.text, source.version, f"{circuit.path}.qasm")
    elif isinstance(source, QasmFileSource):
        try:
            built = _from_qasm(source.text, source.version, circuit.path)
        except CircuitError as error:
            if error.where is None:
                raise
            line, column = error.where
            raise CircuitError(
                f"{circuit.path}.file", f"{source.file.name}:{line}:{column}: {error.message}"
            ) from error
    elif isinstance(source, QpySource):
        loaded, problem = load_qpy(source)
        if loaded is None:
            raise CircuitError(f"{circuit.path}.file", problem or "cannot load the QPY file")
        built = loaded.copy()
    else:
        built = _from_library(source, circuit.path)
    built.name = circuit.name
    if circuit.measure_all:
        built.measure_all()
    return built


def build_circuits(
    circuits: Mapping[str, Circuit],
    source: SourceMap,
    issues: list[Issue],
) -> dict[str, QuantumCircuit]:
    """Every circuit that builds; the others add an Issue to ``issues``.

    An error inside an inline OpenQASM block is reported at its own line and column of
    the manifest, not at the start of the block.
    """
    built: dict[str, QuantumCircuit] = {}
    for name, circuit in circuits.items():
        try:
            built[name] = build_circuit(circuit)
        except CircuitError as error:
            place = None
            if error.where is not None:
                place = source.inner_position(error.path, *error.where)
            if place is None:
                message = error.message
                if error.where is not None and error.path.endswith(".qasm"):
                    message += f" (OpenQASM line {error.where[0]}, column {error.where[1]})"
                issues.append(source.issue(error.path, message))
            else:
                issues.append(Issue(source.file, place[0], place[1], error.path, error.message))
    return built
