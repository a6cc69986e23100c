"""Quantum programs (``executor`` jobs) computed by the engine itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime.quantum_program import QuantumProgram

from qrun.clock import SystemClock, VirtualClock
from qrun.engine import Engine, ThreadExecutor
from qrun.errors import BackendError, JobError

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow


@pytest.fixture(params=["system", "virtual"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    clock = SystemClock() if request.param == "system" else VirtualClock()
    engine = Engine(clock, ThreadExecutor())
    yield engine
    engine.shutdown()


def _flip_program(shots: int) -> QuantumProgram:
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    program = QuantumProgram(shots=shots)
    program.append_circuit_item(circuit)
    return program


class TestExecutorJobs:
    """If an executor job runs on the engine, its program result is read like any result."""

    def test_program_result_holds_the_measured_bits(self, engine: Engine) -> None:
        job = engine.submit("executor", [_flip_program(20)], backend="aer")
        session = engine.open_session("aer")
        in_session = engine.submit(
            "executor", [_flip_program(5)], backend="aer", session_id=session.session_id
        )
        (item,) = list(job.program_result(timeout=600))
        assert item["c"].shape == (20, 1)
        assert np.all(item["c"])
        assert in_session.program_result(timeout=600)[0]["c"].shape == (5, 1)
        assert in_session.session_id == session.session_id
        listed = engine.jobs(session_id=session.session_id)
        assert [found.job_id() for found in listed] == [in_session.job_id()]
        session.close()

    def test_reading_the_wrong_kind_of_result_is_an_error(self, engine: Engine) -> None:
        job = engine.submit("executor", [_flip_program(5)], backend="aer")
        with pytest.raises(JobError, match="program_result"):
            job.result(timeout=600)
        job.program_result(timeout=600)

    def test_an_executor_job_needs_one_quantum_program(self, engine: Engine) -> None:
        with pytest.raises(BackendError, match="exactly one QuantumProgram"):
            engine.submit("executor", [QuantumCircuit(1)], backend="aer")
