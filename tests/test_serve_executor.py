"""The client-side primitives (program ``executor``) driven through the unmodified client."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Executor, Session
from qiskit_ibm_runtime.executor_estimator import Estimator
from qiskit_ibm_runtime.executor_sampler import Sampler
from qiskit_ibm_runtime.options_models import ExecutorOptions
from qiskit_ibm_runtime.quantum_program import QuantumProgram
from qiskit_ibm_runtime.quantum_program.params_converters import (
    QUANTUM_PROGRAM_PARAMS_CONVERTERS,
)

from qrun.client import service
from qrun.clock import VirtualClock
from qrun.engine import Engine, ProcessExecutor
from qrun.serve import Server, create_app
from tests.serve_support import CONFIG, PREMIUM, Admin, Api, tiny_circuit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import IBMBackend, QiskitRuntimeService


@pytest.fixture(autouse=True)
def _quiet_client() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with Server(create_app(CONFIG)) as server:
        yield server.url


@pytest.fixture(scope="module")
def virtual_url() -> Iterator[str]:
    with Server(create_app(CONFIG, clock=VirtualClock())) as server:
        yield server.url


@pytest.fixture(scope="module")
def premium(url: str) -> QiskitRuntimeService:
    return service(url, token="key", instance=PREMIUM)


@pytest.fixture(scope="module")
def backend(premium: QiskitRuntimeService) -> IBMBackend:
    return premium.backend("aer")


def _isa(circuit: QuantumCircuit, backend: IBMBackend) -> QuantumCircuit:
    isa: QuantumCircuit = transpile(circuit, backend, optimization_level=1)
    return isa


def _bell(measure: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return circuit


class TestExecutorSampler:
    """If a user runs the client-side Sampler in a Session, it is an engine job there."""

    def test_bell_counts_are_even_and_the_job_belongs_to_the_session(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        with Session(backend=backend) as session:
            job = Sampler(mode=session).run([_isa(_bell(), backend)], shots=1000)
            counts = job.result()[0].data.meas.get_counts()
            assert job.status() == "DONE"
            assert session.status() == "In progress, accepting new jobs"
            details = session.details()
        assert set(counts) == {"00", "11"}
        assert sum(counts.values()) == 1000
        assert counts["00"] / 1000 == pytest.approx(0.5, abs=0.08)
        assert details is not None
        assert details["state"] == "active"
        assert details["last_job_completed"] is not None
        assert job.session_id == session.session_id
        listed = premium.jobs(session_id=session.session_id, limit=10)
        assert [found.job_id() for found in listed] == [job.job_id()]
        assert listed[0].primitive_id == "executor"

    def test_a_job_fetched_again_decodes_to_the_same_counts(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        with Session(backend=backend) as session:
            job = Sampler(mode=session).run([_isa(_bell(), backend)], shots=200)
            first = job.result()[0].data.meas.get_counts()
        again = premium.job(job.job_id())
        assert again.status() == "DONE"
        assert again.session_id == session.session_id
        assert again.result()[0].data.meas.get_counts() == first

    def test_a_parameter_sweep_keeps_its_shape_and_values(self, backend: IBMBackend) -> None:
        theta = Parameter("theta")
        circuit = QuantumCircuit(1)
        circuit.rx(theta, 0)
        circuit.measure_all()
        with Session(backend=backend) as session:
            pub = (_isa(circuit, backend), [[0.0], [np.pi]])
            bits = Sampler(mode=session).run([pub], shots=50).result()[0].data.meas
        assert bits.shape == (2,)
        assert bits[0].get_counts() == {"0": 50}
        assert bits[1].get_counts() == {"1": 50}


class TestExecutorInWorkerProcesses:
    """If the service computes in worker processes (as ``qrun serve`` does), programs run too."""

    def test_bell_counts_from_a_process_executor(self) -> None:
        engine = Engine(executor=ProcessExecutor(max_workers=1))
        with Server(create_app(CONFIG, engine=engine)) as server:
            aer = service(server.url, token="key", instance=PREMIUM).backend("aer")
            with Session(backend=aer) as session:
                job = Sampler(mode=session).run([_isa(_bell(), aer)], shots=400)
                counts = job.result()[0].data.meas.get_counts()
        assert set(counts) == {"00", "11"}
        assert sum(counts.values()) == 400


class TestExecutorEstimator:
    """If a user runs the client-side Estimator in a Session, its values are the exact ones."""

    def test_bell_expectation_values_within_a_few_standard_errors(
        self, backend: IBMBackend
    ) -> None:
        bell = _isa(_bell(measure=False), backend)
        observables = [
            SparsePauliOp(label).apply_layout(bell.layout) for label in ("ZZ", "XX", "ZI")
        ]
        with Session(backend=backend) as session:
            data = Estimator(mode=session).run([(bell, observables)], precision=0.03).result()[0]
        evs, stds = np.asarray(data.data.evs), np.asarray(data.data.stds)
        assert evs.shape == (3,)
        assert np.all(np.abs(evs - [1.0, 1.0, 0.0]) <= 5 * stds + 0.01)
        assert np.all(stds < 0.1)


def _program_params(shots: int) -> dict[str, object]:
    """``params`` of a one-circuit quantum program, as the client's Executor writes them."""
    program = QuantumProgram(shots=shots)
    program.append_circuit_item(tiny_circuit())
    model = QUANTUM_PROGRAM_PARAMS_CONVERTERS["v2.0"].encoder(program, ExecutorOptions())
    params: dict[str, object] = model.model_dump(mode="json")
    return params


class TestExecutorProgram:
    """If a user runs a QuantumProgram with the Executor, its raw item results come back."""

    def test_items_return_their_measured_bits(self, backend: IBMBackend) -> None:
        flip = QuantumCircuit(2, 2)
        flip.x(1)
        flip.measure([0, 1], [0, 1])
        program = QuantumProgram(shots=30)
        program.append_circuit_item(_isa(flip, backend))
        program.append_circuit_item(_isa(_bell(), backend))
        with Session(backend=backend) as session:
            result = Executor(mode=session).run(program).result()
        first, second = list(result)
        assert first["c"].shape == (30, 2)
        assert np.all(first["c"] == [False, True])
        bell = second["meas"]
        assert bell.shape == (30, 2)
        assert np.all(bell[:, 0] == bell[:, 1])


class TestExecutorOnTheVirtualClock:
    """If the service runs on a virtual clock, a quantum program takes its modelled QPU time."""

    def test_modelled_time_grows_with_shots_and_the_job_ends_after_it(
        self, virtual_url: str
    ) -> None:
        api = Api(virtual_url)
        estimates = []
        for shots in (100, 200):
            answer = api.post(
                "/jobs",
                {"program_id": "executor", "backend": "aer", "params": _program_params(shots)},
            )
            assert answer.status_code == 200, answer.text
            job_id = answer.json()["id"]
            body = api.get(f"/jobs/{job_id}", exclude_params="true").json()
            estimates.append(body["estimated_running_time_seconds"])
        assert estimates[0] > 0
        assert estimates[1] == pytest.approx(2 * estimates[0])
        assert api.status(job_id) in ("Queued", "Running")
        Admin(virtual_url).advance(sum(estimates) + 1)
        assert api.status(job_id) == "Completed"
        assert api.get(f"/jobs/{job_id}/results").json()["schema_version"] == "v2.0"


class TestExecutorRefusals:
    """If an executor job's params are not a quantum program, the service says why."""

    def test_wrong_schema_version_is_refused(self, url: str) -> None:
        api = Api(url)
        answer = api.post(
            "/jobs",
            {"program_id": "executor", "backend": "aer", "params": {"schema_version": "v9"}},
        )
        assert answer.status_code == 400
        assert "schema_version" in answer.json()["errors"][0]["message"]

    def test_missing_quantum_program_is_refused_naming_the_field(self, url: str) -> None:
        api = Api(url)
        answer = api.post(
            "/jobs",
            {"program_id": "executor", "backend": "aer", "params": {"schema_version": "v2.0"}},
        )
        assert answer.status_code == 400
        assert "params.quantum_program" in answer.json()["errors"][0]["message"]

    def test_an_unknown_program_is_still_not_found(self, url: str) -> None:
        api = Api(url)
        answer = api.post("/jobs", {"program_id": "executor-v9", "backend": "aer", "params": {}})
        assert answer.status_code == 404
