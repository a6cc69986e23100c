"""Local runs: ``backend.options`` applied or refused, and only the touched qubits simulated."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.manifest.model import JSON

MANIFEST = """\
qrun: 1
metadata: {{name: local}}
backend:
  name: {backend}
  options:
{options}
transpile: {{optimization_level: 1, seed: 11}}
circuits:
  main:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[{width}] q;
{body}
    measure_all: true
primitives:
  - sampler:
    name: counts
    options: {{default_shots: 500, seed_simulator: 5}}
    pubs:
      - circuit: main
"""


def _ghz(width: int) -> str:
    lines = ["      h q[0];"] + [f"      cx q[{i}], q[{i + 1}];" for i in range(width - 1)]
    return "\n".join(lines)


def _write(
    folder: Path,
    *,
    options: dict[str, object],
    backend: str = "aer",
    width: int = 3,
    body: str | None = None,
) -> Path:
    rendered = "\n".join(f"    {key}: {value}" for key, value in options.items()) or "    {}"
    if not options:
        rendered = "    max_parallel_threads: 0"
    path = folder / "local.yaml"
    path.write_text(
        MANIFEST.format(
            backend=backend,
            options=rendered,
            width=width,
            body=_ghz(width) if body is None else body,
        )
    )
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _run(path: Path, folder: Path) -> dict[str, object]:
    assert main(["run", str(path), "-o", str(folder / "record")]) == 0
    run = json.loads((folder / "record" / "run.json").read_text())
    assert isinstance(run, dict)
    return run


def _counts(folder: Path) -> dict[str, int]:
    results = json.loads((folder / "record" / "results.json").read_text())
    (primitive,) = results["primitives"]
    (pub,) = primitive["pubs"]
    counts: dict[str, int] = pub["registers"]["meas"]["counts"]
    return counts


class TestOptionsAreCheckedNotIgnored:
    """If a manifest sets a simulator option, the run applies it or plan refuses it at
    its place."""

    def test_unknown_option_is_refused_with_a_suggestion(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _write(tmp_path, options={"max_memroy_mb": 100})
        assert main(["validate", str(path)]) == 1
        out = capsys.readouterr().out
        line = _line_of(path, "max_memroy_mb")
        assert f"local.yaml:{line}:5: $.backend.options.max_memroy_mb: unknown key" in out
        assert "did you mean 'max_memory_mb'?" in out

    def test_gpu_on_a_cpu_only_aer_is_refused_at_plan(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from qiskit_aer import AerSimulator

        if "GPU" in AerSimulator().available_devices():
            pytest.skip("this qiskit-aer has a GPU: the device is honoured")
        path = _write(tmp_path, options={"device": "GPU"})
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        line = _line_of(path, "device: GPU")
        assert f"local.yaml:{line}:13: $.backend.options.device: device 'GPU' is not " in err
        assert "simulates on CPU only" in err
        assert "Traceback" not in err

    def test_a_t_gate_under_the_stabilizer_method_is_refused_at_the_method(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        body = "      h q[0];\n      t q[0];\n      cx q[0], q[1];"
        path = _write(tmp_path, options={"method": "stabilizer"}, width=2, body=body)
        assert main(["run", str(path), "-o", str(tmp_path / "record")]) == 1
        err = capsys.readouterr().err
        line = _line_of(path, "method: stabilizer")
        assert f"local.yaml:{line}:13: $.backend.options.method: method 'stabilizer' " in err
        assert f"circuit 'main' (line {_line_of(path, 'qasm: |')}, column 5)" in err
        assert "it uses t," in err
        assert not (tmp_path / "record").exists()

    @pytest.mark.parametrize("method", ["unitary", "superop", "tensor_network"])
    def test_methods_that_cannot_sample_here_are_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
    ) -> None:
        path = _write(tmp_path, options={"method": method})
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        assert f"$.backend.options.method: method {method!r}" in err

    def test_applied_options_are_recorded(self, tmp_path: Path) -> None:
        options = {"method": "stabilizer", "precision": "single", "max_parallel_threads": 1}
        run = _run(_write(tmp_path, options=options, width=60), tmp_path)
        simulator = run["backend"]["simulator"]  # type: ignore[index]
        assert simulator["options"] == {**options, "device": "CPU"}
        assert simulator["noise"] == "none (ideal)"
        circuit = simulator["circuits"]["main"]
        assert circuit["method"] == "stabilizer"
        assert circuit["method_chosen_by"] == "manifest"
        # 60 qubits run only because the stabilizer method was really used.
        assert set(_counts(tmp_path)) == {"0" * 60, "1" * 60}

    def test_options_for_large_simulations_pass_through_and_are_recorded(
        self, tmp_path: Path
    ) -> None:
        options = {"blocking_enable": "true", "blocking_qubits": 2, "shot_branching_enable": "true"}
        run = _run(_write(tmp_path, options=options, width=4), tmp_path)
        recorded = run["backend"]["simulator"]["options"]  # type: ignore[index]
        assert recorded["blocking_enable"] is True
        assert recorded["blocking_qubits"] == 2
        assert recorded["shot_branching_enable"] is True
        assert set(_counts(tmp_path)) == {"0000", "1111"}

    def test_a_gpu_only_option_on_the_cpu_is_refused_at_its_place(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _write(tmp_path, options={"batched_shots_gpu": "true"})
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        line = _line_of(path, "batched_shots_gpu")
        assert (
            f"local.yaml:{line}:24: $.backend.options.batched_shots_gpu: batched_shots_gpu "
            "applies only to a GPU simulation; set device: GPU or remove it"
        ) in err

    def test_mps_runs_a_40_qubit_ghz_on_aer(self, tmp_path: Path) -> None:
        run = _run(_write(tmp_path, options={"method": "matrix_product_state"}, width=40), tmp_path)
        circuit = run["backend"]["simulator"]["circuits"]["main"]  # type: ignore[index]
        assert circuit["method"] == "matrix_product_state"
        assert circuit["simulated_qubits"] == 40
        assert set(_counts(tmp_path)) == {"0" * 40, "1" * 40}

    def test_automatic_picks_the_stabilizer_for_a_wide_clifford_circuit(
        self, tmp_path: Path
    ) -> None:
        run = _run(_write(tmp_path, options={}, width=50), tmp_path)
        circuit = run["backend"]["simulator"]["circuits"]["main"]  # type: ignore[index]
        assert (circuit["method"], circuit["method_chosen_by"]) == ("stabilizer", "qrun")


class TestOnlyTouchedQubitsAreSimulated:
    """If a circuit is transpiled for a 127-qubit device, its run simulates only the
    qubits it touches, and gives what the whole device would."""

    def test_sampler_counts_equal_the_whole_device_simulation(self, tmp_path: Path) -> None:
        from qiskit_aer import AerSimulator
        from qiskit_aer.primitives import SamplerV2

        from qrun.manifest.load import load_manifest
        from qrun.providers.local import LocalProvider
        from qrun.run.plan import make_plan

        path = _write(tmp_path, options={}, backend="fake_sherbrooke", width=3)
        run = _run(path, tmp_path)
        circuit = run["backend"]["simulator"]["circuits"]["main"]  # type: ignore[index]
        assert circuit["device_qubits"] == 127
        assert len(circuit["simulated_qubits"]) == 3
        provider = LocalProvider()
        try:
            plan = make_plan(load_manifest(path), provider)
            fake = provider.engine.backend_spec("fake_sherbrooke").fake
            whole = SamplerV2.from_backend(AerSimulator.from_backend(fake), seed=5)
            expected = whole.run([plan.circuits["main"]], shots=500).result()[0]
        finally:
            provider.shutdown()
        assert _counts(tmp_path) == expected.data.meas.get_counts()

    def test_estimator_values_agree_with_the_whole_device_simulation(self, tmp_path: Path) -> None:
        """q0 flipped, q1 in |+>, q2 untouched: <IIZ> = -1, <IXI> = 1, and on the idle
        qubit <ZII> = 1, <XII> = 0. A qubit mapped wrongly would be off by 1 or 2; the
        two simulations sample noise trajectories of their own, so they agree within
        their statistics (about 0.03 each for 1,024 trajectories)."""
        from qiskit_aer import AerSimulator
        from qiskit_aer.primitives import EstimatorV2

        from qrun.manifest.load import load_manifest
        from qrun.providers.local import LocalProvider
        from qrun.run.plan import make_plan

        path = tmp_path / "est.yaml"
        body = "      x q[0];\n      h q[1];"
        path.write_text(
            _write(tmp_path, options={}, backend="fake_sherbrooke", width=3, body=body)
            .read_text()
            .replace("    measure_all: true\n", "")
            .replace(
                "primitives:\n",
                "observables:\n  a: {IIZ: 1.0}\n  b: {IXI: 1.0}\n  c: {ZII: 1.0}\n"
                "  d: {XII: 1.0}\n  e: {ZII: 2.0, XII: 3.0, IIZ: 0.5}\nprimitives:\n",
            )
            .replace(
                "  - sampler:\n    name: counts\n    options: {default_shots: 500, "
                "seed_simulator: 5}\n    pubs:\n      - circuit: main\n",
                "  - estimator:\n    name: e\n    options: {default_precision: 0.001, "
                "seed_simulator: 5}\n    pubs:\n      - circuit: main\n"
                "        observables: [a, b, c, d, e]\n",
            )
        )
        assert main(["run", str(path), "-o", str(tmp_path / "est")]) == 0
        results = json.loads((tmp_path / "est" / "results.json").read_text())
        evs = results["primitives"][0]["pubs"][0]["evs"]
        assert evs == pytest.approx([-1.0, 1.0, 1.0, 0.0, 1.5], abs=0.15)
        provider = LocalProvider()
        try:
            plan = make_plan(load_manifest(path), provider)
            fake = provider.engine.backend_spec("fake_sherbrooke").fake
            whole = EstimatorV2.from_backend(
                AerSimulator.from_backend(fake), options={"run_options": {"seed_simulator": 5}}
            )
            expected = whole.run([plan.primitives[0].pubs[0].pub]).result()[0].data.evs
        finally:
            provider.shutdown()
        assert evs == pytest.approx(list(expected), abs=0.15)


class TestAerWithADevicesNoise:
    """``aer`` with ``noise_model: fake_<name>``: the device's noise and target, on a
    simulator that runs jobs side by side."""

    def test_counts_equal_the_fake_backend_with_the_same_seed(self, tmp_path: Path) -> None:
        (tmp_path / "aer").mkdir()
        (tmp_path / "fake").mkdir()
        noisy = _write(tmp_path / "aer", options={"noise_model": "fake_manila"})
        fake = _write(tmp_path / "fake", options={}, backend="fake_manila")
        run = _run(noisy, tmp_path / "aer")
        _run(fake, tmp_path / "fake")
        counts = _counts(tmp_path / "aer")
        assert counts == _counts(tmp_path / "fake")
        assert set(counts) - {"000", "111"}  # the device's errors are there
        simulator = run["backend"]["simulator"]  # type: ignore[index]
        assert simulator["options"]["noise_model"] == "fake_manila"
        assert simulator["noise"] == "fake_manila's, on the simulated qubits"

    def test_the_ideal_simulator_still_runs_jobs_side_by_side(self) -> None:
        from qrun.manifest.model import Backend
        from qrun.providers.local import LocalProvider

        provider = LocalProvider()
        try:
            options: dict[str, JSON] = {"noise_model": "fake_manila"}
            backend = Backend(kind="aer", name="aer", path="$.backend", options=options)
            resolved = provider.resolve(backend)
            assert resolved.num_qubits == 5  # transpiled for the device
            channel = provider.open(resolved, "batch", None)
            assert channel.runs_side_by_side
            channel.close()
        finally:
            provider.shutdown()

    @pytest.mark.parametrize(
        ("backend", "value", "expected"),
        [
            (
                "aer",
                "fake_manilla",
                "unknown fake device 'fake_manilla'; did you mean 'fake_manila'?",
            ),
            ("fake_lima", "fake_manila", "noise_model is for the aer simulator"),
        ],
    )
    def test_a_noise_model_that_cannot_apply_is_refused_at_its_place(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        backend: str,
        value: str,
        expected: str,
    ) -> None:
        path = _write(tmp_path, options={"noise_model": value}, backend=backend)
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        line = _line_of(path, "noise_model")
        assert f"local.yaml:{line}:18: $.backend.options.noise_model: {expected}" in err
        assert "Traceback" not in err


class TestObservableReduction:
    """If an observable acts on idle qubits, each factor there takes its value in |0>."""

    def test_idle_factors(self) -> None:
        from qiskit.quantum_info import SparseObservable

        from qrun.providers.reduction import reduce_observable

        observable = SparseObservable.from_sparse_list(
            [("ZZ", [0, 3], 2.0), ("XZ", [1, 3], 1.0), ("Z1", [3, 2], 4.0), ("+", [4], 3.0)],
            num_qubits=5,
        )
        reduced = reduce_observable(observable, qubits=(0, 3), num_qubits=5)
        expected = SparseObservable.from_sparse_list(
            [("ZZ", [0, 1], 2.0), ("", [], 1.5)], num_qubits=2
        )
        assert reduced.simplify() == expected.simplify()


class TestEveryAcceptedOptionIsApplied:
    """If the schema accepts a simulator option, qrun passes it to Aer, and Aer knows it."""

    def test_schema_and_registry_agree(self) -> None:
        from qiskit_aer import AerSimulator

        from qrun.manifest.schema import schema
        from qrun.providers.simulator import AER_OPTIONS

        backend = schema()["$defs"]["backend"]
        options = backend["properties"]["options"]
        assert options["additionalProperties"] is False
        assert set(options["properties"]) == set(AER_OPTIONS)
        defaults = AerSimulator._default_options()
        assert [name for name in AER_OPTIONS if not hasattr(defaults, name)] == []

    def test_every_option_reaches_the_simulator(self) -> None:
        from qrun.providers.simulator import AER_OPTIONS, SimulatorSettings

        given: dict[str, JSON] = {
            "method": "matrix_product_state",
            "device": "CPU",
            "precision": "single",
            "max_parallel_threads": 1,
            "max_parallel_experiments": 1,
            "max_parallel_shots": 1,
            "max_memory_mb": 100,
            "fusion_enable": False,
            "fusion_threshold": 10,
            "fusion_max_qubit": 3,
            "statevector_parallel_threshold": 12,
            "matrix_product_state_max_bond_dimension": 8,
            "matrix_product_state_truncation_threshold": 1e-10,
            "mps_sample_measure_algorithm": "mps_probabilities",
            "noise_model": "fake_manila",
            "blocking_enable": True,
            "blocking_qubits": 10,
            "chunk_swap_buffer_qubits": 8,
            "accept_distributed_results": False,
            "shot_branching_enable": True,
            "shot_branching_sampling_enable": False,
            "mps_parallel_threshold": 14,
            "mps_omp_threads": 1,
            "mps_lapack": False,
            "mps_swap_direction": "mps_swap_right",
            "batched_shots_gpu": True,
            "batched_shots_gpu_max_qubits": 12,
            "num_threads_per_device": 2,
            "cuStateVec_enable": False,
        }
        assert set(given) == set(AER_OPTIONS)
        settings = SimulatorSettings.from_options(given)
        # The noise model is named here and built by the simulation from the device.
        assert settings.noise_model == "fake_manila"
        built = {name: value for name, value in given.items() if name != "noise_model"}
        assert settings.aer_options(settings.method) == built
        assert settings.applied() == given
