"""Real jobs through the engine: Aer and a noisy fake backend give correct results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qrun.clock import SystemClock, VirtualClock
from qrun.engine import Engine, ProcessExecutor, ThreadExecutor
from qrun.engine.backends import backend_spec
from qrun.engine.timing import estimate_duration
from qrun.errors import BackendError
from qrun.manifest.model import JobOptions

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow


def bell(measure: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return circuit


@pytest.fixture(params=["system", "virtual"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    clock = SystemClock() if request.param == "system" else VirtualClock()
    engine = Engine(clock, ThreadExecutor())
    yield engine
    engine.shutdown()


def isa(backend: str, circuit: QuantumCircuit) -> QuantumCircuit:
    target = backend_spec(backend).target
    return generate_preset_pass_manager(optimization_level=1, target=target).run(circuit)


class TestAer:
    """If a Bell state runs on aer, counts split evenly and ⟨ZZ⟩ is exact within the std."""

    def test_bell_sampler(self, engine: Engine) -> None:
        job = engine.submit(
            "sampler", [bell(True)], backend="aer", options=JobOptions(default_shots=4000)
        )
        counts = job.result()[0].data.meas.get_counts()
        assert set(counts) == {"00", "11"}
        assert sum(counts.values()) == 4000
        assert abs(counts["00"] - 2000) < 200

    def test_bell_estimator(self, engine: Engine) -> None:
        observables = [SparsePauliOp("ZZ"), SparsePauliOp("XX"), SparsePauliOp("ZI")]
        exact = np.array([1.0, 1.0, 0.0])
        job = engine.submit(
            "estimator",
            [(bell(False), observables)],
            backend="aer",
            options=JobOptions(seed_simulator=3),
        )
        (found,) = job.result()
        data = found.data
        # ceil(1/(1/64)²) = 4096 shots per Pauli term: ZZ and XX, which the Bell state
        # fixes, read +1 every time; ZI reads ±1 evenly, a standard error of about 1/64
        assert found.metadata["shots"] == 4096
        assert data.evs[:2].tolist() == exact[:2].tolist()
        assert np.all(data.stds > 0) and np.all(data.stds <= 1 / 64 + 1e-12)
        assert data.stds[2] == pytest.approx(1 / 64, rel=0.01)
        assert np.all(np.abs(data.evs - exact) <= 5 * data.stds)

    def test_exact_estimator_with_zero_precision_in_the_pub(self, engine: Engine) -> None:
        job = engine.submit("estimator", [(bell(False), "ZZ", None, 0.0)], backend="aer")
        assert job.result()[0].data.evs == pytest.approx(1.0)

    def test_invalid_pub_is_refused_at_submission(self, engine: Engine) -> None:
        with pytest.raises(BackendError, match="estimator PUBs are invalid"):
            engine.submit("estimator", [(bell(False), "ZZZ")], backend="aer")
        assert engine.jobs() == []


class TestFakeBackend:
    """If a Bell state runs on fake_manila's noise model, results are close to ideal."""

    def test_bell_sampler(self, engine: Engine) -> None:
        job = engine.submit(
            "sampler",
            [isa("fake_manila", bell(True))],
            backend="fake_manila",
            options=JobOptions(default_shots=2000, seed_simulator=11),
        )
        counts = job.result()[0].data.meas.get_counts()
        correlated = counts.get("00", 0) + counts.get("11", 0)
        assert correlated > 0.85 * 2000
        assert abs(counts.get("00", 0) - counts.get("11", 0)) < 300

    def test_bell_estimator(self, engine: Engine) -> None:
        circuit = isa("fake_manila", bell(False))
        observable = SparsePauliOp("ZZ").apply_layout(circuit.layout)
        job = engine.submit("estimator", [(circuit, observable)], backend="fake_manila")
        assert 0.8 < float(job.result()[0].data.evs) <= 1.05


class TestModelledTime:
    """If a virtual clock runs real jobs, each lasts its modelled QPU time."""

    def test_job_lasts_the_estimated_qpu_time(self) -> None:
        engine = Engine(VirtualClock(), ThreadExecutor())
        circuit = isa("fake_manila", bell(True))
        job = engine.submit(
            "sampler", [circuit], backend="fake_manila", options=JobOptions(default_shots=1000)
        )
        assert job.result()[0].data.meas.num_shots == 1000
        expected = estimate_duration(job.work, backend_spec("fake_manila"))
        assert job.finished - job.started == pytest.approx(expected)  # type: ignore[operator]
        # 1000 shots of (circuit + 250 µs repetition delay): a little over a quarter second
        assert 0.25 < expected < 0.3
        engine.shutdown()

    def test_more_shots_take_longer(self) -> None:
        spec = backend_spec("aer")
        engine = Engine(VirtualClock(), ThreadExecutor())
        short, long = (
            engine.submit(
                "sampler", [bell(True)], backend="aer", options=JobOptions(default_shots=n)
            )
            for n in (100, 1000)
        )
        assert estimate_duration(long.work, spec) == pytest.approx(
            10 * estimate_duration(short.work, spec)
        )
        engine.shutdown()


class TestProcessExecutor:
    """If jobs run in worker processes, results come back the same."""

    def test_bell_sampler_in_a_worker_process(self) -> None:
        engine = Engine(SystemClock(), ProcessExecutor(max_workers=1))
        job = engine.submit(
            "sampler", [bell(True)], backend="aer", options=JobOptions(default_shots=500)
        )
        counts = job.result(timeout=60)[0].data.meas.get_counts()
        assert set(counts) == {"00", "11"} and sum(counts.values()) == 500
        engine.shutdown()
