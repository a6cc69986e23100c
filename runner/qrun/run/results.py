"""``results.json``: primitive and workload results in a documented, versioned JSON form,
and back.

The document (``format: "qrun.results/2"``)::

    {"format": "qrun.results/2",
     "primitives": [
       {"name": "counts", "kind": "sampler", "job_id": "…", "status": "DONE",
        "metadata": {…},
        "pubs": [
          {"index": 0, "circuit": "bell", "shape": [], "num_shots": 4096,
           "metadata": {…},
           "registers": {"c": {"num_bits": 2,
                               "counts": {"00": 2074, "11": 2022},
                               "bitstrings": ["11", "00", …]}}}]},
       {"name": "energy", "kind": "estimator", …,
        "pubs": [{"index": 0, "circuit": "ansatz", "shape": [3],
                  "evs": [...], "stds": [...], "metadata": {…}}]}],
     "workloads": [
       {"name": "vqe", "kind": "minimize", "method": "cobyla", "status": "DONE",
        "result": {"success": true, "nfev": 143, "x": [...], "fun": -0.7005, …},
        "history": [{"index": 1, "kind": "cost", "value": …, "job_id": "…", …}], …}],
     "chains": [
       {"primitive": "answer", "pub": 0, "path": "$.primitives[0].pubs[0]",
        "from": "qaoa", "point": "best", "values": [...], "cost": -2.9, "problem": null}]}

``chains`` says which workload point fed which PUB (``parameter_values: {from: …}``);
``problem`` says why a PUB was not submitted (its workload gave no such point).

``bitstrings`` lists every shot in order (bindings in C order, then shots), so
:func:`load_results` rebuilds the exact ``BitArray``; ``counts`` add up all bindings.
Workloads are described by :class:`~qrun.workloads.history.WorkloadResult`, and
:func:`load_workloads` reads them back. Version 1 (no ``workloads``) is still read.

A run's results are first typed values (:class:`RunResults`: a :class:`PrimitiveRecord`
per primitive, holding :class:`SamplerPubRecord` or :class:`EstimatorPubRecord` values);
the document is what :meth:`RunResults.to_json` makes of them, and histograms and
terminal text are drawn from the same values, never from the document.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypedDict

from qrun.errors import QrunError
from qrun.manifest.model import plain

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit.primitives import PrimitiveResult

    from qrun.manifest.model import JSON
    from qrun.run.chaining import Feed
    from qrun.workloads.history import WorkloadResult

__all__ = [
    "FORMAT",
    "READABLE_FORMATS",
    "EstimatorPubRecord",
    "PrimitiveDocument",
    "PrimitiveRecord",
    "PubRecord",
    "Register",
    "RegisterCounts",
    "ResultsDocument",
    "RunResults",
    "SamplerPubRecord",
    "load_results",
    "load_workloads",
    "plain",
    "primitive_record",
]

FORMAT = "qrun.results/2"
#: Formats :func:`load_results` reads: 2 added ``workloads``.
READABLE_FORMATS = ("qrun.results/1", FORMAT)


class PrimitiveDocument(TypedDict):
    name: str
    kind: str
    job_id: str | None
    status: str
    metadata: JSON
    pubs: list[dict[str, JSON]]


class ResultsDocument(TypedDict):
    format: str
    primitives: list[PrimitiveDocument]
    workloads: list[dict[str, JSON]]
    chains: list[dict[str, JSON]]


class Register(NamedTuple):
    """One classical register of a sampler PUB: its width, the counts of each outcome
    (in bitstring order, summed over all parameter sets) and every shot in order."""

    name: str
    num_bits: int
    counts: Mapping[str, int]
    bitstrings: tuple[str, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "num_bits": self.num_bits,
            "counts": dict(self.counts),
            "bitstrings": self.bitstrings,
        }


class SamplerPubRecord(NamedTuple):
    """What one sampler PUB gave: a :class:`Register` per classical register."""

    position: int  # of the PUB in its primitive ("index" in the document)
    circuit: str
    shape: tuple[int, ...]
    num_shots: int
    metadata: JSON
    registers: tuple[Register, ...]

    def to_json(self) -> dict[str, JSON]:
        return {
            "index": self.position,
            "circuit": self.circuit,
            "shape": self.shape,
            "num_shots": self.num_shots,
            "metadata": self.metadata,
            "registers": {register.name: register.to_json() for register in self.registers},
        }


class EstimatorPubRecord(NamedTuple):
    """What one estimator PUB gave: expectation values and their standard errors, as
    nested lists of the PUB's broadcast shape."""

    position: int  # of the PUB in its primitive ("index" in the document)
    circuit: str
    shape: tuple[int, ...]
    evs: JSON
    stds: JSON
    metadata: JSON

    def to_json(self) -> dict[str, JSON]:
        return {
            "index": self.position,
            "circuit": self.circuit,
            "shape": self.shape,
            "evs": self.evs,
            "stds": self.stds,
            "metadata": self.metadata,
        }


PubRecord: TypeAlias = SamplerPubRecord | EstimatorPubRecord


class PrimitiveRecord(NamedTuple):
    """One primitive of the manifest: its job and, when the job finished, its PUBs'
    results (``metadata`` is None and ``pubs`` empty when there is no result)."""

    name: str
    kind: str
    job_id: str | None
    status: str
    metadata: JSON
    pubs: tuple[PubRecord, ...]

    def to_json(self) -> PrimitiveDocument:
        return {
            "name": self.name,
            "kind": self.kind,
            "job_id": self.job_id,
            "status": self.status,
            "metadata": self.metadata,
            "pubs": [pub.to_json() for pub in self.pubs],
        }


class RegisterCounts(NamedTuple):
    """The counts of one classical register of one sampler PUB (what histograms and
    summaries show)."""

    primitive: str
    pub: int
    circuit: str
    register: str
    counts: Mapping[str, int]


class RunResults(NamedTuple):
    """A run's results: every primitive and every workload, in manifest order."""

    primitives: tuple[PrimitiveRecord, ...]
    workloads: tuple[WorkloadResult, ...] = ()
    feeds: tuple[Feed, ...] = ()  # workload points bound to chained PUBs

    def to_json(self) -> ResultsDocument:
        """The ``results.json`` document."""
        return {
            "format": FORMAT,
            "primitives": [primitive.to_json() for primitive in self.primitives],
            "workloads": [workload.to_json() for workload in self.workloads],
            "chains": [feed.to_json() for feed in self.feeds],
        }

    def register_counts(self) -> Iterator[RegisterCounts]:
        """Every sampler register's counts, in manifest order."""
        for primitive in self.primitives:
            for pub in primitive.pubs:
                if isinstance(pub, SamplerPubRecord):
                    for register in pub.registers:
                        yield RegisterCounts(
                            primitive=primitive.name,
                            pub=pub.position,
                            circuit=pub.circuit,
                            register=register.name,
                            counts=register.counts,
                        )


def _sampler_pub(pub_result: object, index: int, circuit: str) -> SamplerPubRecord:
    from qiskit.primitives import BitArray

    data = getattr(pub_result, "data")  # noqa: B009
    registers: list[Register] = []
    num_shots = 0
    for name, value in data.items():
        if not isinstance(value, BitArray):
            continue
        num_shots = value.num_shots
        bitstrings = tuple(value.get_bitstrings())  # every shot, each read once
        registers.append(
            Register(
                name=name,
                num_bits=value.num_bits,
                counts=dict(sorted(Counter(bitstrings).items())),
                bitstrings=bitstrings,
            )
        )
    return SamplerPubRecord(
        position=index,
        circuit=circuit,
        shape=tuple(data.shape),
        num_shots=num_shots,
        metadata=plain(getattr(pub_result, "metadata", {})),
        registers=tuple(registers),
    )


def _estimator_pub(pub_result: object, index: int, circuit: str) -> EstimatorPubRecord:
    data = getattr(pub_result, "data")  # noqa: B009
    return EstimatorPubRecord(
        position=index,
        circuit=circuit,
        shape=tuple(data.shape),
        evs=plain(data.evs),
        stds=plain(data.stds),
        metadata=plain(getattr(pub_result, "metadata", {})),
    )


def primitive_record(
    *,
    name: str,
    kind: str,
    job_id: str | None,
    status: str,
    circuits: Sequence[str],
    result: PrimitiveResult | None,
) -> PrimitiveRecord:
    """The record of one primitive; ``circuits`` names the circuit of each of its PUBs,
    ``result`` is its job's result (None when the job did not finish)."""
    pubs: tuple[PubRecord, ...] = ()
    if result is not None:
        encode = _sampler_pub if kind == "sampler" else _estimator_pub
        pubs = tuple(
            encode(pub_result, index, circuits[index] if index < len(circuits) else "")
            for index, pub_result in enumerate(result)
        )
    return PrimitiveRecord(
        name=name,
        kind=kind,
        job_id=job_id,
        status=status,
        metadata=plain(result.metadata) if result is not None else None,
        pubs=pubs,
    )


def _decode_sampler(pub: Mapping[str, object]) -> object:
    from qiskit.primitives import BitArray, DataBin, SamplerPubResult

    shape = tuple(int(str(size)) for size in _sequence(pub["shape"]))
    arrays: dict[str, BitArray] = {}
    registers = pub["registers"]
    assert isinstance(registers, Mapping)
    for register, body in registers.items():
        assert isinstance(body, Mapping)
        samples = [str(bits) for bits in _sequence(body["bitstrings"])]
        bit_array = BitArray.from_samples(samples, int(body["num_bits"]))
        arrays[str(register)] = bit_array.reshape(*shape, int(str(pub["num_shots"])))
    metadata = pub.get("metadata") or {}
    return SamplerPubResult(DataBin(**arrays, shape=shape), metadata=metadata)


def _decode_estimator(pub: Mapping[str, object]) -> object:
    import numpy as np
    from qiskit.primitives import DataBin, PubResult

    shape = tuple(int(str(size)) for size in _sequence(pub["shape"]))
    evs = np.asarray(pub["evs"], dtype=float).reshape(shape)
    stds = np.asarray(pub["stds"], dtype=float).reshape(shape)
    metadata = pub.get("metadata") or {}
    return PubResult(DataBin(evs=evs, stds=stds, shape=shape), metadata=metadata)


def _sequence(value: object) -> Sequence[object]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _read(path: str | Path) -> tuple[Path, dict[str, object]]:
    file = Path(path)
    if file.is_dir():
        file = file / "results.json"
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise QrunError(f"{file}: cannot read run results: {error}") from error
    if not isinstance(document, dict) or document.get("format") not in READABLE_FORMATS:
        raise QrunError(f"{file}: not a qrun results document (expected format {FORMAT!r})")
    return file, document


def load_results(path: str | Path) -> dict[str, PrimitiveResult]:
    """The results of a run record as Qiskit objects, by primitive name in manifest order.

    ``path`` is a run record folder or its ``results.json``. Samplers give back
    ``SamplerPubResult`` with a ``BitArray`` per classical register, estimators
    ``PubResult`` with ``evs`` and ``stds``. A primitive whose job did not finish has no
    entry. Workloads are read by :func:`load_workloads`.
    """
    from qiskit.primitives import PrimitiveResult

    _, document = _read(path)
    results: dict[str, PrimitiveResult] = {}
    for primitive in _sequence(document["primitives"]):
        assert isinstance(primitive, dict)
        if primitive.get("metadata") is None:
            continue
        decode = _decode_sampler if primitive["kind"] == "sampler" else _decode_estimator
        pubs = [decode(pub) for pub in primitive["pubs"]]
        results[primitive["name"]] = PrimitiveResult(pubs, metadata=primitive["metadata"])
    return results


def load_workloads(path: str | Path) -> dict[str, WorkloadResult]:
    """The iterative workloads of a run record, by name in manifest order: each one's
    status, optimiser result, convergence history and session and tag checks (also for a
    workload that failed part way). A version-1 document has none."""
    from qrun.workloads.history import WorkloadResult

    file, document = _read(path)
    found: dict[str, WorkloadResult] = {}
    try:
        for item in _sequence(document.get("workloads", [])):
            if not isinstance(item, Mapping):
                raise TypeError("a workload entry is not an object")
            workload = WorkloadResult.from_json(item)
            found[workload.name] = workload
    except (KeyError, TypeError, ValueError) as error:
        raise QrunError(f"{file}: a workload entry is malformed: {error}") from error
    return found
