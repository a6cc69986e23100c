"""Hostile and careless input: ``validate`` and ``plan`` refuse each hostile manifest with
exit 1, no traceback, the message at the right place, and nothing of a refused file
shown; ``qrun serve`` answers hostile job params with 400 before building anything.

The manifests are those of ``benchmarks/hostile_inputs.py``, which runs them as whole
processes and measures time and memory; here they run in process.
"""

from __future__ import annotations

import base64
import io
import json
import math
import resource
import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from benchmarks.hostile_inputs import CASES, Hostile, materialise
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Parameter
from qiskit_ibm_runtime import RuntimeEncoder

from qrun.cli import main
from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from tests.serve_support import CONFIG, Api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RUNS = [
    pytest.param(case, command, id=f"{case.name}-{command}")
    for case in CASES
    for command in case.commands
]


class TestRefused:
    """If a manifest is hostile, the command refuses it where the problem is written."""

    @pytest.mark.parametrize(("case", "command"), RUNS)
    def test_refused_at_its_place(
        self, case: Hostile, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = materialise(case, tmp_path)
        code = main([command, str(manifest)])
        captured = capsys.readouterr()
        output = captured.out + captured.err
        assert "Traceback" not in output
        assert code == 1, output[:2000]
        lines = output.replace(f"{manifest}:", "").splitlines()
        assert any(line.removeprefix("qrun: ").startswith(case.where) for line in lines), (
            f"no line starts with {case.where!r}:\n{output[:2000]}"
        )
        if case.hidden is not None:
            assert case.hidden not in output


BELL = """qrun: 1
backend: {{name: aer}}
execution:
  mode: {mode}
  max_time: {max_time}
circuits:
  bell:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      bit[2] c;
      h q[0];
      cx q[0], q[1];
      c = measure q;
primitives:
  - sampler:
    name: counts
    options: {{default_shots: 100, seed_simulator: 1}}
    pubs: [{{circuit: bell}}]
"""

CUT = (
    "m.yaml:5:13: $.execution.max_time: max_time 1d 2h is longer than the instance's maximum "
    "TTL; the session will use 8h (jobs still queued then fail)"
)


def _bell(folder: Path, max_time: str, mode: str = "session") -> Path:
    manifest = folder / "m.yaml"
    manifest.write_text(BELL.format(max_time=max_time, mode=mode), encoding="utf-8")
    return manifest


class TestMaxTimeAboveTheInstance:
    """If max_time is longer than the instance's maximum TTL, plan and run say so at its
    place, with the TTL the session gets instead."""

    def test_plan_warns(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert main(["plan", "m.yaml"]) == 1  # no such file yet: a plain refusal
        capsys.readouterr()
        _bell(tmp_path, "26h")
        assert main(["plan", "m.yaml"]) == 0
        assert f"  warning: {CUT}\n" in capsys.readouterr().out
        assert main(["plan", "--json", "m.yaml"]) == 0
        assert json.loads(capsys.readouterr().out)["warnings"] == [CUT]

    @pytest.mark.parametrize(("max_time", "mode"), [("8h", "session"), ("26h", "job")])
    def test_plan_is_quiet_when_nothing_is_cut(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        max_time: str,
        mode: str,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        _bell(tmp_path, max_time, mode)
        assert main(["plan", "m.yaml"]) == 0
        assert "warning" not in capsys.readouterr().out

    @pytest.mark.slow
    def test_run_warns_and_records(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        _bell(tmp_path, "26h")
        assert main(["run", "m.yaml", "-o", "out"]) == 0
        assert f"qrun: warning: {CUT}\n" in capsys.readouterr().err
        run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
        assert run["warnings"] == [CUT]
        assert run["session"]["details_start"]["max_time"] == 8 * 3600
        assert f"- warning: {CUT}\n" in (tmp_path / "out" / "summary.md").read_text("utf-8")


# ------------------------------------------------------------------ qrun serve params


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        client = Api(server.url)
        yield client
        client.close()


def _packed(data: bytes) -> dict[str, object]:
    return {
        "__type__": "ndarray",
        "__value__": base64.standard_b64encode(zlib.compress(data)).decode("ascii"),
    }


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _rotation() -> QuantumCircuit:
    circuit = QuantumCircuit(1)
    circuit.rx(Parameter("theta"), 0)
    circuit.measure_all()
    return circuit


def _sampler_body(values: object, shots: int = 16) -> dict[str, object]:
    params = json.loads(
        json.dumps({"pubs": [(_rotation(), [0.5], shots)], "version": 2}, cls=RuntimeEncoder)
    )
    params["pubs"][0][1] = values
    return {"program_id": "sampler", "backend": "aer", "params": params}


def _qpy_with_qubits(qubits: int) -> dict[str, object]:
    """A one-qubit circuit's QPY whose header claims ``qubits`` qubits."""
    from qiskit.qpy import formats

    circuit = QuantumCircuit(1, name="claimed")
    circuit.h(0)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    data = bytearray(buffer.getvalue())
    start = data.index(b"claimed") - formats.CIRCUIT_HEADER_V12_SIZE
    end = start + formats.CIRCUIT_HEADER_V12_SIZE
    fields = list(struct.unpack(formats.CIRCUIT_HEADER_V12_PACK, data[start:end]))
    fields[3] = qubits
    data[start:end] = struct.pack(formats.CIRCUIT_HEADER_V12_PACK, *fields)
    return {
        "__type__": "QuantumCircuit",
        "__value__": base64.standard_b64encode(zlib.compress(bytes(data))).decode("ascii"),
    }


def _refused(api: Api, body: dict[str, object], expected: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = api.post("/jobs", body)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert answer.status_code == 400, answer.text
    assert expected in answer.json()["errors"][0]["message"]
    assert grown < 200, f"the service grew by {grown:.0f} MB to refuse it"


class TestServiceParams:
    """If a job's params carry non-finite numbers or sizes beyond the limits, the service
    answers 400 naming the place before it builds anything from them."""

    def test_nan_parameter_value(self, api: Api) -> None:
        body = _sampler_body(_packed(_npy(np.array([[math.nan]]))))
        _refused(api, body, "params.pubs[0][1]: numbers must be finite, found NaN or infinity")

    def test_infinite_coefficient(self, api: Api) -> None:
        circuit = QuantumCircuit(1)
        circuit.h(0)
        params = json.loads(json.dumps({"pubs": [(circuit, "Z")]}, cls=RuntimeEncoder))
        params["pubs"][0][1] = {"Z": math.inf}
        body = {"program_id": "estimator", "backend": "aer", "params": params}
        _refused(api, body, "params.pubs[0][1]: numbers must be finite, got inf")

    def test_infinite_precision(self, api: Api) -> None:
        body = _sampler_body(None)
        body["program_id"] = "estimator"
        params = json.loads(json.dumps({"pubs": [(_rotation(), "Z", [0.5])]}, cls=RuntimeEncoder))
        params["options"] = {"default_precision": math.inf}
        body["params"] = params
        _refused(api, body, "params.options.default_precision: expected a positive number")

    @pytest.mark.parametrize("precision", [1e-9, 1e-160, 1e-300])
    def test_precision_finer_than_the_shots_limit(self, api: Api, precision: float) -> None:
        body = _sampler_body(None)
        body["program_id"] = "estimator"
        params = json.loads(json.dumps({"pubs": [(_rotation(), "Z", [0.5])]}, cls=RuntimeEncoder))
        params["options"] = {"default_precision": precision}
        body["params"] = params
        _refused(api, body, "params.options.default_precision: ")
        _refused(api, body, "shots, more than the limit")

    def test_array_header_larger_than_its_data(self, api: Api) -> None:
        body = _sampler_body(_packed(_npy_claiming((10**12, 1))))
        _refused(api, body, "ndarray: its header declares shape (1000000000000, 1) of <f8")

    def test_array_of_objects(self, api: Api) -> None:
        body = _sampler_body(_packed(_npy_claiming((1, 1), "|O")))
        _refused(api, body, "ndarray: expected numbers, not '|O'")

    def test_too_many_parameter_sets(self, api: Api) -> None:
        body = _sampler_body(_packed(_npy(np.zeros((2_000_000, 1)))))
        _refused(api, body, "2,000,000 parameter sets, more than the limit of 1,000,000")

    def test_too_many_shots(self, api: Api) -> None:
        body = _sampler_body(_packed(_npy(np.zeros((1, 1)))), shots=10**12)
        _refused(api, body, "params.pubs[0][2]: 1,000,000,000,000 shots, more than the limit")

    def test_qpy_claiming_a_huge_register(self, api: Api) -> None:
        body = _sampler_body(None)
        body["params"]["pubs"][0][0] = _qpy_with_qubits(100_000_000)  # type: ignore[index]
        _refused(api, body, "QuantumCircuit: 100,000,000 qubits or bits, more than the limit")

    def test_served_meanwhile(self, api: Api) -> None:
        assert api.post("/jobs", _sampler_body(_packed(_npy(np.zeros((2, 1)))))).status_code == 200


def _npy_claiming(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A ``.npy`` document whose header claims ``shape`` of ``descr`` but holds one float."""
    from numpy.lib import format as npy

    buffer = io.BytesIO()
    npy.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + np.zeros(1).tobytes()
