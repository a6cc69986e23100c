"""``qrun plan``: what a run would submit, shown before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.cli import main

if TYPE_CHECKING:
    import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "spec" / "examples"

FAKE = """\
qrun: 1
backend:
  name: fake_manila
execution:
  max_time: {max_time}
transpile:
  optimization_level: 1
  seed: 3
circuits:
  bell:
    qasm: |
      OPENQASM 2.0;
      include "qelib1.inc";
      qreg q[2];
      creg c[2];
      h q[0];
      cx q[0], q[1];
      measure q -> c;
primitives:
  - sampler:
    name: counts
    options:
      default_shots: 4000
    pubs:
      - circuit: bell
"""


def _plan_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["plan", str(path), "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert isinstance(view, dict)
    return view


class TestPlanShowsTheWork:
    """If a manifest is planned, the resolved backend, ISA circuits and jobs are shown and
    nothing is submitted."""

    def test_bell_on_aer(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["plan", str(EXAMPLES / "bell.yaml")]) == 0
        out = capsys.readouterr().out
        assert "backend  aer (aer via local)" in out
        assert "mode     session, max_time 25m" in out
        assert "bell" in out and "2 qubits" in out and "2q gates     1" in out
        assert "4,096 circuit executions" in out
        assert "tags bell" in out

    def test_json_has_sizes_and_no_estimate_on_an_ideal_simulator(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        view = _plan_json(EXAMPLES / "bell.yaml", capsys)
        assert view["backend"] == "aer"
        assert view["jobs"] == 1
        assert view["circuits"] == {
            "bell": {"qubits": 2, "depth": 3, "size": 4, "two_qubit_gates": 1, "measurements": 2}
        }
        assert view["estimated_qpu_seconds"] is None
        assert view["warnings"] == []

    def test_fake_backend_gets_a_qpu_time_estimate(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = tmp_path / "fake.yaml"
        manifest.write_text(FAKE.format(max_time="25m"))
        view = _plan_json(manifest, capsys)
        estimate = view["estimated_qpu_seconds"]
        assert isinstance(estimate, float)
        # 4000 shots of a few-microsecond circuit plus the repetition delay: about a second
        assert 0.5 < estimate < 5
        assert view["warnings"] == []


class TestPlanWarnsBeforeMaxTtl:
    """If the estimated QPU time exceeds max_time, the plan says queued jobs would fail."""

    def test_warning(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        manifest = tmp_path / "tight.yaml"
        manifest.write_text(FAKE.format(max_time=1))
        view = _plan_json(manifest, capsys)
        warnings = view["warnings"]
        assert isinstance(warnings, list) and len(warnings) == 1
        assert "more than max_time 1s" in warnings[0]
        assert "fail" in warnings[0]


class TestPlanReportsProblems:
    """If a problem only Qiskit can see is in the manifest, plan reports it at its place."""

    def test_observable_wider_than_circuit(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = tmp_path / "wide.yaml"
        manifest.write_text(
            FAKE.format(max_time="5m").replace(
                "primitives:",
                "observables:\n  zzz:\n    ZZZ: 1.0\nprimitives:\n"
                "  - estimator:\n    name: e\n    pubs:\n"
                "      - circuit: bell\n        observables: zzz",
            )
        )
        assert main(["plan", str(manifest)]) == 1
        err = capsys.readouterr().err
        assert f"{manifest}:" in err
        assert "$.primitives[0].pubs[0].observables" in err
