"""The Runtime API's typed JSON, both ways: job ``params`` in, ``PrimitiveResult`` out.

Non-JSON values travel as ``{"__type__": T, "__value__": V}``. The service reads the
types a primitive job carries (``ndarray``: base64 of zlib-compressed ``.npy`` bytes, or a
plain number/list; ``QuantumCircuit``: base64 of zlib-compressed QPY; ``complex``) and
writes the result types the client decodes (``PrimitiveResult``, ``SamplerPubResult``,
``PubResult``, ``DataBin``, ``BitArray``, ``ndarray``). Anything else is refused with a
message rather than guessed at.

A request is judged before anything large is built from it: a compressed value inflates
no further than :data:`MAX_DECODED_BYTES`; an ``ndarray``'s header (its dtype and shape)
is read and checked against the bytes that follow before the array is made; every
number a PUB carries (parameter values, observable coefficients, precision) must be
finite; shots, parameter sets and circuit widths are held against the limits manifests
have (:class:`~qrun.manifest.limits.Limits`).

A circuit is decoded once for as long as it is among the last :data:`DECODED_CIRCUITS`
met, their text and QPY together at most :data:`DECODED_BYTES` (a circuit of more than
:data:`DECODED_BYTES_EACH` is not kept, so what is kept stays small however far a
compressed text inflates). A client sends the same circuit with every job of a sweep or
an optimisation, and reading QPY is most of what a small job's submission costs. The
circuit then is the same object from job to job, which is also what lets a worker be
sent it once (:class:`~qrun.engine.WorkerExecutor`); nothing downstream changes a job's
circuits.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BitArray, DataBin, PrimitiveResult, PubResult
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.primitives.containers.sampler_pub_result import SamplerPubResult

from qrun.engine.work import JobOptions
from qrun.engine.work import Program as EngineProgram
from qrun.manifest.limits import Limits
from qrun.manifest.model import shots_for_precision

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = [
    "EncodingError",
    "Job",
    "Program",
    "decode_options",
    "decode_pubs",
    "decode_value",
    "encode_array",
    "encode_result",
]

Program = Literal["sampler", "estimator"]
#: Every program a job may name (the engine's programs); ``executor`` params are read by
#: :mod:`.quantum_program`.
Job = EngineProgram


class EncodingError(ValueError):
    """A request value that is not the typed JSON the Runtime API defines."""


#: The most bytes one compressed value of a request may inflate to.
MAX_DECODED_BYTES = 64 * 1024 * 1024
#: Shots, parameter sets and qubits one PUB may ask for: the defaults manifests have.
LIMITS = Limits()
#: How many decoded circuits are kept, by their encoded text; how many bytes of text and
#: QPY they may come to together, and one of them at most.
DECODED_CIRCUITS = 64
DECODED_BYTES = 16 * 1024 * 1024
DECODED_BYTES_EACH = 1024 * 1024
#: The kinds of array a PUB may carry: booleans, integers, floats, complex numbers.
_NUMERIC_KINDS = frozenset("biufc")


def _unpack(text: object, what: str) -> bytes:
    """The bytes of a base64, zlib-compressed value, inflated no further than
    :data:`MAX_DECODED_BYTES` (a small body must not become a large one in memory)."""
    if not isinstance(text, str):
        raise EncodingError(f"{what}: expected a base64 string")
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.standard_b64decode(text), MAX_DECODED_BYTES)
    except (binascii.Error, zlib.error) as error:
        raise EncodingError(f"{what}: not base64 of zlib-compressed data ({error})") from error
    if inflater.unconsumed_tail or not inflater.eof:
        if inflater.unconsumed_tail:
            raise EncodingError(
                f"{what}: inflates to more than {MAX_DECODED_BYTES // 1024 // 1024} MiB"
            )
        raise EncodingError(f"{what}: not base64 of zlib-compressed data (incomplete)")
    return data


def _array(value: object) -> NDArray[np.generic]:
    if isinstance(value, (int, float, list)) and not isinstance(value, bool):
        try:
            plain: NDArray[np.generic] = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise EncodingError(f"ndarray: not an array ({error})") from error
        if plain.dtype.kind not in _NUMERIC_KINDS:
            raise EncodingError("ndarray: expected numbers")
        return plain
    return _npy(_unpack(value, "ndarray"))


def _npy(data: bytes) -> NDArray[np.generic]:
    """The array of a ``.npy`` document, its header judged before the array is made."""
    from numpy.lib import format as npy

    stream = io.BytesIO(data)
    try:
        version = npy.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = npy.read_array_header_2_0(stream)
    except (ValueError, OSError, SyntaxError, TypeError) as error:
        raise EncodingError(f"ndarray: not a .npy document ({error})") from error
    if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None:
        raise EncodingError(f"ndarray: expected numbers, not {dtype.str!r}")
    count = math.prod(shape)
    body = data[stream.tell() :]
    if count * dtype.itemsize != len(body):
        raise EncodingError(
            f"ndarray: its header declares shape {tuple(shape)} of {dtype.str}, "
            f"{count * dtype.itemsize:,} bytes, but {len(body):,} bytes follow"
        )
    flat = np.frombuffer(body, dtype=dtype, count=count)
    array: NDArray[np.generic] = flat.reshape(shape, order="F" if fortran else "C").copy()
    return array


def _check_finite(value: object, where: str) -> None:
    """Refuse NaN and infinities anywhere in ``value`` (lists, mappings, arrays)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise EncodingError(f"{where}: numbers must be finite, found NaN or infinity")
    elif isinstance(value, (float, complex)):
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise EncodingError(f"{where}: numbers must be finite, got {value}")
    elif isinstance(value, Mapping):
        for item in value.values():
            _check_finite(item, where)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]")


def _within(found: int, limit: str, where: str) -> None:
    too_large = LIMITS.exceeded(limit, found)
    if too_large is not None:
        raise EncodingError(f"{where}: {too_large.split('; set ')[0]} of this service")


def _within_precision(precision: float, where: str) -> None:
    """The shots a precision needs (``ceil(1/precision²)``) held against the shots limit."""
    try:
        shots = shots_for_precision(precision)
    except OverflowError:
        shots = LIMITS.shots + 1
    _within(shots, "shots", where)


#: QPY's file header before version 10, and from version 10 on (with its encoding byte).
_QPY_FILE_HEADER = {False: "!6sBBBBQ", True: "!6sBBBBQc"}
#: QPY's circuit header before version 2, from 2 on, and from 12 on: the counts it
#: declares are read from these positions (``name_size`` first).
_QPY_CIRCUIT_HEADER = {0: "!HdIIQIQ", 2: "!H1cHIIQIQ", 12: "!H1cHIIQIQI"}


def _check_qpy_header(data: bytes) -> None:
    """Refuse a QPY document whose header declares more than it can hold: more than one
    circuit, a circuit wider than the limit, or more registers or instructions than it
    has bytes. The loader allocates what the header declares before reading on, so a
    small document could otherwise make the service allocate gigabytes, or abort it."""
    try:
        preface, version = struct.unpack_from("!6sB", data)
        file_header = _QPY_FILE_HEADER[version >= 10]
        programs = struct.unpack_from(file_header, data)[5]
        offset = struct.calcsize(file_header) + (1 if version >= 5 else 0)  # its type key
        if version >= 16:  # a table of where each circuit starts comes first
            offset = struct.unpack_from("!Q", data, offset)[0]
        layout = _QPY_CIRCUIT_HEADER[12 if version >= 12 else 2 if version >= 2 else 0]
        header = struct.unpack_from(layout, data, offset)
    except struct.error:
        raise EncodingError("QuantumCircuit: not a QPY document (too short)") from None
    if preface != b"QISKIT":
        raise EncodingError("QuantumCircuit: not a QPY document")
    if programs != 1:
        raise EncodingError("QuantumCircuit: expected exactly one circuit")
    shift = 0 if version >= 2 else -1  # the first header has one field fewer up front
    qubits, clbits = header[3 + shift], header[4 + shift]
    registers, instructions = header[6 + shift], header[7 + shift]
    _within(max(qubits, clbits), "qubits", "QuantumCircuit")
    if max(registers, instructions) > len(data):
        raise EncodingError(
            "QuantumCircuit: its header declares more registers or instructions than the "
            "document holds"
        )


class _DecodedCircuits:
    """The circuits decoded lately, by their encoded text (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._circuits: OrderedDict[str, tuple[QuantumCircuit, int]] = OrderedDict()
        self.size = 0

    def get(self, text: str) -> QuantumCircuit | None:
        with self._lock:
            found = self._circuits.get(text)
            if found is None:
                return None
            self._circuits.move_to_end(text)
            return found[0]

    def put(self, text: str, circuit: QuantumCircuit, qpy_bytes: int) -> None:
        """Keep ``circuit``, read from ``qpy_bytes`` of QPY, unless it is too large."""
        size = len(text) + qpy_bytes
        if size > DECODED_BYTES_EACH:
            return
        with self._lock:
            if text in self._circuits:
                return
            self._circuits[text] = (circuit, size)
            self.size += size
            while len(self._circuits) > DECODED_CIRCUITS or self.size > DECODED_BYTES:
                _, (_, dropped) = self._circuits.popitem(last=False)
                self.size -= dropped

    def __len__(self) -> int:
        return len(self._circuits)


_decoded = _DecodedCircuits()


def _circuit(value: object) -> QuantumCircuit:
    if isinstance(value, str) and (known := _decoded.get(value)) is not None:
        return known
    data = _unpack(value, "QuantumCircuit")
    _check_qpy_header(data)
    try:
        circuits = qpy.load(io.BytesIO(data))
    except EncodingError:
        raise
    except Exception as error:
        raise EncodingError(f"QuantumCircuit: not a QPY document ({error})") from error
    if len(circuits) != 1 or not isinstance(circuits[0], QuantumCircuit):
        raise EncodingError("QuantumCircuit: expected exactly one circuit")
    if isinstance(value, str):  # always, once _unpack has read it
        _decoded.put(value, circuits[0], len(data))
    return circuits[0]


def decode_value(value: object) -> object:
    """Turn typed JSON into Python/NumPy/Qiskit objects, recursively."""
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__type__" not in value:
        return {key: decode_value(item) for key, item in value.items()}
    kind, inner = value.get("__type__"), value.get("__value__")
    if kind == "ndarray":
        return _array(inner)
    if kind == "QuantumCircuit":
        return _circuit(inner)
    if kind == "complex":
        try:
            if not (isinstance(inner, list) and len(inner) == 2):
                raise TypeError
            return complex(float(inner[0]), float(inner[1]))
        except (TypeError, ValueError):
            raise EncodingError("complex: expected [real, imag]") from None
    if kind == "ObservablesArray":
        return decode_value(inner)
    raise EncodingError(f"the value type {kind!r} is not supported by this service")


def _bindings(circuit: QuantumCircuit, values: object, where: str) -> BindingsArray:
    if isinstance(values, np.ndarray) and values.dtype.kind == "c":
        raise EncodingError(f"{where}: parameter values must be real numbers")
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        raise EncodingError(f"{where}: parameter values must be an array")
    shape = array.shape[:-1]
    _within(math.prod(shape), "parameter_sets", where)
    if array.shape[-1] != circuit.num_parameters:
        raise EncodingError(
            f"{where}: {array.shape[-1]} parameter values for a circuit with "
            f"{circuit.num_parameters} parameters"
        )
    if circuit.num_parameters == 0:
        return BindingsArray(shape=shape)
    return BindingsArray({tuple(circuit.parameters): array}, shape=shape)


def decode_options(params: Mapping[str, object], tags: Sequence[str] = ()) -> JobOptions:
    """The options the job runs with: ``params.options``' ``default_shots``,
    ``default_precision`` and ``simulator.seed_simulator``, and the job's ``tags``.

    Raises :class:`EncodingError` naming the option that is not what the client sends.
    """
    options = params.get("options") or {}
    if not isinstance(options, dict):
        raise EncodingError("params.options: expected an object")
    shots = options.get("default_shots")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 0):
        raise EncodingError("params.options.default_shots: expected a non-negative integer")
    if shots:
        _within(shots, "shots", "params.options.default_shots")
    precision = options.get("default_precision")
    if precision is not None and (
        isinstance(precision, bool)
        or not isinstance(precision, (int, float))
        or not 0 < precision < math.inf
    ):
        raise EncodingError("params.options.default_precision: expected a positive number")
    if precision is not None:
        _within_precision(float(precision), "params.options.default_precision")
    simulator = options.get("simulator")
    seed = simulator.get("seed_simulator") if isinstance(simulator, dict) else None
    return JobOptions(
        default_shots=shots or None,  # 0, like unset, leaves the default (as the client does)
        default_precision=None if precision is None else float(precision),
        seed_simulator=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        job_tags=tuple(tags),
    )


def decode_pubs(
    program: Program, params: Mapping[str, object], options: JobOptions
) -> list[SamplerPub] | list[EstimatorPub]:
    """The PUBs of a job's ``params``, a PUB without shots or precision given them by
    ``options`` (:meth:`JobOptions.shots`, :meth:`JobOptions.precision`).

    Raises :class:`EncodingError` naming the PUB (``pubs[1]``) and what is wrong.
    """
    raw = params.get("pubs")
    if not isinstance(raw, list) or not raw:
        raise EncodingError("params.pubs: expected a non-empty list of PUBs")
    if program == "sampler":
        return [_sampler_pub(item, options, f"params.pubs[{i}]") for i, item in enumerate(raw)]
    return [_estimator_pub(item, options, f"params.pubs[{i}]") for i, item in enumerate(raw)]


def _sampler_pub(item: object, options: JobOptions, where: str) -> SamplerPub:
    decoded = decode_value(item)
    if isinstance(decoded, QuantumCircuit):
        decoded = [decoded]
    if not isinstance(decoded, list) or not 1 <= len(decoded) <= 3:
        raise EncodingError(f"{where}: expected [circuit, parameter_values, shots]")
    circuit = decoded[0]
    if not isinstance(circuit, QuantumCircuit):
        raise EncodingError(f"{where}[0]: expected a QuantumCircuit")
    _circuit_width(circuit, f"{where}[0]")
    for index, part in enumerate(decoded[1:], start=1):
        _check_finite(part, f"{where}[{index}]")
    values = decoded[1] if len(decoded) > 1 and decoded[1] is not None else np.zeros((0,))
    shots = decoded[2] if len(decoded) > 2 else None
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots <= 0):
        raise EncodingError(f"{where}[2]: shots must be a positive integer")
    if shots is not None:
        _within(shots, "shots", f"{where}[2]")
    try:
        return SamplerPub(circuit, _bindings(circuit, values, f"{where}[1]"), options.shots(shots))
    except ValueError as error:
        raise EncodingError(f"{where}: {error}") from error


def _estimator_pub(item: object, options: JobOptions, where: str) -> EstimatorPub:
    decoded = decode_value(item)
    if not isinstance(decoded, list) or not 2 <= len(decoded) <= 4:
        raise EncodingError(
            f"{where}: expected [circuit, observables, parameter_values, precision]"
        )
    circuit = decoded[0]
    if not isinstance(circuit, QuantumCircuit):
        raise EncodingError(f"{where}[0]: expected a QuantumCircuit")
    _circuit_width(circuit, f"{where}[0]")
    for index, part in enumerate(decoded[1:], start=1):
        _check_finite(part, f"{where}[{index}]")
    values = decoded[2] if len(decoded) > 2 and decoded[2] is not None else np.zeros((0,))
    precision = decoded[3] if len(decoded) > 3 else None
    if precision is not None and (
        isinstance(precision, bool) or not isinstance(precision, (int, float)) or precision < 0
    ):
        raise EncodingError(f"{where}[3]: precision must be a non-negative number")
    if precision:
        _within_precision(float(precision), f"{where}[3]")
    try:
        observables = ObservablesArray.coerce(decoded[1])
        return EstimatorPub(
            circuit,
            observables,
            _bindings(circuit, values, f"{where}[2]"),
            options.precision(None if precision is None else float(precision)),
        )
    except ValueError as error:
        raise EncodingError(f"{where}: {error}") from error


def _circuit_width(circuit: QuantumCircuit, where: str) -> None:
    _within(max(circuit.num_qubits, circuit.num_clbits), "qubits", where)


def encode_array(array: object) -> dict[str, object]:
    """A NumPy array (or scalar) as a typed ``ndarray`` (base64 of zlib of ``.npy``)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    packed = base64.standard_b64encode(zlib.compress(buffer.getvalue())).decode("ascii")
    return {"__type__": "ndarray", "__value__": packed}


def _plain(value: object) -> object:
    """Metadata as plain JSON (NumPy values become numbers, lists or typed arrays)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _field(value: object) -> object:
    if isinstance(value, BitArray):
        return {
            "__type__": "BitArray",
            "__value__": {"array": encode_array(value.array), "num_bits": value.num_bits},
        }
    if isinstance(value, (np.ndarray, np.generic)):
        return encode_array(value)
    return _plain(value)


def _data_bin(data: DataBin) -> dict[str, object]:
    names = list(data)
    return {
        "__type__": "DataBin",
        "__value__": {
            "field_names": names,
            "shape": list(data.shape),
            "fields": {name: _field(data[name]) for name in names},
        },
    }


def encode_result(result: PrimitiveResult) -> dict[str, object]:
    """A ``PrimitiveResult`` as the typed JSON document of ``GET /jobs/{id}/results``."""
    pubs: list[object] = []
    for pub_result in result:
        kind = "SamplerPubResult" if isinstance(pub_result, SamplerPubResult) else "PubResult"
        if not isinstance(pub_result, PubResult):
            raise TypeError(f"cannot encode a {type(pub_result).__name__}")
        pubs.append(
            {
                "__type__": kind,
                "__value__": {
                    "data": _data_bin(pub_result.data),
                    "metadata": _plain(pub_result.metadata),
                },
            }
        )
    return {
        "__type__": "PrimitiveResult",
        "__value__": {"pub_results": pubs, "metadata": _plain(result.metadata)},
    }
