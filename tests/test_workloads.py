"""Iterative workloads: the guide's VQE, two optimisers in one session, bad specs, failures."""

from __future__ import annotations

import json
import textwrap
import threading
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.engine import Engine, ThreadExecutor
from qrun.engine.work import Outcome
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import check, load_manifest
from qrun.providers.local import LocalProvider
from qrun.run.pipeline import RunReport, run_manifest
from qrun.run.results import load_workloads

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.engine.work import Work

EXAMPLES = Path(str(files("qrun.spec") / "examples"))
EXACT_GROUND = -0.70293

ANSATZ = "{library: efficient_su2, args: {num_qubits: 2}}"
HAMILTONIAN = "{YZ: 0.3980, ZI: -0.3980, ZZ: -0.0113, XX: 0.1810}"


def _write(folder: Path, text: str, name: str = "manifest.yaml") -> Path:
    file = folder / name
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


def _workload(name: str, method: str = "cobyla", *, maxiter: int = 25, seed: int = 1) -> str:
    return f"""\
      - name: {name}
        minimize: {{circuit: ansatz, observable: hamiltonian}}
        method: {method}
        x0: {{random: {{seed: {seed}, low: 0, high: 6.283185307179586}}}}
        maxiter: {maxiter}
        options:
          default_shots: 10000
          seed_simulator: {seed}
          environment: {{job_tags: [{name}]}}
"""


def _manifest(workloads: str, *, schedule: str = "concurrent") -> str:
    return (
        "qrun: 1\n"
        "backend: {name: aer}\n"
        f"execution: {{mode: session, workloads: {schedule}}}\n"
        "transpile: {optimization_level: 1, seed: 3}\n"
        f"circuits:\n  ansatz: {ANSATZ}\n"
        f"observables:\n  hamiltonian: {HAMILTONIAN}\n"
        "workloads:\n" + textwrap.indent(textwrap.dedent(workloads), "  ")
    )


class _FailingAfter:
    """Computes jobs with Aer, but fails those of one simulator seed after ``after`` jobs."""

    def __init__(self, seed: int, after: int) -> None:
        self._inner = ThreadExecutor()
        self._seed, self._after, self._count = seed, after, 0
        self._lock = threading.Lock()

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        if work.seed == self._seed:
            with self._lock:
                self._count += 1
                failing = self._count > self._after
            if failing:
                done(Outcome(error="the backend lost its calibration"))
                return
        self._inner.start(work, done)

    def shutdown(self) -> None:
        self._inner.shutdown()


@pytest.fixture(scope="module")
def vqe_run(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """The guide's VQE example, run once for every test that reads it."""
    folder = tmp_path_factory.mktemp("vqe")
    return run_manifest(load_manifest(EXAMPLES / "vqe.yaml"), output=folder / "record")


@pytest.fixture(scope="module")
def two_run(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """The two-optimiser example, run once (Nelder-Mead capped to keep it quick)."""
    folder = tmp_path_factory.mktemp("two")
    text = (EXAMPLES / "vqe-two-optimizers.yaml").read_text("utf-8")
    text = text.replace("maxiter: 400", "maxiter: 120").replace("maxiter: 200", "maxiter: 80")
    file = folder / "two.yaml"
    file.write_text(text, encoding="utf-8")
    return run_manifest(load_manifest(file), output=folder / "record")


class TestGuideVqe:
    """If the guide's VQE runs on aer, it reaches the exact ground energy in one session."""

    def test_reaches_the_exact_ground_energy(self, vqe_run: RunReport) -> None:
        result = vqe_run.outcome.workload_results["vqe"]
        assert result.status == "DONE"
        assert result.energy is not None
        assert abs(result.energy - EXACT_GROUND) < 0.02
        assert result.exact_minimum == pytest.approx(EXACT_GROUND, abs=1e-5)

    def test_every_evaluation_is_one_job_of_the_session(self, vqe_run: RunReport) -> None:
        result = vqe_run.outcome.workload_results["vqe"]
        assert result.result is not None
        assert len(result.history) == result.result.nfev
        assert len({item.job_id for item in result.history}) == len(result.history)
        details = vqe_run.outcome.details_end
        assert details is not None and details["id"] == vqe_run.outcome.session_id

    def test_the_session_stays_active_between_iterations(self, vqe_run: RunReport) -> None:
        session = vqe_run.outcome.workload_results["vqe"].session
        assert session is not None and session.stayed_active
        assert session.states == {
            "open": 1,
            "active": len(vqe_run.outcome.workload_results["vqe"].history) - 1,
        }
        assert session.max_gap is not None and session.interactive_ttl is not None
        assert session.max_gap < session.interactive_ttl

    def test_record_holds_history_result_and_plot(self, vqe_run: RunReport) -> None:
        folder = vqe_run.folder
        assert (folder / "plots" / "vqe.png").read_bytes().startswith(b"\x89PNG")
        loaded = load_workloads(folder)["vqe"]
        (written,) = vqe_run.record.results.workloads
        assert json.dumps(loaded.to_json()) == json.dumps(written.to_json())
        assert loaded.history == written.history
        first = loaded.history[0]
        assert first.kind == "cost" and first.index == 1 and len(first.parameters) == 16
        # the standard error of an estimate from ceil(1/0.01²) shots per Pauli term
        assert 0 < first.std < 0.02
        run = json.loads((folder / "run.json").read_text())
        assert run["workloads"][0]["plot"] == "plots/vqe.png"
        assert run["plan"]["workloads"][0]["num_parameters"] == 16
        summary = (folder / "summary.md").read_text()
        assert "| vqe | cobyla | DONE |" in summary


class TestTwoOptimizers:
    """If two optimisers run concurrently, both finish in one session, told apart by tags."""

    def test_both_finish_in_one_session(self, two_run: RunReport) -> None:
        results = two_run.outcome.workload_results
        assert [r.status for r in results.values()] == ["DONE", "DONE"]
        assert two_run.outcome.session_id is not None
        assert two_run.outcome.status_end == "Closed"
        for result in results.values():
            assert result.result is not None
            assert len(result.history) == result.result.nfev
            assert result.energy is not None and result.energy < 0

    def test_listing_by_tag_finds_only_the_workloads_own_jobs(self, two_run: RunReport) -> None:
        results = two_run.outcome.workload_results
        for name, result in results.items():
            check = result.tag_check
            assert check is not None and check.tags == (name,)
            assert set(check.found) == {item.job_id for item in result.history}
            assert check.ok

    def test_the_optimisations_overlapped(self, two_run: RunReport) -> None:
        cobyla, nelder = two_run.outcome.workload_results.values()
        assert cobyla.history[0].submitted < nelder.history[-1].submitted
        assert nelder.history[0].submitted < cobyla.history[-1].submitted


class TestGradientMethods:
    """If a method needs a gradient, each parameter-shift gradient is one job."""

    def test_lbfgsb_gets_one_job_per_gradient(self, tmp_path: Path) -> None:
        file = _write(tmp_path, _manifest(_workload("grad", "l-bfgs-b", maxiter=3)))
        report = run_manifest(load_manifest(file), output=tmp_path / "r")
        result = report.outcome.workload_results["grad"]
        assert result.status == "DONE" and result.result is not None
        kinds = [item.kind for item in result.history]
        assert kinds.count("gradient") == result.result.njev
        assert kinds.count("cost") == result.result.nfev
        gradient = next(item for item in result.history if item.kind == "gradient")
        assert gradient.gradient is not None and len(gradient.gradient) == 16
        assert result.history[-1].value is None or result.energy is not None
        assert result.energy is not None and result.energy < result.history[0].value  # type: ignore[operator]


class TestFailures:
    """If one workload's jobs fail, the other's results are kept and the run fails."""

    def test_failed_workload_keeps_the_other(self, tmp_path: Path) -> None:
        text = _manifest(_workload("good", seed=1) + _workload("bad", seed=2))
        file = _write(tmp_path, text)
        engine = Engine(executor=_FailingAfter(seed=2, after=5))
        try:
            report = run_manifest(
                load_manifest(file), provider=LocalProvider(engine=engine), output=tmp_path / "r"
            )
        finally:
            engine.shutdown()
        results = report.outcome.workload_results
        assert results["good"].status == "DONE"
        assert len(results["good"].history) == 25
        assert results["bad"].status == "ERROR"
        assert "lost its calibration" in (results["bad"].error or "")
        assert len(results["bad"].history) == 5
        loaded = load_workloads(tmp_path / "r")
        assert loaded["good"].result is not None and loaded["bad"].result is None
        assert [r.name for r in report.outcome.failed_workloads] == ["bad"]

    def test_cli_exits_non_zero_and_names_the_workload(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        text = _manifest(_workload("good", seed=1, maxiter=20) + _workload("bad", seed=2))
        file = _write(tmp_path, text)

        def failing_provider(settings: object) -> LocalProvider:
            return LocalProvider(engine=Engine(executor=_FailingAfter(seed=2, after=0)))

        monkeypatch.setattr(
            "qrun.run.pipeline.provider_for", lambda kind, settings: failing_provider(settings)
        )
        assert main([str(file), "-o", str(tmp_path / "r")]) == 1
        err = capsys.readouterr().err
        assert "workload bad ERROR" in err and "lost its calibration" in err


class TestBadSpecs:
    """If a workload cannot run, every problem is reported at its place before any job."""

    def _issues(self, tmp_path: Path, text: str) -> list[str]:
        file = _write(tmp_path, text)
        with pytest.raises(ManifestError) as raised:
            run_manifest(load_manifest(file), output=tmp_path / "r")
        assert not (tmp_path / "r").exists()  # nothing ran, nothing recorded
        return [str(issue) for issue in raised.value.issues]

    def test_x0_of_the_wrong_length(self, tmp_path: Path) -> None:
        text = _manifest(_workload("w")).replace(
            "x0: {random: {seed: 1, low: 0, high: 6.283185307179586}}", "x0: [0.1, 0.2, 0.3]"
        )
        (issue,) = self._issues(tmp_path, text)
        assert issue.startswith(f"{tmp_path / 'manifest.yaml'}:13:9: $.workloads[0].x0: ")
        assert "x0 holds 3 values, but circuit 'ansatz' has 16 parameters" in issue

    def test_circuit_without_parameters_and_wrong_width(self, tmp_path: Path) -> None:
        ghz = (
            'ansatz:\n    qasm: |\n      OPENQASM 3.0;\n      include "stdgates.inc";\n'
            "      qubit[3] q;\n      h q[0];\n      cx q[0], q[1];\n      cx q[1], q[2];\n"
        )
        text = _manifest(_workload("w")).replace(f"ansatz: {ANSATZ}", ghz)
        issues = self._issues(tmp_path, text)
        assert len(issues) == 2
        assert ":19:25: $.workloads[0].minimize.circuit: circuit 'ansatz' has no free " in issues[0]
        assert (
            ":19:45: $.workloads[0].minimize.observable: observable 'hamiltonian' acts on 2 "
            "qubits but circuit 'ansatz' has 3" in issues[1]
        )

    def test_gradient_method_on_a_circuit_parameter_shift_cannot_differentiate(
        self, tmp_path: Path
    ) -> None:
        qasm = (
            'ansatz:\n    qasm: |\n      OPENQASM 3.0;\n      include "stdgates.inc";\n'
            "      input float[64] theta;\n      qubit[2] q;\n      rx(2*theta) q[0];\n"
            "      cx q[0], q[1];\n"
        )
        text = _manifest(_workload("w", "bfgs")).replace(f"ansatz: {ANSATZ}", qasm)
        text = text.replace("x0: {random: {seed: 1, low: 0, high: 6.283185307179586}}", "x0: [0.5]")
        (issue,) = self._issues(tmp_path, text)
        assert "$.workloads[0].method: method 'bfgs' needs a parameter-shift gradient" in issue
        assert "fails for theta" in issue

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("method: cobyla", "method: cobila", "'cobila' is not one of"),
            ("maxiter: 25", "maxiter: 0", "expected an integer ≥ 1, got 0"),
        ],
    )
    def test_schema_errors(self, tmp_path: Path, old: str, new: str, expected: str) -> None:
        file = _write(tmp_path, _manifest(_workload("w")).replace(old, new))
        (issue,) = check(file)
        assert expected in issue.message
        assert issue.path in ("$.workloads[0].method", "$.workloads[0].maxiter")
        assert (issue.line, issue.column) in ((12, 13), (14, 14))
