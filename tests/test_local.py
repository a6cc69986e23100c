"""The local surface: Runtime-style code runs unchanged on the engine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import real_amplitudes
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qrun.clock import SystemClock, VirtualClock
from qrun.engine import Engine, Instance, NullExecutor, ThreadExecutor
from qrun.errors import PricingPlanError, QrunError, SessionClosedError, SessionError
from qrun.manifest.model import JobOptions
from qrun.testing import Batch, EstimatorV2, LocalService, SamplerV2, Session

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qrun.testing import LocalBackend


@pytest.fixture
def service() -> Iterator[LocalService]:
    engine = Engine(VirtualClock(), NullExecutor(), instances=[Instance("local")])
    yield LocalService(engine)
    engine.shutdown()


@pytest.fixture
def computing() -> Iterator[LocalService]:
    """A service whose jobs compute on Aer, on the system clock."""
    engine = Engine(SystemClock(), ThreadExecutor())
    yield LocalService(engine)
    engine.shutdown()


def measured() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    return circuit


class TestSessionBlock:
    """If a `with Session(...)` block ends, the session closes exactly as close() does."""

    def test_open_5_leaving_the_block_closes_and_drains(self, service: LocalService) -> None:
        """OPEN-5"""
        with Session(backend=service.backend("fake_manila")) as session:
            sampler = SamplerV2()
            job = sampler.run([measured()])
            assert job.session_id == session.session_id
        assert session.status() == "In progress, not accepting new jobs"
        with pytest.raises(SessionClosedError):
            sampler.run([measured()])
        job.result()
        assert session.status() == "Closed"

    def test_open_5_idle_block_closes_at_once(self, service: LocalService) -> None:
        """OPEN-5"""
        with Session(service.backend("fake_manila"), max_time="25m") as session:
            assert session.details()["max_time"] == 1500
        assert session.status() == "Closed"

    def test_open_1_session_without_backend_is_refused(self) -> None:
        """OPEN-1"""
        with pytest.raises(SessionError, match="must be opened on a backend"):
            Session()

    def test_primitive_outside_any_mode_is_refused(self) -> None:
        with pytest.raises(SessionError, match="no execution mode"):
            SamplerV2()

    def test_plan_1_open_plan_session_refused_batch_allowed(self) -> None:
        """PLAN-1"""
        engine = Engine(VirtualClock(), NullExecutor(), instances=[Instance("free", plan="open")])
        service = LocalService(engine, instance="free")
        backend = service.backend("fake_manila")
        with pytest.raises(PricingPlanError, match="batch mode or job mode"):
            Session(backend)
        with Batch(backend) as batch:
            job = SamplerV2().run([measured()])
        assert job.result() is not None and batch.details()["mode"] == "batch"
        assert SamplerV2(mode=backend).run([measured()]).result() is not None


class TestOptions:
    """If options are set as on Runtime, jobs carry them."""

    def test_options_dict_and_attributes(self, service: LocalService) -> None:
        estimator = EstimatorV2(
            mode=service.backend("aer"),
            options={"default_shots": 10_000, "environment": {"job_tags": ["a"]}},
        )
        estimator.options.environment.job_tags = ["cobyla"]
        job = estimator.run([(QuantumCircuit(1), "Z")])
        assert job.job_tags == ["cobyla"]
        assert job.work.pubs[0].precision == pytest.approx(0.01)  # type: ignore[union-attr]
        assert service.jobs(tags=["cobyla"]) == [job]

    @pytest.mark.parametrize(
        ("options", "precision", "expected"),
        [
            ({"default_precision": 0.05}, None, 0.05),
            ({"default_shots": 400, "default_precision": 0.02}, None, 0.05),
            ({"default_shots": 400}, 0.1, 0.1),
        ],
        ids=["default-precision", "shots-override-precision", "run-precision-wins"],
    )
    def test_estimator_precision_as_the_client_resolves_it(
        self,
        computing: LocalService,
        options: dict[str, object],
        precision: float | None,
        expected: float,
    ) -> None:
        estimator = EstimatorV2(mode=computing.backend("aer"), options=options)
        job = estimator.run([(QuantumCircuit(1), "Z")], precision=precision)
        assert job.result()[0].metadata["target_precision"] == pytest.approx(expected)

    def test_run_shots_are_for_pubs_without_their_own(self, computing: LocalService) -> None:
        sampler = SamplerV2(mode=computing.backend("aer"), options={"default_shots": 10})
        job = sampler.run([(measured(), None, 7), measured()], shots=20)
        assert [pub.metadata["shots"] for pub in job.result()] == [7, 20]

    def test_a_bad_option_value_is_named(self, computing: LocalService) -> None:
        sampler = SamplerV2(mode=computing.backend("aer"), options={"default_shots": 1.5})
        with pytest.raises(QrunError, match="option 'default_shots' must be a whole number"):
            sampler.run([measured()])

    def test_unknown_option_is_named(self) -> None:
        with pytest.raises(QrunError, match=r"options\.environment: unknown option 'tag'"):
            SamplerV2(
                mode=LocalService(Engine(VirtualClock(), NullExecutor())).backend("aer"),
                options={"environment": {"tag": []}},
            )


class TestBackend:
    """If a local backend is transpiled to, the circuit fits its target and runs."""

    def test_fake_backend_transpiles_and_runs(self) -> None:
        engine = Engine(SystemClock(), ThreadExecutor())
        backend: LocalBackend = LocalService(engine).backend("fake_manila")
        assert backend.num_qubits == 5
        circuit = QuantumCircuit(2)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure_all()
        isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
        assert set(isa.count_ops()) - {"barrier"} <= set(backend.operation_names)
        counts = SamplerV2(mode=backend).run([isa], shots=1000).result()[0].data.meas.get_counts()
        assert counts.get("00", 0) + counts.get("11", 0) > 850
        engine.shutdown()

    def test_aer_backend_has_a_generous_target(self, service: LocalService) -> None:
        backend = service.backend("aer")
        assert backend.num_qubits >= 20
        pm = generate_preset_pass_manager(backend=backend, optimization_level=1)
        assert pm.run(real_amplitudes(4, reps=1)).num_qubits >= 4


class TestThreads:
    """If several threads submit into one session, no job is lost and nothing deadlocks."""

    def test_use_2_two_optimisers_share_a_session(self) -> None:
        """USE-2 (the guide's two-VQE threading pattern, real Aer jobs)"""
        engine = Engine(SystemClock(), ThreadExecutor())
        service = LocalService(engine)
        ansatz = real_amplitudes(2, reps=1)
        hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])

        def optimise(estimator: EstimatorV2, seed: int) -> list[float]:
            rng = np.random.default_rng(seed)
            values = []
            for _ in range(15):
                params = rng.uniform(0, np.pi, ansatz.num_parameters)
                job = estimator.run([(ansatz, hamiltonian, params)])
                values.append(float(job.result(timeout=30)[0].data.evs))
            return values

        with Session(backend=service.backend("aer")) as session, ThreadPoolExecutor() as pool:
            first, second = EstimatorV2(), EstimatorV2()
            first.options.environment.job_tags = ["cobyla"]
            second.options.environment.job_tags = ["nelder-mead"]
            futures = [pool.submit(optimise, first, 1), pool.submit(optimise, second, 2)]
            results = [future.result(timeout=60) for future in futures]
        assert all(len(values) == 15 for values in results)
        assert all(-1.6 < value < 1.6 for values in results for value in values)
        for tag in ("cobyla", "nelder-mead"):
            jobs = service.jobs(tags=[tag])
            assert len(jobs) == 15 and all(job.job_tags == [tag] for job in jobs)
        assert len(service.jobs(session_id=session.session_id, pending=False)) == 30
        assert session.status() == "Closed"
        engine.shutdown()

    @pytest.mark.parametrize("clock_kind", ["system", "virtual"])
    def test_many_threads_lose_no_job(self, clock_kind: str) -> None:
        """USE-2 under load"""
        clock = SystemClock() if clock_kind == "system" else VirtualClock()
        engine = Engine(clock, NullExecutor())
        session = engine.open_session("fake_manila")
        circuit = measured()

        def worker(name: str) -> int:
            for _ in range(100):
                engine.submit(
                    "sampler",
                    [circuit],
                    backend="fake_manila",
                    session_id=session.session_id,
                    options=JobOptions(job_tags=(name,)),
                    duration=1.0,
                ).result(timeout=30)
            return len(engine.jobs(tags=[name]))

        with ThreadPoolExecutor(max_workers=4) as pool:
            counts = list(pool.map(worker, [f"w{i}" for i in range(4)], timeout=60))
        assert counts == [100] * 4
        assert all(job.done() for job in engine.jobs())
        assert len(engine.jobs(session_id=session.session_id)) == 400
        engine.shutdown()
