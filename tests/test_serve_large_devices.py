"""Jobs on 127- and 156-qubit fake backends through ``qrun serve`` with the unmodified
client: the service simulates the qubits a circuit touches, so they finish."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import EstimatorV2, SamplerV2

from qrun.client import service
from qrun.serve.config import parse_config
from tests.serve_support import ADMIN_KEY, PREMIUM, QUIET_CLIENT, Admin, served

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import QiskitRuntimeService

CONFIG = parse_config(
    {
        "instances": {"premium": {"crn": PREMIUM, "plan": "premium"}},
        "api_keys": {"key": ["premium"]},
        "backends": ["fake_sherbrooke", "fake_torino"],
        "admin_key": ADMIN_KEY,
    }
)


pytestmark = QUIET_CLIENT


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(CONFIG) as address:
        yield address


def _ghz(size: int, measured: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(size)
    circuit.h(0)
    for qubit in range(size - 1):
        circuit.cx(qubit, qubit + 1)
    if measured:
        circuit.measure_all()
    return circuit


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fake_sherbrooke", "fake_torino"])
class TestLargeDevices:
    """If a small circuit is transpiled for a large device, the client's sampler and
    estimator (with mitigation and twirling options set) get results, not a memory error."""

    def test_sampler_counts_are_a_noisy_ghz(self, url: str, name: str) -> None:
        client: QiskitRuntimeService = service(url, token="key", instance=PREMIUM)
        backend = client.backend(name)
        isa = generate_preset_pass_manager(1, backend=backend, seed_transpiler=3).run(
            _ghz(4, measured=True)
        )
        assert isa.num_qubits == backend.num_qubits  # laid out on the whole device
        job = SamplerV2(mode=backend).run([isa], shots=2000)
        Admin(url).advance(3600)
        counts = job.result()[0].data.meas.get_counts()
        assert sum(counts.values()) == 2000
        assert counts.get("0000", 0) + counts.get("1111", 0) > 1300

    def test_estimator_reads_the_correlation(self, url: str, name: str) -> None:
        client: QiskitRuntimeService = service(url, token="key", instance=PREMIUM)
        backend = client.backend(name)
        isa = generate_preset_pass_manager(1, backend=backend, seed_transpiler=3).run(
            _ghz(4, measured=False)
        )
        observable = SparsePauliOp("IIZZ").apply_layout(isa.layout)
        options = {"resilience_level": 1, "twirling": {"enable_gates": True}}
        job = EstimatorV2(mode=backend, options=options).run([(isa, observable, None, 0.05)])
        Admin(url).advance(3600)
        result = job.result()[0]
        assert 0.6 < float(result.data.evs) <= 1.0
        assert result.metadata["shots"] >= 400
