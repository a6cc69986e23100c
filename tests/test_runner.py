"""Running manifests: records, errors before submission, plans, interrupts, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main
from qrun.engine import Engine, Instance
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import load_manifest
from qrun.providers.local import LocalProvider
from qrun.run.pipeline import run_manifest
from qrun.run.results import load_results

if TYPE_CHECKING:
    from collections.abc import Sequence

    from qiskit.primitives import PrimitiveResult

    from qrun.manifest.model import PrimitiveKind, PrimitiveOptions
    from qrun.providers import Channel, ExecutionMode, ResolvedBackend

EXAMPLES = Path(str(files("qrun.spec") / "examples"))
BELL = EXAMPLES / "bell.yaml"


def _write(folder: Path, text: str, name: str = "manifest.yaml") -> Path:
    file = folder / name
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


TWO_SAMPLERS = """\
    qrun: 1
    metadata: {name: two}
    backend: {name: aer}
    transpile: {optimization_level: 1, seed: 3}
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
        name: first
        options: {default_shots: 100, seed_simulator: 1}
        pubs: [{circuit: bell}]
      - sampler:
        name: second
        options: {default_shots: 100, seed_simulator: 2}
        pubs: [{circuit: bell}]
"""


class TestBellRun:
    """If the Bell example runs, it prints counts and writes a complete record."""

    def test_cli_prints_counts_and_writes_the_record(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([str(BELL), "-o", str(tmp_path / "rec")]) == 0
        out = capsys.readouterr().out
        assert "counts[0] bell c: {" in out and "00: " in out and "11: " in out
        record = tmp_path / "rec"
        assert {p.name for p in record.iterdir()} >= {
            "manifest.yaml",
            "run.json",
            "journal.json",
            "results.json",
            "summary.md",
            "histograms",
        }
        assert (record / "manifest.yaml").read_text() == BELL.read_text()
        run = json.loads((record / "run.json").read_text())
        assert run["backend"]["name"] == "aer"
        assert run["versions"]["qiskit"] and "qiskit-ibm-runtime" not in run["versions"]
        assert run["session"]["id"] and run["session"]["status_end"] == "Closed"
        assert run["session"]["details_start"]["state"] == "open"
        assert run["session"]["details_end"]["state"] == "closed"
        assert run["jobs"][0]["tags"] == ["bell"] and run["jobs"][0]["status"] == "DONE"
        assert (record / "histograms" / "counts-0-c.png").read_bytes()[:4] == b"\x89PNG"

    def test_json_prints_the_results_document(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", str(BELL), "--json", "-o", str(tmp_path / "rec")]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["format"] == "qrun.results/2"
        assert (
            sum(document["primitives"][0]["pubs"][0]["registers"]["c"]["counts"].values()) == 4096
        )

    def test_record_goes_beside_the_manifest_by_default(self, tmp_path: Path) -> None:
        manifest = _write(tmp_path, BELL.read_text())
        assert main([str(manifest)]) == 0
        (folder,) = (tmp_path / "runs").iterdir()
        assert folder.name.endswith("-bell")

    def test_load_results_gives_back_qiskit_objects(self, tmp_path: Path) -> None:
        report = run_manifest(load_manifest(EXAMPLES / "sweep.yaml"), output=tmp_path / "r")
        loaded = load_results(tmp_path / "r")
        original = report.outcome.results["sweep"][0].data
        assert (loaded["sweep"][0].data.evs == original.evs).all()
        bell = run_manifest(load_manifest(BELL), output=tmp_path / "b")
        bits = load_results(tmp_path / "b")["counts"][0].data.c
        assert bits.get_counts() == bell.outcome.results["counts"][0].data.c.get_counts()
        assert bits.num_shots == 4096


class TestDeterminism:
    """If a manifest sets its seeds, two runs give identical results."""

    @pytest.mark.parametrize("backend", ["aer", "fake_manila"])
    def test_same_manifest_same_results(self, backend: str, tmp_path: Path) -> None:
        text = BELL.read_text().replace("name: aer", f"name: {backend}")
        manifest = _write(tmp_path, text)
        first = run_manifest(load_manifest(manifest), output=tmp_path / "1")
        second = run_manifest(load_manifest(manifest), output=tmp_path / "2")
        pubs = [
            [{k: v for k, v in pub.items() if k != "metadata"} for pub in p["pubs"]]
            for r in (first, second)
            for p in r.results["primitives"]
        ]
        assert pubs[0] == pubs[1]
        assert pubs[0][0]["registers"]["c"]["counts"]


class TestQiskitOnlyErrors:
    """If only Qiskit can see what is wrong, every problem is reported at its place and
    nothing is submitted."""

    BAD = """\
        qrun: 1
        backend: {name: aer}
        circuits:
          broken:
            qasm: |
              OPENQASM 3.0;
              qubit[2] q;
              h q[0]
          nothing:
            library: no_such_function
          unmeasured:
            library: real_amplitudes
            args: {num_qubits: 2, reps: 1}
        observables:
          wide: {ZZZ: 1.0}
        primitives:
          - sampler:
            name: s
            pubs:
              - circuit: unmeasured
                parameter_values: [0.1, 0.2, 0.3]
          - estimator:
            name: e
            pubs:
              - circuit: unmeasured
                observables: wide
                parameter_values: [0.1, 0.2, 0.3, 0.4]
              - circuit: broken
                observables: wide
              - circuit: nothing
                observables: wide
    """

    def test_all_problems_reported_with_positions(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        manifest = _write(tmp_path, self.BAD)
        assert main([str(manifest)]) == 1
        err = capsys.readouterr().err
        where = str(manifest)
        expected = [
            (f"{where}:8:13:", "OpenQASM 3 syntax error: the text ends too early"),
            (f"{where}:10:", "no function 'no_such_function'"),
            (f"{where}:20:", "measures nothing"),
            (f"{where}:21:", "holds 3 values"),
            (f"{where}:26:", "acts on 3 qubits but circuit 'unmeasured' has 2"),
        ]
        for position, message in expected:
            assert any(position in line and message in line for line in err.splitlines()), (
                position,
                message,
                err,
            )
        assert not (tmp_path / "runs").exists()


class TestOpenPlan:
    """If the instance cannot open sessions, nothing runs unless fallback is allowed."""

    def _provider(self) -> LocalProvider:
        return LocalProvider(engine=Engine(instances=(Instance("local", plan="open"),)))

    def test_session_refused_with_a_hint_and_nothing_submitted(self, tmp_path: Path) -> None:
        provider = self._provider()
        with pytest.raises(ManifestError) as raised:
            run_manifest(load_manifest(BELL), provider=provider, output=tmp_path / "r")
        (issue,) = raised.value.issues
        assert issue.path == "$.execution.mode"
        assert issue.message.startswith("instance 'local' is on the Open Plan")
        assert issue.message.endswith(
            "; nothing was submitted. Run it as a batch (execution.mode: batch), or set "
            "execution.fallback: true to do so automatically."
        )
        assert provider.engine.jobs() == []
        provider.shutdown()

    @pytest.mark.parametrize("fallback", [False, True])
    def test_plan_warns_before_anything_runs(self, tmp_path: Path, fallback: bool) -> None:
        from qrun.pullrequest.markdown import render_plan_markdown
        from qrun.run.plan import make_plan
        from qrun.run.review import describe_plan

        text = BELL.read_text()
        if fallback:
            text = text.replace("  mode: session", "  mode: session\n  fallback: true")
        path = _write(tmp_path, text)
        provider = self._provider()
        try:
            view = describe_plan(make_plan(load_manifest(path), provider))
        finally:
            provider.shutdown()
        line = next(line for line in text.splitlines() if "mode: session" in line)
        where = f"{path}:{text.splitlines().index(line) + 1}:{line.index('session') + 1}"
        then = (
            "the work runs as a batch instead"
            if fallback
            else "the run fails when the session is refused"
        )
        (warning,) = [w for w in view["warnings"] if "Open Plan" in w]
        assert warning.startswith(
            f"{where}: $.execution.mode: Open Plan instance: sessions are not allowed; {then}"
        )
        assert f"**Warning:** {warning}" in render_plan_markdown(view)
        assert provider.engine.jobs() == []

    def test_fallback_runs_as_a_batch_and_says_so(self, tmp_path: Path) -> None:
        text = BELL.read_text().replace("  mode: session", "  mode: session\n  fallback: true")
        provider = self._provider()
        report = run_manifest(
            load_manifest(_write(tmp_path, text)), provider=provider, output=tmp_path / "r"
        )
        provider.shutdown()
        run = json.loads((tmp_path / "r" / "run.json").read_text())
        assert run["execution"] == {
            "requested_mode": "session",
            "mode": "batch",
            "fallback": True,
            "max_time": 1500.0,
        }
        assert report.outcome.results["counts"][0].data.c.num_shots == 4096


class _InterruptedJob:
    """A job whose wait is interrupted, as Ctrl-C does."""

    def __init__(self, job: object) -> None:
        self._job = job

    def job_id(self) -> str:
        return self._job.job_id()  # type: ignore[attr-defined,no-any-return]

    def status(self) -> str:
        return self._job.status()  # type: ignore[attr-defined,no-any-return]

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        if timeout is None:
            raise KeyboardInterrupt
        return self._job.result(timeout=timeout)  # type: ignore[attr-defined,no-any-return]

    def cancel(self) -> None:
        self._job.cancel()  # type: ignore[attr-defined]


class _InterruptingChannel:
    def __init__(self, channel: Channel, interrupt: str) -> None:
        self._channel = channel
        self._interrupt = interrupt
        self.mode = channel.mode
        self.session_id = channel.session_id
        self.status = channel.status
        self.details = channel.details
        self.close = channel.close
        self.cancel = channel.cancel

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> object:
        job = self._channel.submit(kind, pubs, options)
        if options.default_shots and options.seed_simulator == 2:  # the "second" primitive
            job.result(timeout=None)  # let it finish, then interrupt while it is collected
            return _InterruptedJob(job)
        return job


class _InterruptingProvider(LocalProvider):
    def open(  # type: ignore[override]
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> _InterruptingChannel:
        return _InterruptingChannel(super().open(backend, mode, max_time), "second")


class TestInterrupt:
    """If the run is interrupted, the session is closed, finished results are kept and
    the record says so."""

    def test_record_marked_interrupted_and_session_closed(self, tmp_path: Path) -> None:
        provider = _InterruptingProvider()
        report = run_manifest(
            load_manifest(_write(tmp_path, TWO_SAMPLERS)), provider=provider, output=tmp_path / "r"
        )
        provider.shutdown()
        assert report.outcome.interrupted
        assert set(report.outcome.results) == {"first", "second"}
        run = json.loads((tmp_path / "r" / "run.json").read_text())
        assert run["interrupted"] is True
        assert run["session"]["details_end"]["state"] == "closed"
        assert "interrupted" in (tmp_path / "r" / "summary.md").read_text()

    def test_cli_exits_130(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(
            "qrun.providers.PROVIDERS",
            {"local": f"{__name__}:_InterruptingProvider", "runtime": "unused:unused"},
        )
        assert main([str(_write(tmp_path, TWO_SAMPLERS)), "-o", str(tmp_path / "r")]) == 130
        assert "interrupted" in capsys.readouterr().err


#: What a run of a manifest without workloads must not import, and why.
UNUSED_BY_PLAIN_RUNS = {
    "qrun.workloads": "the workload machinery",
    "scipy.optimize": "the optimisers",
    "qiskit_ibm_runtime": "the runtime client (the backend is local)",
    "jsonschema": "the schema explainer (the manifest is valid)",
}


def _imported_by_run(manifest: Path, folder: Path, names: Sequence[str]) -> dict[str, bool]:
    """Run ``manifest`` through the CLI in a fresh interpreter; which of ``names`` it
    imported."""
    code = (
        "import json, sys\nfrom qrun.cli import main\n"
        f"code = main([{str(manifest)!r}, '-o', {str(folder)!r}])\n"
        f"print(json.dumps([code, {{name: name in sys.modules for name in {list(names)!r}}}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, imported = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    return dict(imported)


class TestImports:
    """If a manifest has no workloads, its run imports only what it uses."""

    def test_bell_run_imports_no_workload_runtime_or_schema_machinery(self, tmp_path: Path) -> None:
        imported = _imported_by_run(BELL, tmp_path / "r", list(UNUSED_BY_PLAIN_RUNS))
        assert not [UNUSED_BY_PLAIN_RUNS[name] for name, found in imported.items() if found]

    def test_run_without_openqasm3_does_not_import_its_importer(self, tmp_path: Path) -> None:
        names = [*UNUSED_BY_PLAIN_RUNS, "qiskit_qasm3_import", "openqasm3"]
        imported = _imported_by_run(EXAMPLES / "ghz.yaml", tmp_path / "r", names)
        assert [name for name, found in imported.items() if found] == []


class TestPassManagerOnDemand:
    """If qrun builds the pass manager loading plugins on demand, it transpiles exactly as
    Qiskit's ordinary preset pass manager does, however many times it is built."""

    def test_same_circuit_as_qiskit(self) -> None:
        from qiskit.circuit.library import efficient_su2
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        from qrun.run import transpilation

        backend = FakeManilaV2()
        circuit = efficient_su2(3, reps=2)
        circuit.measure_all()
        ordinary = generate_preset_pass_manager(3, backend=backend, seed_transpiler=11)
        expected = ordinary.run(circuit)
        for _ in range(2):
            ours = transpilation.preset_pass_manager(backend, 3, 11).run(circuit)
            assert ours == expected


class TestPassManagerFallback:
    """If Qiskit's plugin manager no longer looks as qrun expects, transpiling still works."""

    def test_falls_back_to_the_ordinary_pass_manager(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from qiskit import QuantumCircuit
        from qiskit.circuit.library import CXGate, HGate, Measure
        from qiskit.transpiler import Target

        from qrun.run import transpilation

        class _Changed:
            def __init__(self, namespace: str) -> None:
                pass

            def __contains__(self, name: object) -> bool:
                raise AttributeError("plugin manager changed")

        monkeypatch.setattr(transpilation, "_OnDemandPlugins", _Changed)
        target = Target(num_qubits=2)
        target.add_instruction(HGate(), {(0,): None, (1,): None})
        target.add_instruction(CXGate(), {(0, 1): None, (1, 0): None})
        target.add_instruction(Measure(), {(0,): None, (1,): None})
        circuit = QuantumCircuit(2, 2)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure([0, 1], [0, 1])
        isa = transpilation.preset_pass_manager(target, 1, 7).run(circuit)
        assert isa.count_ops()["cx"] == 1


class TestRuntimeOptions:
    """If a manifest's primitive options go to qiskit-ibm-runtime, they arrive as plain
    dicts and lists, with the seed and tags where the client reads them."""

    def test_nested_read_only_mappings_become_dicts(self) -> None:
        from types import MappingProxyType

        from qrun.manifest.model import PrimitiveOptions
        from qrun.providers.runtime import runtime_options

        options = PrimitiveOptions(
            raw=MappingProxyType(
                {
                    "resilience": MappingProxyType({"layers": (1, 2)}),
                    "seed_simulator": 5,
                    "environment": MappingProxyType({"log_level": "INFO"}),
                }
            ),
            seed_simulator=5,
            job_tags=("vqe",),
        )
        chosen = runtime_options(options)
        assert chosen == {
            "resilience": {"layers": [1, 2]},
            "simulator": {"seed_simulator": 5},
            "environment": {"log_level": "INFO", "job_tags": ["vqe"]},
        }
        assert type(chosen["resilience"]) is dict
