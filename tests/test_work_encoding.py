"""Work sent to worker processes: circuits and observables cross once, values every time."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from qiskit.circuit.library import efficient_su2
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.quantum_info import SparsePauliOp

from qrun.engine.work import Work
from qrun.engine.workers import MAX_SHARED, WorkDecoder, WorkEncoder

CIRCUIT = efficient_su2(2, reps=1)
# One observables array for every job, as a workload's cost keeps it.
OBSERVABLES = ObservablesArray.coerce(SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)]))


def work(values: list[float], circuit: object = CIRCUIT) -> Work:
    pub = EstimatorPub.coerce((circuit, OBSERVABLES, np.array(values)), 0.01)
    return Work("estimator", "aer", (pub,), seed=7)


VALUES = [0.1 * i for i in range(CIRCUIT.num_parameters)]


class TestSharedObjects:
    """If the same circuit is sent again, only a reference to it crosses."""

    def test_second_job_sends_no_circuit_and_decodes_to_the_same_one(self) -> None:
        encoder, decoder = WorkEncoder(), WorkDecoder()
        first, second = work(VALUES), work([v + 1 for v in VALUES])
        reset, new, payload = encoder.encode(first)
        assert not reset and len(new) == 2  # the circuit and the observables array
        decoded_first = decoder.decode(reset, new, payload)
        reset, new, payload = encoder.encode(second)
        assert (reset, new) == (False, {})
        decoded_second = decoder.decode(reset, new, payload)
        (pub_first,), (pub_second,) = decoded_first.pubs, decoded_second.pubs
        assert pub_second.circuit is pub_first.circuit
        assert pub_second.circuit == CIRCUIT
        np.testing.assert_allclose(
            pub_second.parameter_values.as_array(CIRCUIT.parameters), [v + 1 for v in VALUES]
        )
        assert (decoded_second.program, decoded_second.backend, decoded_second.seed) == (
            "estimator",
            "aer",
            7,
        )
        assert pub_second.precision == 0.01

    def test_the_worker_forgets_everything_when_told_to(self) -> None:
        encoder, decoder = WorkEncoder(), WorkDecoder()
        circuits = [CIRCUIT.copy() for _ in range(MAX_SHARED + 1)]
        messages = [encoder.encode(work(VALUES, circuit)) for circuit in circuits]
        assert any(reset for reset, _, _ in messages)
        decoded = [decoder.decode(*message) for message in messages]
        assert [item.pubs[0].circuit for item in decoded] == circuits

    def test_a_payload_without_its_objects_is_refused(self) -> None:
        _, _, payload = WorkEncoder().encode(work(VALUES))
        with pytest.raises(KeyError):
            WorkDecoder().decode(False, {}, payload)
        with pytest.raises(pickle.UnpicklingError, match="without its worker's objects"):
            pickle.loads(payload)
