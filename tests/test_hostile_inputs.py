"""Hostile and careless manifests: ``validate`` and ``plan`` refuse each with exit 1, no
traceback, the message at the right place, and nothing of a refused file shown.

The inputs are those of ``benchmarks/hostile_inputs.py``, which runs them as whole
processes and measures time and memory; here they run in process.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from benchmarks.hostile_inputs import CASES, Hostile, materialise

from qrun.cli import main

if TYPE_CHECKING:
    from pathlib import Path

RUNS = [
    pytest.param(case, command, id=f"{case.name}-{command}")
    for case in CASES
    for command in case.commands
]


class TestRefused:
    """If a manifest is hostile, the command refuses it where the problem is written."""

    @pytest.mark.parametrize(("case", "command"), RUNS)
    def test_refused_at_its_place(
        self, case: Hostile, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = materialise(case, tmp_path)
        code = main([command, str(manifest)])
        captured = capsys.readouterr()
        output = captured.out + captured.err
        assert "Traceback" not in output
        assert code == 1, output[:2000]
        lines = output.replace(f"{manifest}:", "").splitlines()
        assert any(line.removeprefix("qrun: ").startswith(case.where) for line in lines), (
            f"no line starts with {case.where!r}:\n{output[:2000]}"
        )
        if case.hidden is not None:
            assert case.hidden not in output


BELL = """qrun: 1
backend: {{name: aer}}
execution:
  mode: {mode}
  max_time: {max_time}
circuits:
  bell:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      bit[2] c;
      h q[0];
      cx q[0], q[1];
      c = measure q;
primitives:
  - sampler:
    name: counts
    options: {{default_shots: 100, seed_simulator: 1}}
    pubs: [{{circuit: bell}}]
"""

CUT = (
    "m.yaml:5:13: $.execution.max_time: max_time 1d 2h is longer than the instance's maximum "
    "TTL; the session will use 8h (jobs still queued then fail)"
)


def _bell(folder: Path, max_time: str, mode: str = "session") -> Path:
    manifest = folder / "m.yaml"
    manifest.write_text(BELL.format(max_time=max_time, mode=mode), encoding="utf-8")
    return manifest


class TestMaxTimeAboveTheInstance:
    """If max_time is longer than the instance's maximum TTL, plan and run say so at its
    place, with the TTL the session gets instead."""

    def test_plan_warns(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert main(["plan", "m.yaml"]) == 1  # no such file yet: a plain refusal
        capsys.readouterr()
        _bell(tmp_path, "26h")
        assert main(["plan", "m.yaml"]) == 0
        assert f"  warning: {CUT}\n" in capsys.readouterr().out
        assert main(["plan", "--json", "m.yaml"]) == 0
        assert json.loads(capsys.readouterr().out)["warnings"] == [CUT]

    @pytest.mark.parametrize(("max_time", "mode"), [("8h", "session"), ("26h", "job")])
    def test_plan_is_quiet_when_nothing_is_cut(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        max_time: str,
        mode: str,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        _bell(tmp_path, max_time, mode)
        assert main(["plan", "m.yaml"]) == 0
        assert "warning" not in capsys.readouterr().out

    @pytest.mark.slow
    def test_run_warns_and_records(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        _bell(tmp_path, "26h")
        assert main(["run", "m.yaml", "-o", "out"]) == 0
        assert f"qrun: warning: {CUT}\n" in capsys.readouterr().err
        run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
        assert run["warnings"] == [CUT]
        assert run["session"]["details_start"]["max_time"] == 8 * 3600
        assert f"- warning: {CUT}\n" in (tmp_path / "out" / "summary.md").read_text("utf-8")
