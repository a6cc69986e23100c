"""``qrun plan`` counts the shots a run takes: its figures equal what the run used.

Each primitive below is one way of setting shots or precision (none, the options' defaults,
the PUB's own, both). The plan's circuit executions for it must be the shots the run
reports in its results' metadata (a sampler's ``shots``, an estimator's
``target_precision``) times the parameter sets times the measurement settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main

if TYPE_CHECKING:
    from collections.abc import Mapping

EXAMPLES = Path(__file__).resolve().parent.parent / "spec" / "examples"

HEADER = """\
qrun: 1
backend:
  name: aer
circuits:
  bell:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      h q[0];
      cx q[0], q[1];
    measure_all: true
  bell-unmeasured:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      h q[0];
      cx q[0], q[1];
  rotated:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      input float theta;
      qubit[2] q;
      ry(theta) q[0];
      cx q[0], q[1];
observables:
  zz: {ZZ: 1}
  zi: {ZI: 1}
  xx: {XX: 1}
primitives:
"""


@dataclass(frozen=True)
class Case:
    """A primitive, and the shots per parameter set and measurement setting it must take."""

    name: str
    text: str  # the primitive's entry under ``primitives:``
    shots: int
    parameter_sets: int = 1
    settings: int = 1  # measurement settings (qubit-wise commuting groups)


CASES = (
    Case("sampler-default", "sampler:\n  pubs: [{circuit: bell}]", 4096),
    Case(
        "sampler-default-shots",
        "sampler:\n  options: {default_shots: 300}\n  pubs: [{circuit: bell}]",
        300,
    ),
    Case(
        "sampler-pub-shots",
        "sampler:\n  options: {default_shots: 300}\n  pubs: [{circuit: bell, shots: 50}]",
        50,
    ),
    Case(
        "estimator-default",
        "estimator:\n  pubs: [{circuit: bell-unmeasured, observables: [zz, zi]}]",
        4096,
    ),
    Case(
        "estimator-default-shots",
        "estimator:\n  options: {default_shots: 100}\n"
        "  pubs: [{circuit: bell-unmeasured, observables: [zz, zi]}]",
        100,
    ),
    Case(
        "estimator-default-precision",
        "estimator:\n  options: {default_precision: 0.02}\n"
        "  pubs: [{circuit: bell-unmeasured, observables: [zz, zi]}]",
        2500,
    ),
    Case(  # default_shots overrides default_precision, as the client documents
        "estimator-shots-and-precision",
        "estimator:\n  options: {default_shots: 400, default_precision: 0.02}\n"
        "  pubs: [{circuit: bell-unmeasured, observables: [zz, zi]}]",
        400,
    ),
    Case(
        "estimator-pub-precision",
        "estimator:\n  options: {default_shots: 100}\n"
        "  pubs: [{circuit: bell-unmeasured, observables: [zz], precision: 0.05}]",
        400,
    ),
    Case(
        "estimator-sweep",
        "estimator:\n  options: {default_shots: 200}\n  pubs:\n"
        "    - circuit: rotated\n      observables: [[zi], [xx]]\n"
        "      parameter_values: {linspace: {start: 0, stop: 1, num: 3}}",
        200,
        parameter_sets=3,
        settings=2,
    ),
)


def _manifest(cases: tuple[Case, ...]) -> str:
    entries = []
    for case in cases:
        kind, rest = case.text.split("\n", 1)
        entries.append(f"  - {kind}\n    name: {case.name}\n" + _indent(rest, 2))
    return HEADER + "".join(entries)


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def _plan(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """Circuit executions per primitive, as ``qrun plan --json`` shows them."""
    assert main(["plan", str(path), "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    return {
        primitive["name"]: sum(pub["executions"] for pub in primitive["pubs"])
        for primitive in view["primitives"]
    }


def _run(path: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """Shots per parameter set and measurement setting each primitive's one PUB took,
    from the run record's results metadata."""
    assert main(["run", str(path), "--output", str(folder)]) == 0
    capsys.readouterr()
    document = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    used: dict[str, int] = {}
    for primitive in document["primitives"]:
        (pub,) = primitive["pubs"]
        used[primitive["name"]] = _shots(primitive["kind"], pub["metadata"])
    return used


def _shots(kind: str, metadata: Mapping[str, float]) -> int:
    if kind == "sampler":
        return int(metadata["shots"])
    return round(1 / metadata["target_precision"] ** 2)  # precision 1/sqrt(n) for n shots


class TestPlanCountsWhatRuns:
    """If a manifest is planned and then run, the plan's executions are the run's."""

    def test_every_way_of_setting_shots(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "shots.yaml"
        path.write_text(_manifest(CASES), encoding="utf-8")
        planned = _plan(path, capsys)
        used = _run(path, tmp_path / "run", capsys)
        assert used == {case.name: case.shots for case in CASES}
        assert planned == {
            case.name: used[case.name] * case.parameter_sets * case.settings for case in CASES
        }

    @pytest.mark.parametrize(
        ("options", "shots"),
        [("default_precision: 0.02", 2500), ("default_shots: 100", 100)],
        ids=["as-written", "default-shots"],
    )
    def test_fake_backend_example(
        self, options: str, shots: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The estimator measures ZZ and ZI, one measurement setting, on a noisy backend."""
        text = (EXAMPLES / "fake-backend.yaml").read_text(encoding="utf-8")
        path = tmp_path / "fake-backend.yaml"
        path.write_text(text.replace("default_precision: 0.02", options), encoding="utf-8")
        planned = _plan(path, capsys)
        used = _run(path, tmp_path / "run", capsys)
        assert used == {"counts": 4000, "correlations": shots}
        assert planned == used
