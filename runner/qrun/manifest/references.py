"""Checks the schema cannot express, done without Qiskit or NumPy.

Every circuit and observable a PUB, workload or library argument names must exist;
primitive and workload names must be unique; durations must parse and be positive; files
must exist inside the manifest's folder and start with an OpenQASM header or be QPY
files; observables' terms must act on the same number of qubits (or, written sparsely,
on distinct qubits below their width); generated values must have a sensible range;
parameter values taken from a workload must name one written before the step.

The checks run even when the schema found problems, so they are written defensively:
a value of the wrong type is skipped here (the schema has already reported it).
"""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING

from qrun.manifest.diagnostics import Issue
from qrun.manifest.duration import DurationError, parse_duration
from qrun.manifest.jsonpath import child as child_path
from qrun.manifest.options import check_options
from qrun.manifest.qasm import STANDARD_INCLUDES, declared_width, header_version, includes
from qrun.manifest.qpy import is_qpy_name, read_header

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from qrun.manifest.limits import Limits
    from qrun.manifest.source import Folder, YamlSourceMap

__all__ = ["check_references"]

#: Arguments of library circuits that size the circuit (besides any ``*qubit*`` one).
_SIZE_ARGUMENTS = frozenset({"width", "depth", "reps"})
_PAULI = re.compile(r"[IXYZ]+\Z")
_LOCAL_BACKEND = re.compile(r"(aer|fake_.*)\Z")
#: Most axes an array of parameter values or observables may have (NumPy's limit).
_MAX_DIMENSIONS = 32


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _sequence(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _whole(value: object) -> int | None:
    """``value`` as a whole number (``3`` or ``3.0``), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    """A number a float can hold (an integer of many digits cannot)."""
    try:
        return _is_number(value) and math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:
        return False


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


class _References:
    def __init__(
        self, data: dict[str, object], source: YamlSourceMap, folder: Folder, limits: Limits
    ) -> None:
        self.data = data
        self.source = source
        self.folder = folder
        self.limits = limits
        self.circuits = _mapping(data.get("circuits"))
        self.observables = _mapping(data.get("observables"))
        # Where each workload is written, for references to workloads from later steps.
        self.workload_paths: dict[str, str] = {}
        for index, workload in enumerate(_sequence(data.get("workloads"))):
            name = _mapping(workload).get("name")
            if isinstance(name, str):
                self.workload_paths.setdefault(name, child_path("$.workloads", index))
        self.primitive_names = {
            name
            for primitive in _sequence(data.get("primitives"))
            if isinstance(name := _mapping(primitive).get("name"), str)
        }

    def issue(self, path: str, message: str) -> Issue:
        return self.source.issue(path, message)

    def all(self) -> Iterator[Issue]:
        yield from self.backend()
        yield from self.execution()
        yield from self.circuit_sources()
        yield from self.observable_terms()
        yield from self.primitives()
        yield from self.workloads()
        yield from check_options(self.data, self.source, self.limits)
        yield from self.unique_names()

    def backend(self) -> Iterator[Issue]:
        backend = _mapping(self.data.get("backend"))
        name = backend.get("name")
        if "options" in backend and not (isinstance(name, str) and _LOCAL_BACKEND.match(name)):
            yield self.issue(
                "$.backend.options",
                "simulator options apply only to local backends (aer, fake_<name>)",
            )

    def execution(self) -> Iterator[Issue]:
        max_time = _mapping(self.data.get("execution")).get("max_time")
        if isinstance(max_time, (str, int, float)) and not isinstance(max_time, bool):
            try:
                parse_duration(max_time)
            except DurationError as error:
                yield self.issue("$.execution.max_time", str(error))

    def circuit_sources(self) -> Iterator[Issue]:
        for name, circuit in self.circuits.items():
            path = child_path("$.circuits", name)
            circuit = _mapping(circuit)
            qasm = circuit.get("qasm")
            if isinstance(qasm, str):
                yield from self.qasm_text(child_path(path, "qasm"), qasm, None)
            file = circuit.get("file")
            qpy = isinstance(file, str) and is_qpy_name(file)
            if isinstance(file, str):
                file_path = child_path(path, "file")
                if qpy:
                    yield from self.qpy_file(file_path, file, circuit.get("index"), path)
                else:
                    found, problem = self.folder.read(file)
                    if found is None:
                        yield self.issue(file_path, problem or "cannot read the file")
                    else:
                        yield from self.qasm_text(file_path, found.text, file)
            if "index" in circuit and not qpy:
                yield self.issue(
                    child_path(path, "index"),
                    "`index` chooses a circuit of a QPY file (`file: <name>.qpy`) only",
                )
            if "args" in circuit and "library" not in circuit:
                yield self.issue(child_path(path, "args"), "`args` go with `library` circuits only")
            args = _mapping(circuit.get("args"))
            for key, value in args.items():
                key_path = child_path(child_path(path, "args"), key)
                if "qubit" in key or key in _SIZE_ARGUMENTS:
                    yield from self.size(key_path, [value], "qubits")
                reference = _mapping(value).get("observable")
                if isinstance(reference, str) and reference not in self.observables:
                    yield self.issue(
                        child_path(key_path, "observable"),
                        _unknown("observable", reference, self.observables),
                    )
            yield from self.library_area(child_path(path, "args"), args)

    def library_area(self, path: str, args: dict[str, object]) -> Iterator[Issue]:
        """A library circuit's width times its layers, when each is within its own limit."""
        widths = [
            width
            for key, value in args.items()
            if ("qubit" in key or key == "width") and (width := _whole(value)) is not None
        ]
        layers = [_whole(args.get(key)) for key in ("depth", "reps") if key in args]
        if not widths or not layers or any(item is None for item in layers):
            return
        if self.limits.exceeded("qubits", max(widths)) is None:
            yield from self.size(path, [max(widths), *layers], "library_area")

    def qpy_file(self, path: str, file: str, index: object, circuit_path: str) -> Iterator[Issue]:
        """A QPY file: inside the folder, within the size limit, with a QPY header, and
        holding the circuit ``index`` chooses."""
        found, problem = self.folder.read_bytes(file)
        if found is None:
            yield self.issue(path, problem or "cannot read the file")
            return
        header = read_header(found[1])
        if header is None:
            yield self.issue(
                path,
                f"{file!r} is not a QPY file: it does not start with the QPY header "
                "('QISKIT'); write it with qiskit.qpy.dump, or name OpenQASM files .qasm",
            )
            return
        if header.count == 0:
            yield self.issue(path, f"{file!r} holds no circuit")
            return
        chosen = index if isinstance(index, int) and not isinstance(index, bool) else 0
        if chosen >= header.count:
            yield self.issue(
                child_path(circuit_path, "index"),
                f"index {chosen} chooses past the end of {file!r}, which holds "
                f"{_count(header.count, 'circuit')} (indices from 0)",
            )

    def qasm_text(self, path: str, text: str, file: str | None) -> Iterator[Issue]:
        """The header of OpenQASM ``text`` (written at ``path``, or in ``file``), and its
        includes: only the version's standard include file, which is built in."""
        version = header_version(text)
        if version is None:
            yield self.issue(
                path,
                "OpenQASM must start with a version header, 'OPENQASM 2.0;' or 'OPENQASM 3.0;'",
            )
            return
        if version not in STANDARD_INCLUDES:
            yield self.issue(path, f"OpenQASM {version} is not supported; use version 2 or 3")
            return
        too_wide = self.limits.exceeded("qubits", declared_width(text))
        if too_wide:
            yield self.issue(path, f"the program declares {too_wide}")
        standard = STANDARD_INCLUDES[version]
        for include in includes(text):
            if include.name == standard:
                continue
            message = (
                f"include {include.name!r} is refused: OpenQASM {version} programs may include "
                f"only {standard!r}, which is built in; a manifest reads no other file"
            )
            if file is not None:
                yield self.issue(path, f"{file}:{include.line}:{include.column}: {message}")
                continue
            place = self.source.inner_position(path, include.line, include.column)
            if place is None:
                message += f" (OpenQASM line {include.line}, column {include.column})"
                yield self.issue(path, message)
            else:
                yield Issue(self.source.file, place[0], place[1], path, message)

    def observable_terms(self) -> Iterator[Issue]:
        for name, observable in self.observables.items():
            path = child_path("$.observables", name)
            terms: list[tuple[str, str]] = []  # (pauli, path of the term)
            if isinstance(observable, dict) and (
                "terms" in observable or "num_qubits" in observable
            ):
                yield from self.sparse_terms(path, observable)
                continue
            if isinstance(observable, dict):
                terms = [(str(p), child_path(path, str(p))) for p in observable]
            for index, pair in enumerate(_sequence(observable)):
                pair_path = child_path(path, index)
                if not isinstance(pair, list) or len(pair) != 2:
                    continue  # the schema reports the shape
                pauli, coefficient = pair
                if not isinstance(pauli, str) or not _PAULI.match(pauli):
                    yield self.issue(
                        child_path(pair_path, 0),
                        f"expected a Pauli string of I, X, Y, Z first, got {pauli!r}",
                    )
                    continue
                if not _is_finite(coefficient):
                    yield self.issue(
                        child_path(pair_path, 1),
                        f"expected a finite number as the coefficient, got {coefficient!r}",
                    )
                terms.append((pauli, pair_path))
            if terms:
                width = len(terms[0][0])
                too_wide = self.limits.exceeded("qubits", width)
                if too_wide:
                    yield self.issue(terms[0][1], f"the observable acts on {too_wide}")
                    continue
                for pauli, term_path in terms[1:]:
                    if len(pauli) != width:
                        yield self.issue(
                            term_path,
                            f"{pauli!r} acts on {len(pauli)} qubits but {terms[0][0]!r} on "
                            f"{width}; all terms of an observable have the same width",
                        )

    def sparse_terms(self, path: str, observable: dict[str, object]) -> Iterator[Issue]:
        """Terms written with their qubits: letters of I, X, Y, Z, one distinct qubit per
        letter below ``num_qubits``, a finite coefficient; the width within the limit."""
        declared = observable.get("num_qubits")
        width = declared if isinstance(declared, int) and not isinstance(declared, bool) else 0
        if width > 0:
            yield from self.size(child_path(path, "num_qubits"), [width], "qubits")
        for index, term in enumerate(_sequence(observable.get("terms"))):
            term_path = child_path(child_path(path, "terms"), index)
            if not isinstance(term, list) or len(term) != 3:
                continue  # the schema reports the shape
            letters, qubits, coefficient = term
            if not isinstance(letters, str) or not _PAULI.match(letters):
                yield self.issue(
                    child_path(term_path, 0),
                    f"expected Pauli letters (I, X, Y, Z) first, got {letters!r}",
                )
            if not isinstance(qubits, list) or not all(
                isinstance(q, int) and not isinstance(q, bool) for q in qubits
            ):
                yield self.issue(
                    child_path(term_path, 1),
                    f"expected the list of qubits the letters act on second, got {qubits!r}",
                )
            elif isinstance(letters, str) and len(qubits) != len(letters):
                yield self.issue(
                    child_path(term_path, 1),
                    f"{letters!r} has {_count(len(letters), 'letter')} but "
                    f"{_count(len(qubits), 'qubit')} {'are' if len(qubits) != 1 else 'is'} "
                    "listed; name one qubit per letter",
                )
            else:
                seen: set[int] = set()
                for at, qubit in enumerate(qubits):
                    qubit_path = child_path(child_path(term_path, 1), at)
                    if qubit in seen:
                        yield self.issue(
                            qubit_path,
                            f"qubit {qubit} is listed twice; each letter acts on its own",
                        )
                    elif width > 0 and not 0 <= qubit < width:
                        yield self.issue(
                            qubit_path,
                            f"qubit {qubit} is outside the observable's {width} qubits "
                            f"(0 to {width - 1}); raise num_qubits or fix the index",
                        )
                    seen.add(qubit)
            if not _is_finite(coefficient):
                yield self.issue(
                    child_path(term_path, 2),
                    f"expected a finite number as the coefficient, got {coefficient!r}",
                )

    def circuit_name(self, path: str, name: object) -> Iterator[Issue]:
        if isinstance(name, str) and name not in self.circuits:
            yield self.issue(path, _unknown("circuit", name, self.circuits))

    def observable_list(self, path: str, names: object) -> Iterator[Issue]:
        """A PUB's observables: names in nested lists of at most a few axes."""
        if isinstance(names, list):
            yield from self.dimensions(path, names, "observables")
        yield from self.observable_names(path, names)

    def observable_names(self, path: str, names: object) -> Iterator[Issue]:
        if isinstance(names, str):
            if names not in self.observables:
                yield self.issue(path, _unknown("observable", names, self.observables))
        elif isinstance(names, list):
            for index, item in enumerate(names):
                yield from self.observable_names(child_path(path, index), item)
            yield from self.rectangular(path, names, "observables")

    def rectangular(self, path: str, values: list[object], what: str) -> Iterator[Issue]:
        """Nested lists must form an array: every row at one depth has the same length."""
        rows = [row for row in values if isinstance(row, list)]
        if rows and len(rows) != len(values):
            yield self.issue(path, f"{what} mix lists and single values at the same depth")
        elif rows and len({len(row) for row in rows}) > 1:
            lengths = ", ".join(str(len(row)) for row in rows)
            yield self.issue(path, f"{what} rows differ in length ({lengths}); they must match")

    def dimensions(self, path: str, values: list[object], what: str) -> Iterator[Issue]:
        """Nested lists are an array of at most :data:`_MAX_DIMENSIONS` axes."""
        depth, level = 0, [values]
        while level:
            depth += 1
            level = [item for row in level for item in row if isinstance(item, list)]
        if depth > _MAX_DIMENSIONS:
            yield self.issue(
                path, f"{what} nest {depth} lists deep; an array has at most {_MAX_DIMENSIONS} axes"
            )

    def parameter_values(self, path: str, values: object, step: str) -> Iterator[Issue]:
        if isinstance(values, list):
            yield from self.dimensions(path, values, "parameter values")
            yield from self.nested_numbers(path, values)
        generator = _mapping(values)
        source = generator.get("from")
        if isinstance(source, str):
            yield from self.earlier_workload(child_path(path, "from"), source, step)
        linspace_path = child_path(path, "linspace")
        yield from self.linspace_range(linspace_path, generator.get("linspace"))
        num = _mapping(generator.get("linspace")).get("num")
        yield from self.size(child_path(linspace_path, "num"), [num], "parameter_sets")
        random = generator.get("random")
        random_path = child_path(path, "random")
        yield from self.random_range(random_path, random)
        shape = _sequence(_mapping(random).get("shape"))
        yield from self.size(child_path(random_path, "shape"), shape, "parameter_sets")

    def earlier_workload(self, path: str, name: str, step: str) -> Iterator[Issue]:
        """``name`` is a workload written before ``step`` (the primitive that takes its
        point): steps run in manifest order, so a step can wait only for an earlier one."""
        source = self.workload_paths.get(name)
        if source is None:
            if name in self.primitive_names:
                yield self.issue(
                    path,
                    f"{name!r} is a primitive; parameter values come only from a workload's "
                    "result (its best or final point)",
                )
            else:
                yield self.issue(path, _unknown("workload", name, self.workload_paths))
            return
        written, here = self.source.position(source), self.source.position(step)
        if written > here:
            yield self.issue(
                path,
                f"workload {name!r} is written at {written[0]}:{written[1]}, after this step "
                f"({here[0]}:{here[1]}); steps run in manifest order, so a step can take "
                "values only from a workload written before it"
                + (" (put `workloads:` before `primitives:`)" if "primitives" in step else ""),
            )

    def size(self, path: str, factors: list[object], limit: str) -> Iterator[Issue]:
        """The product of ``factors`` (whole numbers, ``3.0`` being one as JSON Schema
        says; others were judged already) held against ``limit``."""
        whole = [_whole(item) for item in factors]
        if factors and all(item is not None and item > 0 for item in whole):
            too_large = self.limits.exceeded(limit, math.prod(whole))  # type: ignore[arg-type]
            if too_large:
                yield self.issue(path, too_large)

    def nested_numbers(self, path: str, values: list[object]) -> Iterator[Issue]:
        yield from self.rectangular(path, values, "parameter values")
        for index, item in enumerate(values):
            if isinstance(item, list):
                yield from self.nested_numbers(child_path(path, index), item)

    def random_range(self, path: str, random: object) -> Iterator[Issue]:
        random = _mapping(random)
        low, high = random.get("low"), random.get("high")
        if not (_is_number(low) and _is_number(high)):
            return
        if not float(low) < float(high):  # type: ignore[arg-type]
            yield self.issue(path, f"low ({low}) must be less than high ({high})")
        elif not math.isfinite(float(high) - float(low)):  # type: ignore[arg-type]
            yield self.issue(path, f"high - low ({high} - {low}) is too large to draw from")

    def linspace_range(self, path: str, linspace: object) -> Iterator[Issue]:
        linspace = _mapping(linspace)
        start, stop = linspace.get("start"), linspace.get("stop")
        if not (_is_number(start) and _is_number(stop)):
            return
        if not math.isfinite(float(stop) - float(start)):  # type: ignore[arg-type]
            yield self.issue(path, f"stop - start ({stop} - {start}) is too large to divide")

    def shots(self, path: str, owner: dict[str, object]) -> Iterator[Issue]:
        """The shots ``owner`` (a PUB, or options) asks for, held against the limit."""
        for key in ("shots", "default_shots"):
            yield from self.size(child_path(path, key), [owner.get(key)], "shots")

    def primitives(self) -> Iterator[Issue]:
        for index, primitive in enumerate(_sequence(self.data.get("primitives"))):
            path = child_path("$.primitives", index)
            options = _mapping(_mapping(primitive).get("options"))
            yield from self.shots(child_path(path, "options"), options)
            for pub_index, pub in enumerate(_sequence(_mapping(primitive).get("pubs"))):
                pub_path = child_path(child_path(path, "pubs"), pub_index)
                pub = _mapping(pub)
                yield from self.shots(pub_path, pub)
                yield from self.circuit_name(child_path(pub_path, "circuit"), pub.get("circuit"))
                if "observables" in pub:
                    yield from self.observable_list(
                        child_path(pub_path, "observables"), pub["observables"]
                    )
                if "parameter_values" in pub:
                    yield from self.parameter_values(
                        child_path(pub_path, "parameter_values"), pub["parameter_values"], path
                    )

    def workloads(self) -> Iterator[Issue]:
        for index, workload in enumerate(_sequence(self.data.get("workloads"))):
            path = child_path("$.workloads", index)
            workload = _mapping(workload)
            cost = _mapping(workload.get("minimize"))
            cost_path = child_path(path, "minimize")
            options = _mapping(workload.get("options"))
            yield from self.shots(child_path(path, "options"), options)
            yield from self.circuit_name(child_path(cost_path, "circuit"), cost.get("circuit"))
            observable = cost.get("observable")
            if isinstance(observable, str):
                yield from self.observable_names(child_path(cost_path, "observable"), observable)
            x0 = workload.get("x0")
            x0_path = child_path(path, "x0")
            if isinstance(x0, dict):
                yield from self.random_range(child_path(x0_path, "random"), x0.get("random"))
            source = _mapping(x0).get("from")
            if isinstance(source, str):
                cycle = self.cycle(index)
                if cycle:
                    yield self.issue(
                        child_path(x0_path, "from"),
                        "the workloads' starting points form a cycle ("
                        + " → ".join(repr(name) for name in cycle)
                        + "): each waits for the next, so none can start; start one of them "
                        "from explicit or random values",
                    )
                else:
                    yield from self.earlier_workload(child_path(x0_path, "from"), source, path)

    def cycle(self, start: int) -> list[str]:
        """The names around the cycle of ``x0: {from: …}`` references through workload
        ``start``, beginning and ending with its own; empty when it is on none."""
        workloads = _sequence(self.data.get("workloads"))
        index_of = {str(_mapping(item).get("name")): at for at, item in enumerate(workloads)}
        names = [str(_mapping(workloads[start]).get("name"))]
        at = start
        for _ in range(len(workloads)):
            source = _mapping(_mapping(workloads[at]).get("x0")).get("from")
            if not isinstance(source, str) or source not in index_of:
                return []
            at = index_of[source]
            names.append(source)
            if at == start:
                return names
        return []

    def unique_names(self) -> Iterator[Issue]:
        seen: dict[str, str] = {}
        for section in ("primitives", "workloads"):
            for index, item in enumerate(_sequence(self.data.get(section))):
                name = _mapping(item).get("name")
                if not isinstance(name, str):
                    continue
                path = child_path(child_path(f"$.{section}", index), "name")
                if name in seen:
                    line, column = self.source.position(seen[name])
                    yield self.issue(
                        path,
                        f"the name {name!r} is already used at {line}:{column}; "
                        "primitive and workload names name the results, so they must be unique",
                    )
                else:
                    seen[name] = path


def _unknown(kind: str, name: str, known: Mapping[str, object]) -> str:
    message = f"unknown {kind} {name!r}"
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    if known:
        return f"{message} (defined: {', '.join(known)})"
    return f"{message}; define it under `{kind}s:`"


def check_references(
    data: object, source: YamlSourceMap, folder: Folder, limits: Limits
) -> list[Issue]:
    """Every cross-reference and sanity problem in ``data`` (a manifest's values); files
    it names are read from ``folder``, sizes held against ``limits``."""
    if not isinstance(data, dict):
        return []
    return list(_References(data, source, folder, limits).all())
