"""The service's typed JSON agrees with the unmodified client's encoder and decoder."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit_aer.primitives import EstimatorV2, SamplerV2
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder
from qiskit_ibm_runtime.options import EstimatorOptions, SamplerOptions

from qrun.manifest.model import DEFAULT_PRECISION, DEFAULT_SHOTS
from qrun.serve.encoding import (
    MAX_DECODED_BYTES,
    EncodingError,
    Program,
    decode_options,
    decode_pubs,
    encode_result,
)


def _bell(measure: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return circuit


def _as_sent(pubs: list[object], options: dict[str, object] | None = None) -> dict[str, object]:
    """``params`` exactly as the client's encoder puts them on the wire."""
    document = {"pubs": pubs, "options": options or {}, "version": 2, "support_qiskit": True}
    params: dict[str, object] = json.loads(json.dumps(document, cls=RuntimeEncoder))
    return params


def _client_options(options: EstimatorOptions | SamplerOptions) -> dict[str, object]:
    """``params.options`` as the client builds them from its options object."""
    inputs = type(options)._get_program_inputs(asdict(options))
    sent: dict[str, object] = json.loads(json.dumps(inputs["options"], cls=RuntimeEncoder))
    return sent


def _decode(program: Program, params: dict[str, object]) -> list[SamplerPub] | list[EstimatorPub]:
    return decode_pubs(program, params, decode_options(params))


def _as_received(document: dict[str, object]) -> object:
    """What the client's decoder makes of the service's result document."""
    return json.loads(json.dumps(document), cls=RuntimeDecoder)


class TestDecodeSamplerParams:
    """If the client encodes sampler PUBs, the service rebuilds the same PUBs."""

    def test_circuit_values_and_shots_survive(self) -> None:
        theta = Parameter("theta")
        circuit = QuantumCircuit(1)
        circuit.ry(theta, 0)
        circuit.measure_all()
        sent = SamplerPub.coerce((circuit, [[0.1], [0.2], [3.0]]), 123)
        (pub,) = _decode("sampler", _as_sent([sent]))
        assert isinstance(pub, SamplerPub)
        assert pub.shots == 123
        assert pub.shape == (3,)
        assert pub.circuit == circuit
        np.testing.assert_allclose(
            pub.parameter_values.as_array(circuit.parameters), [[0.1], [0.2], [3.0]]
        )

    def test_missing_shots_fall_back_to_options_then_service_default(self) -> None:
        (from_options,) = _decode(
            "sampler", _as_sent([SamplerPub.coerce(_bell())], {"default_shots": 77})
        )
        (from_service,) = _decode("sampler", _as_sent([SamplerPub.coerce(_bell())]))
        assert isinstance(from_options, SamplerPub)
        assert isinstance(from_service, SamplerPub)
        assert (from_options.shots, from_service.shots) == (77, DEFAULT_SHOTS)


class TestDecodeEstimatorParams:
    """If the client encodes estimator PUBs, observables and precision survive."""

    def test_observables_and_precision(self) -> None:
        sent = EstimatorPub.coerce((_bell(measure=False), ["ZZ", "XX"]), 0.01)
        (pub,) = _decode("estimator", _as_sent([sent]))
        assert isinstance(pub, EstimatorPub)
        assert pub.precision == 0.01
        assert pub.observables.tolist() == [{"ZZ": 1.0}, {"XX": 1.0}]

    def test_missing_precision_uses_the_default(self) -> None:
        sent = EstimatorPub.coerce((_bell(measure=False), "ZZ"))
        (pub,) = _decode("estimator", _as_sent([sent]))
        assert isinstance(pub, EstimatorPub)
        assert pub.precision == DEFAULT_PRECISION

    @pytest.mark.parametrize(
        ("options", "precision"),
        [
            (EstimatorOptions(default_precision=0.05), 0.05),
            (EstimatorOptions(default_shots=100), 0.1),
            (EstimatorOptions(default_shots=400, default_precision=0.05), 0.05),
            (EstimatorOptions(default_shots=10_000, default_precision=0.05), 0.01),
        ],
        ids=["precision", "shots", "shots-override-precision", "shots-override-precision-2"],
    )
    def test_options_set_the_precision_as_the_client_documents(
        self, options: EstimatorOptions, precision: float
    ) -> None:
        """default_shots, if set, overrides default_precision (1/sqrt(shots))."""
        sent = EstimatorPub.coerce((_bell(measure=False), "ZZ"))
        (pub,) = _decode("estimator", _as_sent([sent], _client_options(options)))
        assert isinstance(pub, EstimatorPub)
        assert pub.precision == pytest.approx(precision)

    def test_a_pub_precision_wins_over_default_shots(self) -> None:
        sent = EstimatorPub.coerce((_bell(measure=False), "ZZ"), 0.2)
        options = _client_options(EstimatorOptions(default_shots=100))
        (pub,) = _decode("estimator", _as_sent([sent], options))
        assert pub.precision == 0.2


class TestDecodeOptions:
    """If the client sends options, the job runs with them and its tags."""

    def test_seed_shots_and_tags(self) -> None:
        options = SamplerOptions(default_shots=300)
        options.simulator.seed_simulator = 5
        params = _as_sent([SamplerPub.coerce(_bell())], _client_options(options))
        decoded = decode_options(params, ["a", "b"])
        assert (decoded.default_shots, decoded.seed_simulator) == (300, 5)
        assert decoded.job_tags == ("a", "b")

    @pytest.mark.parametrize(
        ("options", "expected"),
        [
            ("fast", "params.options: expected an object"),
            ({"default_shots": 1.5}, "params.options.default_shots: expected a non-negative"),
            ({"default_precision": 0}, "params.options.default_precision: expected a positive"),
        ],
    )
    def test_bad_options_are_named(self, options: object, expected: str) -> None:
        with pytest.raises(EncodingError, match=expected):
            decode_options({"pubs": [], "options": options})


class TestDecodeRefusals:
    """If params are not what the API defines, the error names the PUB and the problem."""

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"pubs": []}, "params.pubs: expected a non-empty list"),
            ({"pubs": [["nope"]]}, r"params.pubs\[0\]\[0\]: expected a QuantumCircuit"),
            (
                {"pubs": [[{"__type__": "QuantumCircuit", "__value__": "!!"}]]},
                "not base64 of zlib",
            ),
            ({"pubs": [[{"__type__": "Mystery", "__value__": 1}]]}, "'Mystery' is not supported"),
        ],
    )
    def test_bad_params(self, params: dict[str, object], expected: str) -> None:
        with pytest.raises(EncodingError, match=expected):
            _decode("sampler", params)

    def test_a_compressed_value_may_not_inflate_without_bound(self) -> None:
        bomb = base64.standard_b64encode(zlib.compress(b"\0" * (MAX_DECODED_BYTES + 1)))
        value = {"__type__": "ndarray", "__value__": bomb.decode("ascii")}
        circuit = QuantumCircuit(1)
        circuit.measure_all()
        pub = json.loads(json.dumps([circuit, None, 10], cls=RuntimeEncoder))
        pub[1] = value
        with pytest.raises(EncodingError, match="ndarray: inflates to more than 64 MiB"):
            _decode("sampler", {"pubs": [pub]})

    def test_wrong_number_of_parameter_values(self) -> None:
        circuit = QuantumCircuit(1)
        circuit.ry(Parameter("a"), 0)
        sent = _as_sent([SamplerPub.coerce((circuit, [0.5]))])
        pubs = sent["pubs"]
        assert isinstance(pubs, list)
        pubs[0][1] = {"__type__": "ndarray", "__value__": [0.5, 0.6]}
        with pytest.raises(EncodingError, match=r"pubs\[0\]\[1\]: 2 parameter values"):
            _decode("sampler", sent)


class TestDecodedCircuits:
    """A circuit sent with every job of a sweep is decoded once, and the same text always
    means the same circuit; the kept circuits are bounded."""

    def test_the_same_text_gives_the_same_circuit_with_each_jobs_own_values(self) -> None:
        circuit = QuantumCircuit(1)
        circuit.ry(Parameter("a"), 0)
        circuit.measure_all()
        first = _decode("sampler", _as_sent([(circuit, [0.1], 10)]))[0]
        second = _decode("sampler", _as_sent([(circuit, [0.7], 20)]))[0]
        assert first.circuit is second.circuit
        assert first.circuit == circuit
        assert first.parameter_values.as_array().tolist() == [0.1]
        assert second.parameter_values.as_array().tolist() == [0.7]
        assert (first.shots, second.shots) == (10, 20)

    def test_a_different_circuit_is_not_taken_for_a_known_one(self) -> None:
        known = _decode("sampler", _as_sent([(_bell(), None, 10)]))[0].circuit
        other = QuantumCircuit(2)
        other.x(1)
        other.measure_all()
        decoded = _decode("sampler", _as_sent([(other, None, 10)]))[0].circuit
        assert decoded == other
        assert decoded != known

    def test_a_broken_text_is_refused_every_time(self) -> None:
        sent = _as_sent([(_bell(), None, 10)])
        pubs = sent["pubs"]
        assert isinstance(pubs, list)
        pubs[0][0]["__value__"] = pubs[0][0]["__value__"][:-8]
        for _ in range(2):
            with pytest.raises(EncodingError, match="QuantumCircuit"):
                _decode("sampler", sent)

    def test_no_more_circuits_are_kept_than_the_bound(self) -> None:
        from qrun.serve import encoding

        for index in range(encoding.DECODED_CIRCUITS + 10):
            circuit = QuantumCircuit(1, name=f"c{index}")
            circuit.measure_all()
            _decode("sampler", _as_sent([(circuit, None, 1)]))
        assert len(encoding._decoded) == encoding.DECODED_CIRCUITS
        assert encoding._decoded.size <= encoding.DECODED_BYTES

    def test_a_circuit_that_inflates_past_the_bound_is_decoded_but_not_kept(self) -> None:
        from qrun.serve import encoding

        circuit = QuantumCircuit(1)
        for _ in range(encoding.DECODED_BYTES_EACH // 16):  # QPY takes more than 16 bytes each
            circuit.x(0)
        circuit.measure_all()
        sent = _as_sent([(circuit, None, 1)])
        text = sent["pubs"][0][0]["__value__"]  # type: ignore[index]
        assert len(text) < encoding.DECODED_BYTES_EACH // 10  # a small text...
        first = _decode("sampler", sent)[0].circuit
        assert first == circuit  # ...that inflates past the bound
        assert _decode("sampler", sent)[0].circuit is not first


class TestEncodeResult:
    """If the service encodes an Aer result, the client decodes the same data."""

    def test_sampler_counts_and_bit_arrays(self) -> None:
        pubs = _decode("sampler", _as_sent([SamplerPub.coerce(_bell(), 500)]))
        result = SamplerV2(seed=7).run(pubs).result()
        decoded = _as_received(encode_result(result))
        (pub_result,) = decoded  # type: ignore[misc]
        assert type(pub_result).__name__ == "SamplerPubResult"
        assert pub_result.data.meas.get_counts() == result[0].data.meas.get_counts()
        assert pub_result.data.meas.array.dtype == np.uint8
        assert pub_result.join_data().num_shots == 500

    def test_estimator_evs_and_stds_with_broadcast_shape(self) -> None:
        sent = EstimatorPub.coerce((_bell(measure=False), [["ZZ", "XX"], ["ZI", "IZ"]]))
        pubs = _decode("estimator", _as_sent([sent]))
        result = EstimatorV2().run(pubs).result()
        decoded = _as_received(encode_result(result))
        (pub_result,) = decoded  # type: ignore[misc]
        assert pub_result.data.shape == (2, 2)
        np.testing.assert_allclose(pub_result.data.evs, result[0].data.evs)
        np.testing.assert_allclose(pub_result.data.stds, result[0].data.stds)
        np.testing.assert_allclose(pub_result.data.evs, [[1.0, 1.0], [0.0, 0.0]], atol=0.1)

    def test_scalar_pub_keeps_an_empty_shape(self) -> None:
        pubs = _decode("estimator", _as_sent([EstimatorPub.coerce((_bell(False), "ZZ"))]))
        decoded = _as_received(encode_result(EstimatorV2().run(pubs).result()))
        (pub_result,) = decoded  # type: ignore[misc]
        assert pub_result.data.shape == ()
        assert float(pub_result.data.evs) == pytest.approx(1.0, abs=0.1)
