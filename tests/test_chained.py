"""Chained steps: a PUB takes its parameter values from an earlier workload's point,
checked before the run, submitted when the workload has ended, and recorded."""

from __future__ import annotations

import json
import textwrap
import threading
from typing import TYPE_CHECKING

import numpy as np
import pytest

from qrun.cli import main
from qrun.engine import Engine, ThreadExecutor
from qrun.engine.work import Outcome
from qrun.manifest.load import check, load_manifest
from qrun.providers.local import LocalProvider
from qrun.run.pipeline import RunReport, run_manifest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from qrun.engine.work import Work

HEAD = """\
qrun: 1
backend: {name: aer}
execution: {mode: session}
transpile: {optimization_level: 1, seed: 3}
circuits:
  ansatz: {library: real_amplitudes, args: {num_qubits: 2, reps: 1}}
  measured: {library: real_amplitudes, args: {num_qubits: 2, reps: 1}, measure_all: true}
  three: {library: real_amplitudes, args: {num_qubits: 3, reps: 1}, measure_all: true}
observables:
  h: {ZZ: 1.0, XI: 0.5}
"""

WORKLOAD = """\
workloads:
  - name: opt
    minimize: {circuit: ansatz, observable: h}
    method: cobyla
    x0: [0.1, 0.2, 0.3, 0.4]
    maxiter: 12
    options: {default_shots: 2000, seed_simulator: 4}
"""


def _primitives(values: str, circuit: str = "measured") -> str:
    return textwrap.dedent(f"""\
        primitives:
          - estimator:
            name: before
            options: {{default_precision: 0.05, seed_simulator: 1}}
            pubs:
              - {{circuit: ansatz, observables: h, parameter_values: [0, 0, 0, 0]}}
          - sampler:
            name: after
            options: {{default_shots: 500, seed_simulator: 2}}
            pubs:
              - circuit: {circuit}
                parameter_values: {values}
        """)


def _write(folder: Path, text: str) -> Path:
    file = folder / "chain.yaml"
    file.write_text(text, encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, Path]:
    folder = tmp_path_factory.mktemp("chain")
    file = _write(folder, HEAD + WORKLOAD + _primitives("{from: opt, point: best}"))
    return run_manifest(load_manifest(file), output=folder / "r"), folder / "r"


class TestAChainRuns:
    """If a PUB takes a workload's point, it is bound to exactly that point, its job is
    submitted after the workload ended, and the record says which value fed it."""

    def test_bound_to_the_best_point(self, chained: tuple[RunReport, Path]) -> None:
        report, _ = chained
        best = report.outcome.workload_results["opt"].best
        assert best is not None
        (feed,) = report.outcome.feeds
        assert feed.values == best.parameters and feed.value == best.value
        submitted = report.outcome.plan.primitives[1]
        assert submitted.name == "after"
        assert report.outcome.results["after"][0].data.meas.num_shots == 500

    def test_recorded_in_run_and_results(self, chained: tuple[RunReport, Path]) -> None:
        report, record = chained
        best = report.outcome.workload_results["opt"].best
        assert best is not None
        expected = {
            "primitive": "after",
            "pub": 0,
            "path": "$.primitives[1].pubs[0]",
            "from": "opt",
            "point": "best",
            "values": list(best.parameters),
            "cost": best.value,
            "problem": None,
        }
        results = json.loads((record / "results.json").read_text())
        run = json.loads((record / "run.json").read_text())
        assert results["chains"] == [expected] == run["chains"]
        assert results["workloads"][0]["best"]["parameters"] == expected["values"]

    def test_the_chained_job_waits_and_the_other_does_not(
        self, chained: tuple[RunReport, Path]
    ) -> None:
        report = chained[0]
        outcome = report.outcome
        jobs = {job.name: job for job in outcome.jobs}
        history = outcome.workload_results["opt"].history
        first = outcome.started_at + history[0].submitted
        last_result = outcome.started_at + history[-1].submitted + history[-1].wall_time
        assert jobs["before"].submitted_at <= first  # unchained: submitted before the workload
        assert jobs["after"].submitted_at >= last_result  # chained: after its last result
        assert [job.name for job in outcome.jobs] == ["before", "after"]

    def test_the_sampled_distribution_is_the_bound_circuits(
        self, chained: tuple[RunReport, Path]
    ) -> None:
        from qiskit.circuit.library import real_amplitudes
        from qiskit.quantum_info import Statevector

        report = chained[0]
        (feed,) = report.outcome.feeds
        assert feed.values is not None
        bound = real_amplitudes(2, reps=1).assign_parameters(list(feed.values))
        probabilities = Statevector(bound).probabilities_dict()
        counts = report.outcome.results["after"][0].data.meas.get_counts()
        # 500 shots: every outcome within 5 standard deviations of its probability.
        for key in set(counts) | set(probabilities):
            p, seen = probabilities.get(key, 0.0), counts.get(key, 0)
            assert abs(seen / 500 - p) <= 5 * np.sqrt(max(p * (1 - p), 1e-4) / 500), key

    def test_the_final_point(self, tmp_path: Path) -> None:
        file = _write(tmp_path, HEAD + WORKLOAD + _primitives("{from: opt, point: final}"))
        report = run_manifest(load_manifest(file), output=tmp_path / "r")
        result = report.outcome.workload_results["opt"].result
        assert result is not None
        (feed,) = report.outcome.feeds
        assert feed.point == "final" and feed.values == result.x


class _FailingWorkloadJobs:
    """Computes with Aer but fails the jobs of one simulator seed (the workload's)."""

    def __init__(self, seed: int) -> None:
        self._inner = ThreadExecutor()
        self._seed = seed
        self._lock = threading.Lock()

    def start(self, work: Work, done: Callable[[Outcome], None]) -> None:
        if work.seed == self._seed:
            done(Outcome(error="the backend lost its calibration"))
            return
        self._inner.start(work, done)

    def shutdown(self) -> None:
        self._inner.shutdown()


class TestASourceThatFails:
    """If the workload ends without a point, the chained PUB is not submitted, the record
    says why, and the run exits 1."""

    def test_not_submitted_and_recorded(self, tmp_path: Path) -> None:
        file = _write(tmp_path, HEAD + WORKLOAD + _primitives("{from: opt}"))
        engine = Engine(executor=_FailingWorkloadJobs(seed=4))
        try:
            report = run_manifest(
                load_manifest(file), provider=LocalProvider(engine=engine), output=tmp_path / "r"
            )
        finally:
            engine.shutdown()
        assert [job.name for job in report.outcome.jobs] == ["before"]
        (feed,) = report.outcome.feeds
        assert feed.values is None
        assert feed.problem is not None
        assert feed.problem.startswith("workload 'opt' ended ERROR without a best point (job ")
        assert "the backend lost its calibration" in feed.problem
        assert feed.problem.endswith("; the PUB was not submitted")
        results = json.loads((tmp_path / "r" / "results.json").read_text())
        assert results["primitives"][1]["status"] == "NOT SUBMITTED"
        assert results["chains"][0]["problem"] == feed.problem


class TestBadChains:
    """If a chain cannot work, it is refused before the run at the reference's place."""

    def _issues(self, tmp_path: Path, text: str) -> list[str]:
        return [
            f"{i.line}:{i.column}: {i.path}: {i.message}" for i in check(_write(tmp_path, text))
        ]

    def test_an_unknown_workload(self, tmp_path: Path) -> None:
        (issue,) = self._issues(tmp_path, HEAD + WORKLOAD + _primitives("{from: otp}"))
        assert issue == (
            "29:34: $.primitives[1].pubs[0].parameter_values.from: unknown workload 'otp'; "
            "did you mean 'opt'?"
        )

    def test_a_primitive_is_no_source(self, tmp_path: Path) -> None:
        (issue,) = self._issues(tmp_path, HEAD + WORKLOAD + _primitives("{from: before}"))
        assert issue.endswith(
            "'before' is a primitive; parameter values come only from a workload's result "
            "(its best or final point)"
        )

    def test_a_later_workload(self, tmp_path: Path) -> None:
        (issue,) = self._issues(tmp_path, HEAD + _primitives("{from: opt}") + WORKLOAD)
        assert issue == (
            "22:34: $.primitives[1].pubs[0].parameter_values.from: workload 'opt' is written "
            "at 24:5, after this step (17:5); steps run in manifest order, so a step can take "
            "values only from a workload written before it (put `workloads:` before "
            "`primitives:`)"
        )

    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ("{from: opt, point: worst}", "$.primitives[1].pubs[0].parameter_values.point"),
            ("{from: opt, extra: 1}", "$.primitives[1].pubs[0].parameter_values.extra"),
            ("{from: 3}", "$.primitives[1].pubs[0].parameter_values.from"),
        ],
    )
    def test_wrong_types(self, tmp_path: Path, values: str, expected: str) -> None:
        (issue,) = self._issues(tmp_path, HEAD + WORKLOAD + _primitives(values))
        assert f": {expected}: " in issue

    def test_parameter_counts_disagree(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = _write(tmp_path, HEAD + WORKLOAD + _primitives("{from: opt}", circuit="three"))
        assert check(file) == []
        assert main(["plan", str(file)]) == 1
        err = capsys.readouterr().err
        assert (
            f"{file}:29:27: $.primitives[1].pubs[0].parameter_values: workload 'opt' optimises "
            "4 parameters (circuit 'ansatz'), but circuit 'three' has 6 parameters"
        ) in err
        assert "Traceback" not in err


class TestParameterValuesAndReferences:
    """Known slips of planning, mended: a scalar for a one-parameter circuit, and an
    exact reference that cannot be computed."""

    ONE = HEAD.replace(
        "  ansatz:",
        '  one:\n    qasm: |\n      OPENQASM 3.0;\n      include "stdgates.inc";\n'
        "      input float theta;\n      qubit q;\n      bit[1] c;\n      rx(theta) q;\n"
        "      c[0] = measure q;\n  ansatz:",
    )

    def test_a_scalar_binds_a_one_parameter_circuit(self, tmp_path: Path) -> None:
        text = self.ONE + (
            "primitives:\n  - sampler:\n    name: s\n    options: {seed_simulator: 1}\n"
            "    pubs:\n      - {circuit: one, parameter_values: 3.141592653589793}\n"
        )
        assert main([str(_write(tmp_path, text)), "-o", str(tmp_path / "r")]) == 0
        document = json.loads((tmp_path / "r" / "results.json").read_text())
        (register,) = document["primitives"][0]["pubs"][0]["registers"].values()
        assert register["counts"] == {"1": 4096}  # rx(π)|0> is |1>

    def test_a_scalar_for_two_parameters_says_what_is_wrong(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = HEAD + (
            "primitives:\n  - sampler:\n    name: s\n    pubs:\n"
            "      - {circuit: measured, parameter_values: 0.5}\n"
        )
        assert main(["plan", str(_write(tmp_path, text))]) == 1
        err = capsys.readouterr().err
        assert (
            "circuit 'measured' has 4 parameters (θ[0], θ[1], θ[2], θ[3]), but "
            "parameter_values holds a single number; give 4 values per parameter set"
        ) in err

    def test_extreme_coefficients_do_not_crash_the_plan(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = HEAD.replace("h: {ZZ: 1.0, XI: 0.5}", "h: {ZZ: 1.0e+308, XX: 1.0e+308}") + WORKLOAD
        assert main(["plan", str(_write(tmp_path, text))]) == 0
        assert "Traceback" not in capsys.readouterr().err


def _two(first_x0: str, second_x0: str, *, schedule: str = "concurrent") -> str:
    return HEAD.replace("execution: {mode: session}", f"execution: {{workloads: {schedule}}}") + (
        textwrap.dedent(f"""\
            workloads:
              - name: coarse
                minimize: {{circuit: ansatz, observable: h}}
                method: cobyla
                x0: {first_x0}
                maxiter: 8
                options: {{default_shots: 2000, seed_simulator: 4}}
              - name: fine
                minimize: {{circuit: ansatz, observable: h}}
                method: cobyla
                x0: {second_x0}
                maxiter: 8
                options: {{default_shots: 8000, seed_simulator: 5}}
            """)
    )


class TestAWorkloadStartingFromAnother:
    """If a workload's x0 is another's point, it starts from exactly that point once the
    other has ended, and the record says where its x0 came from."""

    @pytest.mark.parametrize("schedule", ["concurrent", "sequential"])
    def test_starts_from_the_final_point(self, tmp_path: Path, schedule: str) -> None:
        text = _two("[0.1, 0.2, 0.3, 0.4]", "{from: coarse, point: final}", schedule=schedule)
        report = run_manifest(load_manifest(_write(tmp_path, text)), output=tmp_path / "r")
        coarse = report.outcome.workload_results["coarse"]
        fine = report.outcome.workload_results["fine"]
        assert coarse.result is not None and fine.status == "DONE"
        assert fine.x0 == coarse.result.x
        assert fine.history[0].parameters == coarse.result.x  # COBYLA starts at x0
        assert fine.history[0].submitted >= coarse.history[-1].submitted
        assert fine.x0_from == "the final point of workload 'coarse'"
        document = json.loads((tmp_path / "r" / "results.json").read_text())
        assert document["workloads"][1]["x0_from"] == fine.x0_from

    def test_no_point_no_start(self, tmp_path: Path) -> None:
        text = _two("[0.1, 0.2, 0.3, 0.4]", "{from: coarse}")
        engine = Engine(executor=_FailingWorkloadJobs(seed=4))
        try:
            report = run_manifest(
                load_manifest(_write(tmp_path, text)),
                provider=LocalProvider(engine=engine),
                output=tmp_path / "r",
            )
        finally:
            engine.shutdown()
        fine = report.outcome.workload_results["fine"]
        assert fine.status == "CANCELLED" and fine.history == ()
        assert fine.error == (
            "x0 comes from workload 'coarse', which ended ERROR without a best point"
        )


class TestBadWorkloadChains:
    """If workloads' starting points refer to each other wrongly, the run is refused at
    the reference's place before anything runs."""

    def _issues(self, tmp_path: Path, text: str) -> list[str]:
        found = check(_write(tmp_path, text))
        return [f"{i.line}:{i.column}: {i.path}: {i.message}" for i in found]

    def test_a_cycle(self, tmp_path: Path) -> None:
        issues = self._issues(tmp_path, _two("{from: fine}", "{from: coarse}"))
        assert issues == [
            "15:16: $.workloads[0].x0.from: the workloads' starting points form a cycle "
            "('coarse' → 'fine' → 'coarse'): each waits for the next, so none can start; "
            "start one of them from explicit or random values",
            "21:16: $.workloads[1].x0.from: the workloads' starting points form a cycle "
            "('fine' → 'coarse' → 'fine'): each waits for the next, so none can start; "
            "start one of them from explicit or random values",
        ]

    def test_itself(self, tmp_path: Path) -> None:
        (issue,) = self._issues(tmp_path, _two("{from: coarse}", "[0, 0, 0, 0]"))
        assert "form a cycle ('coarse' → 'coarse')" in issue

    def test_a_later_workload(self, tmp_path: Path) -> None:
        (issue,) = self._issues(tmp_path, _two("{from: fine}", "[0, 0, 0, 0]"))
        assert issue.startswith(
            "15:16: $.workloads[0].x0.from: workload 'fine' is written at 18:5, after this "
            "step (12:5); steps run in manifest order, so a step can take values only from a "
            "workload written before it"
        )
        assert "primitives" not in issue

    def test_parameter_counts_disagree(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = _two("[0.1, 0.2, 0.3, 0.4]", "{from: coarse}").replace(
            "    minimize: {circuit: ansatz, observable: h}\n    method: cobyla\n    x0: {from",
            "    minimize: {circuit: wide, observable: h3}\n    method: cobyla\n    x0: {from",
        )
        text = text.replace(
            "observables:\n",
            "  wide: {library: real_amplitudes, args: {num_qubits: 3, reps: 1}}\n"
            "observables:\n  h3: {ZZZ: 1}\n",
        )
        file = _write(tmp_path, text)
        assert check(file) == []
        assert main(["plan", str(file)]) == 1
        assert (
            "$.workloads[1].x0: workload 'coarse' optimises 4 parameters (circuit 'ansatz'), "
            "but circuit 'wide' has 6 parameters"
        ) in capsys.readouterr().err
