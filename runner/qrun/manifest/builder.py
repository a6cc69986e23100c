"""Building the frozen :class:`~qrun.manifest.model.Manifest` from a checked document.

The values are trusted here (the schema and reference checks ran first), so this module
only maps them onto the model: defaults filled in, numbers made floats where the model
says so, lists made tuples, each element given the JSON path it came from.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, cast

from qrun.manifest.duration import parse_duration
from qrun.manifest.jsonpath import child as child_path
from qrun.manifest.model import (
    JSON,
    Array,
    Backend,
    BackendKind,
    Circuit,
    Estimate,
    EstimatorPub,
    Execution,
    ExecutionMode,
    FromWorkload,
    LeastBusy,
    LibrarySource,
    Linspace,
    Manifest,
    Metadata,
    Minimize,
    NestedFloats,
    NestedNames,
    Observable,
    OptimizerMethod,
    ParameterValues,
    Primitive,
    PrimitiveKind,
    PrimitiveOptions,
    Pub,
    QasmFileSource,
    QasmSource,
    QpySource,
    RandomValues,
    SamplerPub,
    Service,
    ServiceChannel,
    Transpile,
    WorkloadOrder,
    WorkloadPoint,
)
from qrun.manifest.options import job_options
from qrun.manifest.qasm import header_version
from qrun.manifest.qpy import is_qpy_name, read_header

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from qrun.manifest.source import Document, Folder

__all__ = ["build_manifest"]

#: A mapping from the validated document (values are JSON, keys strings).
_Map = dict[str, object]


def _map(value: object) -> _Map:
    return cast("_Map", value) if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return cast("list[object]", value) if isinstance(value, list) else []


def _json(value: object) -> JSON:
    """Freeze a validated value: lists become tuples, mappings stay mappings."""
    if isinstance(value, list):
        return tuple(_json(item) for item in value)
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    return cast("JSON", value)


def _json_map(value: object) -> Mapping[str, JSON]:
    return {key: _json(item) for key, item in _map(value).items()}


def _floats(value: object) -> NestedFloats:
    if isinstance(value, list):
        return tuple(_floats(item) for item in value)
    return float(cast("float", value))


def _names(value: object) -> NestedNames:
    if isinstance(value, list):
        return tuple(_names(item) for item in value)
    return str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(cast("int", value))


def _opt_float(value: object) -> float | None:
    return None if value is None else float(cast("float", value))


def _backend(data: _Map) -> Backend:
    name = data.get("name")
    options = _json_map(data.get("options"))
    if name is None:
        filters = _map(data.get("least_busy"))
        least_busy = LeastBusy(
            operational=bool(filters.get("operational", True)),
            simulator=bool(filters.get("simulator", False)),
            min_num_qubits=_opt_int(filters.get("min_num_qubits")),
        )
        return Backend("least_busy", None, "$.backend", options, least_busy)
    name = str(name)
    kind: BackendKind = "aer" if name == "aer" else "fake" if name.startswith("fake_") else "ibm"
    return Backend(kind, name, "$.backend", options)


def _execution(data: _Map) -> Execution:
    max_time = data.get("max_time")
    return Execution(
        mode=cast("ExecutionMode", data.get("mode", "session")),
        max_time=None if max_time is None else parse_duration(cast("float | str", max_time)),
        fallback=bool(data.get("fallback", False)),
        workloads=cast("WorkloadOrder", data.get("workloads", "concurrent")),
    )


def _qpy(file: str, index: int, path: str, folder: Folder) -> QpySource:
    found, problem = folder.read_bytes(file)
    header = None if found is None else read_header(found[1])
    if found is None or header is None:  # the reference checks, which read it first, reported it
        raise ValueError(f"{path}.file: {problem or 'not a QPY file'}")
    return QpySource(found[0], found[1], index, header.count)


def _library(data: _Map, observables: Mapping[str, Observable]) -> LibrarySource:
    arguments: dict[str, JSON] = {}
    references: dict[str, Observable] = {}
    for key, value in _map(data.get("args")).items():
        reference = _map(value).get("observable") if isinstance(value, dict) else None
        if isinstance(reference, str) and len(_map(value)) == 1:
            references[key] = observables[reference]
        else:
            arguments[key] = _json(value)
    return LibrarySource(str(data["library"]), arguments, references)


def _circuit(
    name: str, data: _Map, folder: Folder, observables: Mapping[str, Observable]
) -> Circuit:
    path = child_path("$.circuits", name)
    source: QasmSource | QasmFileSource | QpySource | LibrarySource
    if "qasm" in data:
        text = str(data["qasm"])
        source = QasmSource(text, header_version(text) or 3)
    elif "file" in data and is_qpy_name(str(data["file"])):
        source = _qpy(str(data["file"]), int(cast("int", data.get("index", 0))), path, folder)
    elif "file" in data:
        found, problem = folder.read(str(data["file"]))
        if found is None:  # the reference checks, which read it first, reported it
            raise ValueError(f"{path}.file: {problem}")
        source = QasmFileSource(found.path, found.text, header_version(found.text) or 3)
    else:
        source = _library(data, observables)
    return Circuit(name, source, path, measure_all=bool(data.get("measure_all", False)))


def _observable(name: str, data: object) -> Observable:
    path = child_path("$.observables", name)
    if isinstance(data, dict) and "terms" in data:
        sparse = tuple(
            (str(term[0]), tuple(int(q) for q in term[1]), float(term[2]))
            for term in cast("list[tuple[str, list[int], float]]", data["terms"])
        )
        return Observable(name, (), path, sparse, int(cast("int", data["num_qubits"])))
    if isinstance(data, dict):
        terms = tuple((str(pauli), float(coeff)) for pauli, coeff in data.items())
    else:
        terms = tuple((str(pair[0]), float(pair[1])) for pair in cast("list[list[float]]", data))
    return Observable(name, terms, path)


def _random(data: _Map, path: str) -> RandomValues:
    return RandomValues(
        seed=int(cast("int", data["seed"])),
        low=float(cast("float", data["low"])),
        high=float(cast("float", data["high"])),
        shape=tuple(int(cast("int", n)) for n in _list(data.get("shape"))),
        path=path,
    )


def _parameter_values(value: object, path: str) -> ParameterValues | None:
    if value is None:
        return None
    if isinstance(value, dict):
        if "linspace" in value:
            spec = _map(value["linspace"])
            return Linspace(
                start=float(cast("float", spec["start"])),
                stop=float(cast("float", spec["stop"])),
                num=int(cast("int", spec["num"])),
                path=child_path(path, "linspace"),
            )
        if "from" in value:
            point = cast("WorkloadPoint", value.get("point", "best"))
            return FromWorkload(str(value["from"]), point, path)
        return _random(_map(value["random"]), child_path(path, "random"))
    return Array(_floats(value), path)


def _options(data: object, kind: PrimitiveKind) -> PrimitiveOptions:
    return job_options(_json_map(data), kind)


def _primitive(data: _Map, path: str) -> Primitive:
    kind: PrimitiveKind = "sampler" if "sampler" in data else "estimator"
    pubs: list[Pub] = []
    for index, item in enumerate(_list(data.get("pubs"))):
        pub = _map(item)
        pub_path = child_path(child_path(path, "pubs"), index)
        values = _parameter_values(
            pub.get("parameter_values"), child_path(pub_path, "parameter_values")
        )
        if kind == "sampler":
            pubs.append(
                SamplerPub(str(pub["circuit"]), pub_path, values, _opt_int(pub.get("shots")))
            )
        else:
            pubs.append(
                EstimatorPub(
                    str(pub["circuit"]),
                    _names(pub["observables"]),
                    pub_path,
                    values,
                    _opt_float(pub.get("precision")),
                )
            )
    return Primitive(
        kind, str(data["name"]), tuple(pubs), path, _options(data.get("options"), kind)
    )


def _workload(data: _Map, path: str) -> Minimize:
    cost = _map(data["minimize"])
    x0_value = data["x0"]
    x0_path = child_path(path, "x0")
    x0: Array | RandomValues | FromWorkload
    if isinstance(x0_value, dict) and "from" in x0_value:
        point = cast("WorkloadPoint", x0_value.get("point", "best"))
        x0 = FromWorkload(str(x0_value["from"]), point, x0_path)
    elif isinstance(x0_value, dict):
        x0 = _random(_map(x0_value["random"]), child_path(x0_path, "random"))
    else:
        x0 = Array(_floats(x0_value), x0_path)
    return Minimize(
        name=str(data["name"]),
        cost=Estimate(
            circuit=str(cost["circuit"]),
            observable=str(cost["observable"]),
            path=child_path(path, "minimize"),
            precision=_opt_float(cost.get("precision")),
        ),
        method=cast("OptimizerMethod", data["method"]),
        x0=x0,
        path=path,
        maxiter=_opt_int(data.get("maxiter")),
        tol=_opt_float(data.get("tol")),
        method_options=_json_map(data.get("method_options")),
        options=_options(data.get("options"), "estimator"),
        reference=_opt_float(data.get("reference")),
    )


def build_manifest(document: Document, file: Path, folder: Folder) -> Manifest:
    """The :class:`Manifest` of a document that passed the schema and reference checks;
    the files it names come from ``folder``, where the checks read them."""
    data = _map(document.data)
    metadata = _map(data.get("metadata"))
    service = data.get("service")
    transpile = _map(data.get("transpile"))
    observables = {
        name: _observable(name, value) for name, value in _map(data.get("observables")).items()
    }
    return Manifest(
        version=int(cast("int", data["qrun"])),
        file=file,
        text=document.text,
        sha256=hashlib.sha256(document.text.encode("utf-8")).hexdigest(),
        source=document.source,
        backend=_backend(_map(data["backend"])),
        metadata=Metadata(
            name=cast("str | None", metadata.get("name")),
            description=cast("str | None", metadata.get("description")),
            labels={str(k): str(v) for k, v in _map(metadata.get("labels")).items()},
        ),
        service=None
        if service is None
        else Service(
            channel=cast("ServiceChannel | None", _map(service).get("channel")),
            instance=cast("str | None", _map(service).get("instance")),
            url=cast("str | None", _map(service).get("url")),
        ),
        execution=_execution(_map(data.get("execution"))),
        transpile=Transpile(
            optimization_level=int(cast("int", transpile.get("optimization_level", 2))),
            seed=_opt_int(transpile.get("seed")),
        ),
        circuits={
            name: _circuit(name, _map(value), folder, observables)
            for name, value in _map(data.get("circuits")).items()
        },
        observables=observables,
        primitives=tuple(
            _primitive(_map(item), child_path("$.primitives", index))
            for index, item in enumerate(_list(data.get("primitives")))
        ),
        workloads=tuple(
            _workload(_map(item), child_path("$.workloads", index))
            for index, item in enumerate(_list(data.get("workloads")))
        ),
    )
