"""What the unmodified client sees of ``qrun serve`` where IBM's service reports more than
results: estimator metadata, private jobs, instance usage, job metrics, calibrations, the
API version header, the programs offered, and how backends are advertised."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from qiskit import QuantumCircuit
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import EstimatorV2, SamplerV2
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (
    IBMRuntimeError,
    RuntimeProgramNotFound,
)

from qrun.client import service
from qrun.clock import VirtualClock
from qrun.serve import Server, create_app
from qrun.serve.api_version import LATEST_API_VERSION
from qrun.serve.config import DEFAULT_CONFIG, parse_config
from tests.serve_support import (
    ADMIN_KEY,
    PREMIUM,
    QUIET_CLIENT,
    Admin,
    Api,
    sampler_params,
    served,
    tiny_circuit,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from qiskit_ibm_runtime import QiskitRuntimeService

LIMITED = "crn:v1:test:limited::"
CONFIG = parse_config(
    {
        "instances": {
            "premium": {"crn": PREMIUM, "plan": "premium"},
            "limited": {"crn": LIMITED, "plan": "premium", "usage_limit": 10},
        },
        "api_keys": {"key": ["premium", "limited"]},
        "backends": ["aer", "fake_manila"],
        "admin_key": ADMIN_KEY,
    }
)


pytestmark = QUIET_CLIENT


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(CONFIG) as address:
        yield address


@pytest.fixture(scope="module")
def client(url: str) -> QiskitRuntimeService:
    return service(url, token="key", instance=PREMIUM)


@pytest.fixture(scope="module")
def admin(url: str) -> Admin:
    return Admin(url)


def _z_pub(precision: float | None = None) -> tuple[object, ...]:
    circuit = QuantumCircuit(1)
    circuit.x(0)
    if precision is None:
        return (circuit, SparsePauliOp("Z"))
    return (circuit, SparsePauliOp("Z"), None, precision)


def _estimate(client: QiskitRuntimeService, admin: Admin, options: dict[str, object]) -> object:
    estimator = EstimatorV2(mode=client.backend("aer"), options=options)
    job = estimator.run([_z_pub(), _z_pub(0.1)])
    admin.advance(3600)
    return job.result()


class TestEstimatorMetadata:
    """If an estimator job ends, its metadata says what IBM's says: shots, randomizations."""

    def test_default_options_twirl_measurements(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        result = _estimate(client, admin, {})
        first, second = result[0].metadata, result[1].metadata  # type: ignore[index]
        assert (first["shots"], first["target_precision"], first["num_randomizations"]) == (
            4096,
            0.015625,
            32,
        )
        assert (second["shots"], second["num_randomizations"]) == (128, 2)  # 100 → 2 × 64
        twirling = result.metadata["twirling"]  # type: ignore[attr-defined]
        assert (twirling["enable_gates"], twirling["enable_measure"]) == (False, True)
        assert twirling["num_randomizations"] == "auto"
        assert result.metadata["resilience"]["measure_mitigation"] is True  # type: ignore[attr-defined]

    def test_without_twirling_shots_follow_precision(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        result = _estimate(client, admin, {"resilience_level": 0, "default_shots": 1000})
        assert [pub.metadata["shots"] for pub in result] == [1000, 100]  # type: ignore[attr-defined]
        assert all("num_randomizations" not in pub.metadata for pub in result)  # type: ignore[attr-defined]

    def test_given_randomizations_are_obeyed(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        options = {"twirling": {"num_randomizations": 10, "shots_per_randomization": 50}}
        result = _estimate(client, admin, options)
        assert [pub.metadata["shots"] for pub in result] == [500, 500]  # type: ignore[attr-defined]
        assert [pub.metadata["num_randomizations"] for pub in result] == [10, 10]  # type: ignore[attr-defined]
        assert result.metadata["twirling"]["shots_per_randomization"] == 50  # type: ignore[attr-defined]


class TestPrivateJobs:
    """If a job is private, it says so, hides its params, and its result is read once."""

    def test_private_job(self, url: str, client: QiskitRuntimeService, admin: Admin) -> None:
        sampler = SamplerV2(mode=client.backend("aer"), options={"environment": {"private": True}})
        job = sampler.run([(tiny_circuit(), None, 8)])
        admin.advance(60)
        fetched = client.job(job.job_id())
        assert fetched.private is True
        assert "params" not in Api(url).get(f"/jobs/{job.job_id()}").json()
        assert fetched.result()[0].data.c.get_counts() == {"1": 8}
        with pytest.raises(RequestsApiError, match="read once"):
            fetched.result()

    def test_a_job_not_private_is_read_again(
        self, client: QiskitRuntimeService, admin: Admin
    ) -> None:
        job = SamplerV2(mode=client.backend("aer")).run([(tiny_circuit(), None, 8)])
        admin.advance(60)
        assert job.private is False
        assert job.result()[0].data.c.get_counts() == job.result()[0].data.c.get_counts()


class TestUsage:
    """If jobs end, the instance's usage grows; at its limit the client's jobs are refused."""

    def test_usage_grows_until_the_limit(self, url: str, admin: Admin) -> None:
        limited = service(url, token="key", instance=LIMITED)
        before = limited.usage()
        assert before["usage_limit_seconds"] == 10
        assert before["usage_remaining_seconds"] == 10
        assert before["usage_limit_reached"] is False
        admin.call("POST", "/durations", {"default_seconds": 6})
        try:
            sampler = SamplerV2(mode=limited.backend("aer"))
            sampler.run([(tiny_circuit(), None, 8)])
            admin.advance(6)
            middle = limited.usage()
            assert (middle["usage_consumed_seconds"], middle["usage_remaining_seconds"]) == (6, 4)
            sampler.run([(tiny_circuit(), None, 8)])
            admin.advance(6)
        finally:
            admin.call("POST", "/durations", {"default_seconds": None})
        after = limited.usage()
        assert (after["usage_consumed_seconds"], after["usage_remaining_seconds"]) == (12, 0)
        assert after["usage_limit_reached"] is True
        with (
            pytest.warns(UserWarning, match="usage limit"),
            pytest.raises(IBMRuntimeError, match="403"),
        ):
            sampler.run([(tiny_circuit(), None, 8)])

    def test_a_deleted_job_stays_counted(self, client: QiskitRuntimeService, admin: Admin) -> None:
        admin.call("POST", "/durations", {"default_seconds": 5})
        job = SamplerV2(mode=client.backend("aer")).run([(tiny_circuit(), None, 8)])
        admin.call("POST", "/durations", {"default_seconds": None})
        admin.advance(5)
        consumed = client.usage()["usage_consumed_seconds"]
        client.delete_job(job.job_id())
        assert client.usage()["usage_consumed_seconds"] == consumed
        assert "usage_limit_seconds" not in client.usage()


class TestMetrics:
    """If a job is queued, its metrics place it; once it ends, they give its final usage."""

    def test_queued_then_final(self, client: QiskitRuntimeService, admin: Admin) -> None:
        admin.advance(3600)  # whatever earlier tests left has ended
        admin.call("POST", "/durations", {"default_seconds": 30})
        sampler = SamplerV2(mode=client.backend("fake_manila"))
        circuit = tiny_circuit()
        jobs = [sampler.run([(circuit, None, 8)]) for _ in range(3)]
        admin.call("POST", "/durations", {"default_seconds": None})
        now = admin.call("GET", "/clock").json()["now"]
        last = jobs[2].metrics()
        assert last["position_in_queue"] == 2
        assert last["estimated_start_time"] > now
        assert last["estimated_completion_time"] > last["estimated_start_time"]
        assert last["usage"]["status"] == "pending"
        assert jobs[2].usage() == 0
        assert "qiskit_ibm_runtime-" in last["qiskit_version"]
        assert (last["num_circuits"], last["num_qubits"]) == (1, [1])
        admin.advance(90)
        final = jobs[2].metrics()
        assert final["usage"] == {
            "quantum_seconds": 30,
            "seconds": 30,
            "qpu_charge_time_seconds": 30,
            "status": "final",
        }
        assert "position_in_queue" not in final
        assert final["timestamps"]["running"] < final["timestamps"]["finished"]
        assert jobs[2].usage() == 30


class TestCalibrations:
    """If a calibration id is named, the backend's own is served and any other refused."""

    def test_known_and_unknown_calibration(self, url: str, client: QiskitRuntimeService) -> None:
        devices = Api(url).get("/backends").json()["devices"]
        known = next(item["calibration_id"] for item in devices if item["name"] == "fake_manila")
        assert known
        backend = client.backend("fake_manila", calibration_id=known)
        assert backend.calibration_id == known
        with pytest.raises(QiskitBackendNotFoundError):
            client.backend("fake_manila", calibration_id="not-a-calibration")

    def test_a_job_with_an_unknown_calibration_is_refused(self, url: str) -> None:
        api = Api(url)
        body = {
            "program_id": "sampler",
            "backend": "fake_manila",
            "params": sampler_params(),
            "calibration_id": "not-a-calibration",
        }
        answer = api.post("/jobs", body)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "invalid_calibration_id"


class TestApiVersion:
    """If a request names an API version this service does not serve, it is refused."""

    def test_the_clients_version_is_served(self, client: QiskitRuntimeService) -> None:
        from qiskit_ibm_runtime.api.rest.base import RestAdapterBase

        assert RestAdapterBase._HEADER_API_VERSION["IBM-API-Version"] == LATEST_API_VERSION
        assert client.backends()

    @pytest.mark.parametrize("version", ["2099-01-01", "yesterday", "2023-12-31"])
    def test_unknown_versions_are_400(self, url: str, version: str) -> None:
        api = Api(url)
        answer = httpx.get(
            f"{url}/api/v1/backends", headers={**api.headers, "IBM-API-Version": version}
        )
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "invalid_api_version"
        assert LATEST_API_VERSION in answer.json()["errors"][0]["message"]


class TestPrograms:
    """If the client asks for the noise learner, it is refused with the reason."""

    def test_noise_learner_is_refused(self, client: QiskitRuntimeService) -> None:
        from qiskit_ibm_runtime.noise_learner import NoiseLearner

        circuit = QuantumCircuit(2)
        circuit.cx(0, 1)
        learner = NoiseLearner(mode=client.backend("aer"))
        with pytest.raises(RuntimeProgramNotFound, match="not offered by qrun serve"):
            learner.run([circuit])


class TestAdvertisedBackends:
    """If the client looks for real devices, every served backend qualifies (none is a
    simulator, as none is on IBM's service)."""

    def test_least_busy_may_pick_aer(self, client: QiskitRuntimeService) -> None:
        names = {backend.name for backend in client.backends(simulator=False)}
        assert names == {"aer", "fake_manila"}
        assert client.least_busy(simulator=False).name in names
        assert client.backends(simulator=True) == []


class TestRestart:
    """If the service restarts on its data directory, usage, private reads and metrics
    stay as they were."""

    def test_state_survives(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        with Server(create_app(CONFIG, clock=VirtualClock(), data_dir=data)) as server:
            api, admin = Api(server.url), Admin(server.url)
            admin.call("POST", "/durations", {"default_seconds": 4})
            kept = api.submit()
            body = {"program_id": "sampler", "backend": "aer", "params": sampler_params()}
            answer = api.post("/jobs", {**body, "private": True})
            read = answer.json()["id"]
            deleted = api.submit()
            admin.advance(12)
            assert api.get(f"/jobs/{read}/results").status_code == 200
            assert api.request("DELETE", f"/jobs/{deleted}").status_code == 204
            usage = api.get("/instances/usage").json()
            metrics = api.get(f"/jobs/{kept}/metrics").json()
        with Server(create_app(CONFIG, clock=VirtualClock(), data_dir=data)) as server:
            api = Api(server.url)
            assert api.get("/instances/usage").json() == usage
            assert usage["usage_consumed_seconds"] == 12
            assert api.get(f"/jobs/{read}/results").status_code == 404
            assert api.get(f"/jobs/{read}").json()["private"] is True
            assert api.get(f"/jobs/{kept}/metrics").json() == metrics


class TestDefaultConfiguration:
    """If the conformance suite runs against the default ``qrun serve --virtual-clock``,
    every scenario passes and none is skipped for want of an instance."""

    @pytest.mark.slow
    def test_strict_conformance_with_no_skip(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from qrun.conformance.suite import run_suite

        for name in ("QISKIT_IBM_TOKEN", "QRUN_RUNTIME_URL", "QRUN_RUNTIME_REAL_TIME"):
            monkeypatch.delenv(name, raising=False)
        app = create_app(DEFAULT_CONFIG, clock=VirtualClock())
        admin_key = app.state.serve.admin_key
        assert admin_key is not None
        monkeypatch.setenv("QRUN_ADMIN_KEY", admin_key)
        with Server(app) as server:
            run = run_suite("runtime", options={"url": server.url})
        assert not run.failed, run.output
        assert not run.skipped, [record.reason for record in run.scenarios if record.reason]
        assert any(
            "TTL-7" in record.rule_ids for record in run.scenarios if record.outcome == "passed"
        )
