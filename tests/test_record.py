"""The run record: what a run leaves on disk, and the outcome it is written from."""

from __future__ import annotations

import json
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest

from qrun.cli import main
from qrun.manifest.load import load_manifest
from qrun.run.pipeline import RunReport, run_manifest
from qrun.run.record import write_record
from qrun.run.results import load_workloads

EXAMPLES = Path(str(files("qrun.spec") / "examples"))

# A sampler, an estimator and one short workload: every kind of thing a record holds.
EVERYTHING = """\
    qrun: 1
    metadata: {name: everything}
    backend: {name: aer}
    transpile: {optimization_level: 1, seed: 3}
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
      ansatz: {library: efficient_su2, args: {num_qubits: 2, reps: 1}}
    observables:
      zz: [[ZZ, 1.0]]
    primitives:
      - sampler:
        name: counts
        options: {default_shots: 200, seed_simulator: 1}
        pubs: [{circuit: bell}]
    workloads:
      - name: small
        minimize: {circuit: ansatz, observable: zz}
        method: cobyla
        x0: {random: {seed: 1, low: 0, high: 3}}
        maxiter: 10
        options: {default_shots: 500, seed_simulator: 2}
"""


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    folder = tmp_path_factory.mktemp("everything")
    manifest = folder / "everything.yaml"
    manifest.write_text(textwrap.dedent(EVERYTHING), encoding="utf-8")
    return run_manifest(load_manifest(manifest), output=folder / "record")


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class TestWrittenFromTheOutcome:
    """If a record is written from a run's outcome, the outcome stays as the run left it,
    and writing it again gives the same files byte for byte."""

    def test_writing_again_gives_the_same_files(
        self, everything: RunReport, tmp_path: Path
    ) -> None:
        first = _files(everything.folder)
        again = write_record(everything.outcome, tmp_path / "again")
        assert _files(tmp_path / "again") == first
        assert again.document == everything.results
        assert set(first) >= {"histograms/counts-0-c.png", "plots/small.png", "summary.md"}

    def test_the_outcome_is_not_changed_by_the_record(self, everything: RunReport) -> None:
        (ran,) = everything.outcome.workload_results.values()
        (recorded,) = everything.record.results.workloads
        assert ran.plot is None and recorded.plot == "plots/small.png"
        assert recorded.history == ran.history

    def test_results_json_is_the_report_and_reads_back(self, everything: RunReport) -> None:
        written = json.loads((everything.folder / "results.json").read_text())
        assert written == json.loads(json.dumps(everything.results))
        loaded = load_workloads(everything.folder)["small"]
        assert loaded.plot == "plots/small.png"
        assert loaded.history == everything.record.results.workloads[0].history


class TestTerminalText:
    """If a run finishes, the terminal shows the counts most frequent first, and
    summary.md ends with the same text."""

    def test_counts_most_frequent_first(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bell = EXAMPLES / "bell.yaml"
        assert main([str(bell), "-o", str(tmp_path / "r")]) == 0
        out = capsys.readouterr().out
        counts = json.loads((tmp_path / "r" / "results.json").read_text())["primitives"][0]
        register = counts["pubs"][0]["registers"]["c"]["counts"]
        ranked = sorted(register.items(), key=lambda item: (-item[1], item[0]))
        expected = ", ".join(f"{bits}: {count}" for bits, count in ranked)
        assert out == f"counts[0] bell c: {{{expected}}}\n"
        assert (tmp_path / "r" / "summary.md").read_text().endswith(out)


class TestRecordFolders:
    """If runs share a folder or a second, no run writes into another run's record."""

    def test_two_runs_into_one_output_folder(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bell = str(EXAMPLES / "bell.yaml")
        output = tmp_path / "record"
        assert main([bell, "-o", str(output)]) == 0
        first = (output / "run.json").read_text(encoding="utf-8")
        capsys.readouterr()
        assert main([bell, "-o", str(output)]) == 1
        assert capsys.readouterr().err == (
            f"qrun: {bell}: {output} is not empty; a run writes its record into a new or empty "
            "folder\n"
        )
        assert (output / "run.json").read_text(encoding="utf-8") == first

    def test_default_folders_in_one_second_differ(self, tmp_path: Path) -> None:
        from qrun.run.record import default_folder

        manifest = load_manifest(EXAMPLES / "bell.yaml")
        folders = {default_folder(manifest, 1_800_000_000.0, tmp_path) for _ in range(3)}
        assert sorted(folder.name for folder in folders) == [
            "20270115T080000Z-bell",
            "20270115T080000Z-bell-2",
            "20270115T080000Z-bell-3",
        ]

    def test_a_long_or_odd_name_is_cut_to_a_safe_one(self, tmp_path: Path) -> None:
        from qrun.run.record import default_folder

        text = (EXAMPLES / "bell.yaml").read_text(encoding="utf-8")
        odd = "x/../" + "é" * 10 + "n" * 80
        manifest_path = tmp_path / "odd.yaml"
        manifest_path.write_text(text.replace("name: bell", f"name: '{odd}'", 1), "utf-8")
        folder = default_folder(load_manifest(manifest_path), 1_800_000_000.0, tmp_path)
        assert folder.parent == tmp_path
        assert folder.name == "20270115T080000Z-x-..-" + "n" * 59
