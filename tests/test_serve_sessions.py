"""Sessions, batches and jobs driven through the unmodified qiskit-ibm-runtime client."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Batch, EstimatorV2, SamplerV2, Session
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeProgramNotFound

from qrun.client import service
from qrun.serve import Server, create_app
from qrun.serve.config import parse_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import IBMBackend, QiskitRuntimeService

PREMIUM = "crn:v1:test:premium::"
OPEN = "crn:v1:test:open::"
CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "open": {"crn": OPEN, "plan": "open"},
        },
        "api_keys": {"key": ["premium", "open"]},
        "backends": ["aer", "fake_manila"],
    }
)


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
def premium(url: str) -> QiskitRuntimeService:
    return service(url, token="key", instance=PREMIUM)


@pytest.fixture(scope="module")
def backend(premium: QiskitRuntimeService) -> IBMBackend:
    return premium.backend("aer")


def _bell(backend: IBMBackend, measure: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    isa: QuantumCircuit = transpile(circuit, backend, optimization_level=1)
    return isa


class TestSessionWorkflow:
    """If a user runs primitives in a Session, results and states follow the service."""

    def test_sampler_and_estimator_in_a_session(self, backend: IBMBackend) -> None:
        with Session(backend=backend, max_time="25m") as session:
            assert session.status() == "Pending"
            counts = SamplerV2(mode=session).run([_bell(backend)]).result()[0].data.meas
            bell = _bell(backend, measure=False)
            observables = [
                SparsePauliOp(label).apply_layout(bell.layout) for label in ("ZZ", "XX", "ZI")
            ]
            evs = EstimatorV2(mode=session).run([(bell, observables)]).result()[0].data.evs
            assert session.status() == "In progress, accepting new jobs"
            details = session.details()
        shares = {key: value / counts.num_shots for key, value in counts.get_counts().items()}
        assert set(shares) == {"00", "11"}
        assert shares["00"] == pytest.approx(0.5, abs=0.05)
        np.testing.assert_allclose(evs, [1.0, 1.0, 0.0], atol=0.1)
        assert details is not None
        assert details["max_time"] == 1500
        assert details["mode"] == "dedicated"
        assert details["state"] == "active"
        assert session.status() == "Closed"

    def test_cancel_closes_and_is_idempotent(self, backend: IBMBackend) -> None:
        session = Session(backend=backend)
        session.cancel()
        assert session.status() == "Closed"
        session.cancel()
        assert session.status() == "Closed"

    def test_server_refuses_jobs_after_the_session_closed(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        session = Session(backend=backend)
        # Closed behind the client's back (another client, a TTL): the server must refuse.
        premium._get_api_client().close_session(session.session_id)
        with pytest.raises(IBMRuntimeError, match="409"):
            SamplerV2(mode=session).run([_bell(backend)])


class TestBatchAndJobs:
    """If a user runs a Batch, its jobs can be listed, retrieved and cancelled."""

    def test_batch_jobs_retrieved_by_id_and_listed(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        with Batch(backend=backend) as batch:
            sampler = SamplerV2(mode=batch)
            sampler.options.environment.job_tags = ["sweep"]
            jobs = [sampler.run([_bell(backend)], shots=100) for _ in range(2)]
            results = [job.result() for job in jobs]
        assert [r[0].data.meas.num_shots for r in results] == [100, 100]
        again = premium.job(jobs[0].job_id())
        assert again.status() == "DONE"
        assert again.session_id == batch.session_id
        assert again.result()[0].data.meas.get_counts() == results[0][0].data.meas.get_counts()
        listed = premium.jobs(session_id=batch.session_id, job_tags=["sweep"], limit=10)
        assert sorted(job.job_id() for job in listed) == sorted(job.job_id() for job in jobs)
        assert jobs[0].metrics()["timestamps"]["finished"] is not None
        assert "created" in jobs[0].logs()

    def test_cancelling_an_ended_job_is_refused(self, backend: IBMBackend) -> None:
        with Batch(backend=backend) as batch:
            job = SamplerV2(mode=batch).run([_bell(backend)], shots=100)
            job.result()
            with pytest.raises(IBMRuntimeError, match="cannot be cancelled"):
                job.cancel()
        assert job.status() == "DONE"

    def test_job_queued_behind_an_active_session_can_be_cancelled(
        self, premium: QiskitRuntimeService
    ) -> None:
        qpu = premium.backend("fake_manila")
        session = Session(backend=qpu)
        SamplerV2(mode=session).run([_bell(qpu)], shots=10).result()
        # The active session holds the one-job-at-a-time device: a job-mode job waits.
        waiting = SamplerV2(mode=qpu).run([_bell(qpu)], shots=10)
        assert premium.job(waiting.job_id()).status() == "QUEUED"
        waiting.cancel()
        assert premium.job(waiting.job_id()).status() == "CANCELLED"
        session.close()


class TestRefusals:
    """If a request is not allowed, the client raises the error the real service causes."""

    def test_open_plan_cannot_open_a_session(self, url: str) -> None:
        open_plan = service(url, token="key", instance=OPEN)
        with pytest.raises(RequestsApiError, match="Open Plan") as raised:
            Session(backend=open_plan.backend("aer"))
        assert raised.value.status_code == 403

    def test_open_plan_may_run_a_batch(self, url: str) -> None:
        open_plan = service(url, token="key", instance=OPEN)
        aer = open_plan.backend("aer")
        with Batch(backend=aer) as batch:
            result = SamplerV2(mode=batch).run([_bell(aer)], shots=10).result()
        assert result[0].data.meas.num_shots == 10

    def test_other_instance_cannot_see_a_job(self, url: str, backend: IBMBackend) -> None:
        job = SamplerV2(mode=backend).run([_bell(backend)], shots=10)
        job.result()
        open_plan = service(url, token="key", instance=OPEN)
        with pytest.raises(IBMRuntimeError, match="not found"):
            open_plan.job(job.job_id())

    def test_unknown_program_is_not_found(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        with pytest.raises(RuntimeProgramNotFound):
            premium._run(program_id="circuit-runner", inputs={}, options={"backend": backend.name})

    def test_executor_program_with_bad_params_is_a_bad_request(
        self, premium: QiskitRuntimeService, backend: IBMBackend
    ) -> None:
        with pytest.raises(IBMRuntimeError, match=r"invalid_params.*schema_version") as caught:
            premium._run(program_id="executor", inputs={}, options={"backend": backend.name})
        assert not isinstance(caught.value, RuntimeProgramNotFound)
