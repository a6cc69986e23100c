"""A local run is honest about what it did: which options it applied, which only IBM
Quantum applies, and expectation values, shots and errors as shots give them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from qiskit_ibm_runtime.options import EstimatorOptions, SamplerOptions

from qrun.cli import main
from qrun.manifest.load import check, load_manifest
from qrun.providers.runtime import runtime_options

if TYPE_CHECKING:
    from collections.abc import Mapping

EXAMPLES = Path(__file__).resolve().parent.parent / "spec" / "examples"

MITIGATED = """\
qrun: 1
backend:
  name: fake_manila
transpile:
  seed: 3
circuits:
  bell:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      h q[0];
      cx q[0], q[1];
observables:
  zz: {ZZ: 1}
primitives:
  - estimator:
    name: mitigated
    options:
      default_precision: 0.05
      resilience_level: 2
      twirling:
        enable_gates: true
      dynamical_decoupling:
        enable: true
        sequence_type: XpXm
      seed_estimator: 4
    pubs:
      - circuit: bell
        observables: zz
  - estimator:
    name: plain
    options:
      resilience_level: 0
      seed_simulator: 4
    pubs:
      - circuit: bell
        observables: zz
"""

RESILIENCE = (
    "resilience_level 2 (readout mitigation and ZNE with gate twirling) is applied only by "
    "IBM Quantum; this local run is unmitigated"
)

ROTATION = """\
qrun: 1
backend:
  name: aer
circuits:
  rotation:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      input float theta;
      qubit[1] q;
      ry(theta) q[0];
observables:
  z: {{Z: 1}}
  z-twice: {{Z: 0.5, I: 0.25}}
primitives:
  - estimator:
    name: shots
    options:
      default_shots: {shots}
      seed_simulator: 11
    pubs:
      - circuit: rotation
        observables: [z, z-twice]
        parameter_values: {values}
"""


def _write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def _run_json(folder: Path) -> dict[str, object]:
    found: dict[str, object] = json.loads((folder / "run.json").read_text())
    return found


class TestPlanSaysWhatIsNotApplied:
    """If a manifest asks for mitigation on a local backend, ``qrun plan`` says, once and
    where, that the local run does not apply it."""

    def test_each_option_is_named_once_at_its_place(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _write(tmp_path, MITIGATED)
        assert main(["plan", str(path)]) == 0
        out = capsys.readouterr().out
        lines = [line.strip() for line in out.splitlines() if "not applied:" in line]
        assert lines == [
            f"not applied: {path}:21:25: {RESILIENCE}",
            f"not applied: {path}:23:9: twirling (enable_gates true) is applied only by IBM "
            "Quantum; this local run does not twirl",
            f"not applied: {path}:25:9: dynamical decoupling (XpXm) is applied only by IBM "
            "Quantum; idle qubits are not decoupled in this local run",
        ]
        assert "Aer with the noise model of fake_manila" in out

    def test_the_json_plan_lists_applied_options_too(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _write(tmp_path, MITIGATED)
        assert main(["plan", str(path), "--json"]) == 0
        view = json.loads(capsys.readouterr().out)
        applied = {(o["owner"], o["option"]): o["applied"] for o in view["options"]}
        assert applied == {
            ("mitigated", "default_precision"): True,
            ("mitigated", "resilience_level"): False,
            ("mitigated", "twirling"): False,
            ("mitigated", "dynamical_decoupling"): False,
            ("mitigated", "seed_estimator"): True,
            ("plain", "resilience_level"): True,
            ("plain", "seed_simulator"): True,
        }

    def test_options_that_are_off_are_not_reported(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = MITIGATED.replace("enable_gates: true", "enable_gates: false").replace(
            "enable: true", "enable: false"
        )
        assert main(["plan", str(_write(tmp_path, text))]) == 0
        out = capsys.readouterr().out
        assert out.count("not applied:") == 1
        assert RESILIENCE in out


@pytest.mark.slow
class TestRunSaysWhatIsNotApplied:
    """If a manifest with mitigation runs locally, the terminal and the record say that it
    ran unmitigated, and what it did apply."""

    def test_terminal_and_record(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = _write(tmp_path, MITIGATED)
        folder = tmp_path / "record"
        assert main([str(path), "-o", str(folder)]) == 0
        err = capsys.readouterr().err
        assert err.count(RESILIENCE) == 1
        assert f"qrun: not applied: {path}:21:25: {RESILIENCE}" in err
        run = _run_json(folder)
        options = run["options"]
        assert isinstance(options, list)
        level = next(o for o in options if o["option"] == "resilience_level" and o["value"] == 2)
        assert (level["applied"], level["line"], level["column"]) == (False, 21, 25)
        assert level["path"] == "$.primitives[0].options.resilience_level"
        precision = next(o for o in options if o["option"] == "default_precision")
        assert precision["applied"] is True
        assert "400 shots per Pauli term" in precision["note"]
        assert "noise model of fake_manila" in str(run["simulation"])
        summary = (folder / "summary.md").read_text()
        assert "Not applied by this local run" in summary
        assert RESILIENCE in summary

    def test_the_estimate_used_the_shots_the_precision_asks_for(self, tmp_path: Path) -> None:
        path = _write(tmp_path, MITIGATED)
        folder = tmp_path / "record"
        assert main([str(path), "-o", str(folder)]) == 0
        results = json.loads((folder / "results.json").read_text())
        pub = results["primitives"][0]["pubs"][0]
        assert pub["metadata"]["shots"] == 400  # ceil(1 / 0.05²)
        assert pub["metadata"]["target_precision"] == 0.05
        assert -1 <= pub["evs"] <= 1


@pytest.mark.slow
class TestShotBasedEstimates:
    """If an expectation value is estimated locally, it is what that many shots can give:
    a Pauli's estimate in [-1, 1] in steps of 2/shots, and a standard error that matches
    the spread of repeated estimates."""

    def test_repeated_estimates_spread_as_their_errors_say(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        theta, repeats, shots = 1.0, 400, 100
        text = ROTATION.format(shots=shots, values=json.dumps([[[theta]]] * repeats))
        path = _write(tmp_path, text)
        assert main([str(path), "-o", str(tmp_path / "record"), "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        pub = document["primitives"][0]["pubs"][0]
        evs, stds = np.asarray(pub["evs"]), np.asarray(pub["stds"])
        assert evs.shape == stds.shape == (repeats, 2)
        single = evs[:, 0]
        assert np.all(np.abs(single) <= 1)
        readings = (single + 1) / 2 * shots  # the number of +1 readings of each estimate
        assert np.allclose(readings, np.round(readings))
        exact = math.cos(theta)
        spread = float(np.std(single, ddof=1))
        assert abs(float(np.mean(single)) - exact) < 5 * spread / math.sqrt(repeats)
        assert float(np.mean(stds[:, 0])) == pytest.approx(spread, rel=0.15)
        # 0.5·Z + 0.25·I: the identity is exact, so the error is half the Pauli's
        assert np.allclose(evs[:, 1], 0.5 * single + 0.25)
        assert np.allclose(stds[:, 1], 0.5 * stds[:, 0])

    def test_a_state_the_pauli_fixes_reads_exactly(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = ROTATION.format(shots=100, values="[0.0]")
        assert main([str(_write(tmp_path, text)), "-o", str(tmp_path / "r"), "--json"]) == 0
        pub = json.loads(capsys.readouterr().out)["primitives"][0]["pubs"][0]
        assert pub["evs"][0] == 1.0
        assert 0 < pub["stds"][0] < 0.02  # what 100 agreeing shots cannot rule out


class TestShotsAreBounded:
    """If a PUB asks for more shots than the limit (or a precision that needs them), it is
    refused before anything runs, at its place, saying how to raise the limit."""

    def test_absurd_precision(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        text = MITIGATED.replace("default_precision: 0.05", "default_precision: 1.0e-12")
        path = _write(tmp_path, text)
        assert main(["plan", str(path)]) == 1
        err = capsys.readouterr().err
        assert (
            f"{path}:20:26: $.primitives[0].options.default_precision: precision 1e-12 needs "
            "ceil(1/precision²) = 1.00e+24 shots per Pauli term, more than the limit of "
            "10,000,000; set QRUN_LIMIT_SHOTS to raise it (or ask for a coarser precision)"
        ) in err
        assert "Traceback" not in err

    def test_pub_precision_and_shots(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        text = MITIGATED.replace(
            "        observables: zz\n  - estimator:",
            "        observables: zz\n        precision: 0.001\n  - estimator:",
        )
        monkeypatch.setenv("QRUN_LIMIT_SHOTS", "100000")
        (issue,) = check(_write(tmp_path, text))
        assert issue.path == "$.primitives[0].pubs[0].precision"
        assert "= 1,000,000 shots per Pauli term, more than the limit of 100,000" in issue.message
        sampler = (EXAMPLES / "bell.yaml").read_text().replace("4096", "200000")
        (issue,) = check(_write(tmp_path, sampler, "bell.yaml"))
        assert issue.path == "$.primitives[0].options.default_shots"

    def test_the_limit_is_where_a_precision_is_allowed(self, tmp_path: Path) -> None:
        text = MITIGATED.replace("default_precision: 0.05", "default_precision: 0.0003163")
        assert check(_write(tmp_path, text)) == []  # 9,995,503 shots


class TestOptionRulesOfTheClient:
    """If options combine in a way the client refuses, validate says so at the option."""

    def _issues(self, tmp_path: Path, resilience: str) -> list[tuple[str, str]]:
        text = MITIGATED.replace(
            "      twirling:\n", f"      resilience: {resilience}\n      twirling:\n"
        )
        return [(issue.path, issue.message) for issue in check(_write(tmp_path, text))]

    def test_pec_and_zne(self, tmp_path: Path) -> None:
        assert self._issues(tmp_path, "{pec_mitigation: true, zne_mitigation: true}") == [
            (
                "$.primitives[0].options.resilience.pec_mitigation",
                "pec_mitigation and zne_mitigation cannot both be true; set one to false",
            )
        ]

    def test_measurement_learning_without_mitigation(self, tmp_path: Path) -> None:
        found = self._issues(tmp_path, "{measure_noise_learning: {num_randomizations: 8}}")
        assert found == [
            (
                "$.primitives[0].options.resilience.measure_noise_learning",
                "measure_noise_learning is set but measure_mitigation is not true",
            )
        ]

    def test_too_few_noise_factors(self, tmp_path: Path) -> None:
        found = self._issues(
            tmp_path, "{zne: {noise_factors: [1, 3], extrapolator: double_exponential}}"
        )
        assert found == [
            (
                "$.primitives[0].options.resilience.zne.extrapolator",
                "extrapolator double_exponential needs at least 4 noise_factors, given 2",
            )
        ]


class TestRuntimeGetsTheOptionsAsWritten:
    """If a manifest runs on IBM Quantum, its options reach qiskit-ibm-runtime as written
    (no schema default added), and the client's option models accept them."""

    def test_hardware_example(self) -> None:
        manifest = load_manifest(EXAMPLES / "hardware-options.yaml")
        estimator, sampler = manifest.primitives
        sent = runtime_options(estimator.options)
        assert sent == {
            "default_precision": 0.02,
            "resilience_level": 2,
            "resilience": {
                "zne": {"noise_factors": [1, 3, 5], "extrapolator": ["exponential", "linear"]}
            },
            "twirling": {
                "enable_gates": True,
                "num_randomizations": 32,
                "shots_per_randomization": "auto",
            },
            "dynamical_decoupling": {"enable": True, "sequence_type": "XpXm"},
            "seed_estimator": 7,
            "environment": {"job_tags": ["hardware-options"]},
        }
        EstimatorOptions(**sent)  # type: ignore[arg-type]
        sampler_sent: Mapping[str, object] = runtime_options(sampler.options)
        assert sampler_sent["simulator"] == {"seed_simulator": 7}
        assert sampler_sent["execution"] == {"rep_delay": 0.00025}
        SamplerOptions(**sampler_sent)  # type: ignore[arg-type]

    def test_qrun_seed_shorthand_moves_under_simulator(self) -> None:
        manifest = load_manifest(EXAMPLES / "fake-backend.yaml")
        sent = runtime_options(manifest.primitives[0].options)
        assert sent["simulator"] == {"seed_simulator": 21}
        assert "seed_simulator" not in sent
        SamplerOptions(**sent)  # type: ignore[arg-type]
