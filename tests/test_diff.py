"""``qrun diff``: manifests compared by meaning and plan, run records by statistics."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun.cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator

EXAMPLES = Path(__file__).resolve().parent.parent / "spec" / "examples"
BELL = (EXAMPLES / "bell.yaml").read_text(encoding="utf-8")

ROTATION = """\
qrun: 1
metadata:
  name: rotation
backend:
  name: aer
circuits:
  rotation:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[1] q;
      bit[1] c;
      ry({angle}) q[0];
      c = measure q;
observables:
  z: {{Z: 1}}
primitives:
  - sampler:
    name: counts
    options:
      default_shots: 4000
      seed_simulator: {seed}
    pubs:
      - circuit: rotation
  - estimator:
    name: z
    options:
      default_precision: 0.01
      seed_simulator: {seed}
    pubs:
      - circuit: rotation
        observables: [z]
"""


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, dict)
    return document


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class TestManifests:
    """If two manifests are compared, what changed in meaning is listed by place, with the
    plans' ISA circuits, jobs, executions and QPU time side by side."""

    def test_known_changes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        before = _write(tmp_path, "before.yaml", BELL)
        changed = (
            BELL.replace("max_time: 25m", "max_time: 30m")
            .replace("      cx q[0], q[1];\n", "      cx q[0], q[1];\n      x q[1];\n")
            .replace("default_shots: 4096", "default_shots: 8000")
            .replace("mode: session", "mode: batch")
        )
        after = _write(tmp_path, "after.yaml", changed)
        assert main(["diff", str(before), str(after), "--format", "json"]) == 0
        diff = _json(capsys)
        assert [(c["where"], c["before"], c["after"]) for c in diff["changes"]] == [
            ("execution.mode", "session", "batch"),
            ("execution.max_time", 1500.0, 1800.0),
            (
                "circuits.bell.source.text",
                BELL.split("qasm: |\n")[1].split("primitives:")[0].replace("      ", ""),
                changed.split("qasm: |\n")[1].split("primitives:")[0].replace("      ", ""),
            ),
            ("primitives[counts].options.default_shots", 4096, 8000),
        ]
        [circuit] = diff["circuits"]
        assert circuit["name"] == "bell"
        assert circuit["after"]["depth"] == circuit["before"]["depth"] + 1
        assert circuit["after"]["size"] == circuit["before"]["size"] + 1
        assert diff["plan_before"]["circuit_executions"] == 4096
        assert diff["plan_after"]["circuit_executions"] == 8000
        assert diff["plan_before"]["jobs"] == diff["plan_after"]["jobs"] == 1

    def test_text_and_markdown(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        before = _write(tmp_path, "before.yaml", BELL)
        after = _write(tmp_path, "after.yaml", BELL.replace("max_time: 25m", "max_time: 2h"))
        assert main(["diff", str(before), str(after)]) == 0
        text = capsys.readouterr().out
        assert "  execution\n    execution.max_time: 25m → 2h\n" in text
        assert "    jobs                 1 (unchanged)\n" in text
        assert main(["diff", str(before), str(after), "--format", "markdown"]) == 0
        markdown = capsys.readouterr().out
        assert markdown.startswith(f"### qrun diff: `{before}` → `{after}`\n")
        assert "| `execution.max_time` | 25m | 2h |" in markdown
        assert "| circuit executions | 4,096 | 4,096 |" in markdown

    def test_layout_and_comments_are_no_change(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = _write(tmp_path, "before.yaml", BELL)
        reworded = (
            BELL.replace("max_time: 25m", "max_time: 1500   # the same, in seconds")
            .replace("job_tags: [bell]", "job_tags:\n          - 'bell'")
            .replace("# A Bell pair", "# Another comment about a Bell pair")
        )
        after = _write(tmp_path, "after.yaml", reworded)
        assert main(["diff", str(before), str(after), "--no-plan"]) == 0
        assert "  no change in meaning\n" in capsys.readouterr().out

    def test_plan_warning_in_markdown(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake = (EXAMPLES / "fake-backend.yaml").read_text(encoding="utf-8")
        before = _write(tmp_path, "before.yaml", fake)
        after = _write(tmp_path, "after.yaml", fake.replace("max_time: 15m", "max_time: 1"))
        assert main(["diff", str(before), str(after), "--format", "markdown"]) == 0
        markdown = capsys.readouterr().out
        assert "> :warning: **Warning:** the jobs are estimated to take" in markdown
        assert "more than max_time 1s" in markdown


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A git repository with a manifest reading a circuit file, committed twice."""

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=q@example.com", "-c", "user.name=q", *args],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip

    experiments = tmp_path / "experiments"
    experiments.mkdir()
    ghz = (EXAMPLES / "ghz.qasm").read_text(encoding="utf-8")
    (experiments / "ghz.qasm").write_text(ghz, encoding="utf-8")
    manifest = (EXAMPLES / "ghz.yaml").read_text(encoding="utf-8")
    (experiments / "exp.yaml").write_text(manifest, encoding="utf-8")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    (experiments / "ghz.qasm").write_text(ghz.replace("cx q[1], q[2];", "cx q[0], q[2];"))
    (experiments / "exp.yaml").write_text(manifest.replace("shots: 2000", "shots: 3000"))
    git("commit", "-qam", "second")
    (experiments / "exp.yaml").write_text(manifest.replace("shots: 2000", "shots: 5000"))
    monkeypatch.chdir(experiments)
    yield experiments


class TestRevisions:
    """If a side is REV:PATH, the manifest and the files beside it are read from that
    revision; a revision that does not exist is a clear error."""

    def test_head_against_the_working_tree(
        self, repository: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["diff", "HEAD~1:exp.yaml", "exp.yaml", "--format", "json"]) == 0
        diff = _json(capsys)
        changed = {c["where"]: (c["before"], c["after"]) for c in diff["changes"]}
        assert set(changed) == {"circuits.ghz.source.text", "primitives[ghz-counts].pubs[0].shots"}
        assert changed["primitives[ghz-counts].pubs[0].shots"] == (2000, 5000)
        assert "cx q[1], q[2];" in str(changed["circuits.ghz.source.text"][0])
        assert "cx q[0], q[2];" in str(changed["circuits.ghz.source.text"][1])
        assert diff["before"] == "HEAD~1:exp.yaml"

    def test_two_revisions(self, repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["diff", "HEAD~1:exp.yaml", "HEAD:exp.yaml", "--no-plan"]) == 0
        out = capsys.readouterr().out
        assert "primitives[ghz-counts].pubs[0].shots: 2000 → 3000" in out

    def test_missing_revision(self, repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["diff", "nosuch:exp.yaml", "exp.yaml"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("qrun: nosuch:exp.yaml: no revision 'nosuch' in the repository")
        assert "Traceback" not in err

    def test_missing_file_at_revision(
        self, repository: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["diff", "HEAD:other.yaml", "exp.yaml"]) == 1
        assert "no file experiments/other.yaml at revision HEAD" in capsys.readouterr().err


class TestBadInput:
    """If an argument is neither a manifest nor a record, the error says so; a record is
    not compared with a manifest."""

    def test_neither(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        manifest = _write(tmp_path, "bell.yaml", BELL)
        assert main(["diff", str(manifest), str(tmp_path / "nothing")]) == 1
        assert "no such manifest, run record folder or REV:PATH" in capsys.readouterr().err
        assert main(["diff", str(tmp_path), str(manifest)]) == 1
        assert "a folder, but not a run record" in capsys.readouterr().err

    def test_not_a_manifest(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        other = _write(tmp_path, "ci.yaml", "jobs: {}\n")
        manifest = _write(tmp_path, "bell.yaml", BELL)
        assert main(["diff", str(other), str(manifest)]) == 1
        assert f"{other}:1:1: $: missing required key 'qrun'" in capsys.readouterr().err

    def test_record_against_manifest(
        self, records: dict[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["diff", str(records["first"]), str(EXAMPLES / "bell.yaml")]) == 2
        assert "not a record with a manifest" in capsys.readouterr().err

    def test_level_out_of_range(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["diff", "a", "b", "--level", "1.5"]) == 2
        assert "between 0 and 1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two seeded runs of one manifest, and a run of it with another rotation angle."""
    folder = tmp_path_factory.mktemp("records")
    runs = {}
    for name, angle in (("first", 0.5), ("second", 0.5), ("rotated", 0.7)):
        manifest = folder / f"{name}.yaml"
        manifest.write_text(ROTATION.format(angle=angle, seed=3), encoding="utf-8")
        runs[name] = folder / f"run-{name}"
        assert main(["run", str(manifest), "-o", str(runs[name])]) == 0
    return runs


def _results(record: Path) -> dict[str, dict[str, object]]:
    document = json.loads((record / "results.json").read_text(encoding="utf-8"))
    return {primitive["name"]: primitive["pubs"][0] for primitive in document["primitives"]}


class TestRecords:
    """If two run records are compared, each PUB gets a verdict from a test a physicist
    would accept, and the exit code says whether any drifted."""

    def test_seeded_runs_of_one_manifest_are_consistent(
        self, records: dict[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        first, second = records["first"], records["second"]
        assert main(["diff", str(first), str(second), "--format", "json"]) == 0
        diff = _json(capsys)
        assert diff["verdict"] == "consistent"
        assert diff["warnings"] == []
        assert [(p["primitive"], p["verdict"], p["p_value"]) for p in diff["pubs"]] == [
            ("counts", "consistent", 1.0),
            ("z", "consistent", 1.0),
        ]

    def test_another_angle_has_drifted_by_the_hand_computed_statistics(
        self, records: dict[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        first, rotated = records["first"], records["rotated"]
        assert main(["diff", str(first), str(rotated), "--format", "json"]) == 1
        diff = _json(capsys)
        assert diff["verdict"] == "drifted"
        [warning] = diff["warnings"]
        assert "different manifests" in warning and "circuits.rotation.qasm" in warning
        counts, z = diff["pubs"]

        a = _results(first)["counts"]["registers"]["c"]["counts"]  # type: ignore[index]
        b = _results(rotated)["counts"]["registers"]["c"]["counts"]  # type: ignore[index]
        a0, a1, b0, b1 = a.get("0", 0), a.get("1", 0), b.get("0", 0), b.get("1", 0)
        # P(1) = sin²(θ/2): about 245 of 4000 at θ = 0.5, about 458 at θ = 0.7.
        assert abs(a1 - 4000 * math.sin(0.25) ** 2) < 60
        assert abs(b1 - 4000 * math.sin(0.35) ** 2) < 60
        n_a, n_b, zeros, ones = a0 + a1, b0 + b1, a0 + b0, a1 + b1
        chi2 = (n_a + n_b) * (a0 * b1 - a1 * b0) ** 2 / (n_a * n_b * zeros * ones)
        assert counts["statistic"] == pytest.approx(chi2, rel=1e-9)
        assert counts["dof"] == 1
        assert counts["p_value"] == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-6)
        assert counts["total_variation"] == pytest.approx(abs(a1 / n_a - b1 / n_b), rel=1e-9)
        assert counts["verdict"] == "drifted"

        ev_a, ev_b = _results(first)["z"], _results(rotated)["z"]
        difference = ev_a["evs"][0] - ev_b["evs"][0]  # type: ignore[index]
        error = math.hypot(ev_a["stds"][0], ev_b["stds"][0])  # type: ignore[index]
        assert z["max_z"] == pytest.approx(abs(difference / error), rel=1e-9)
        assert z["p_value"] == pytest.approx(math.erfc(abs(difference / error) / 2**0.5), rel=1e-6)
        assert z["verdict"] == "drifted"

    def test_level_decides(
        self, records: dict[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        first, rotated = records["first"], records["rotated"]
        assert main(["diff", str(first), str(rotated), "--level", "1e-300"]) == 0
        out = capsys.readouterr().out
        assert "verdict: consistent (2 PUBs)" in out
        assert "warning: the records come from different manifests" in out

    def test_markdown(self, records: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["diff", str(records["first"]), str(records["rotated"]), "--format",
                     "markdown"]) == 1  # fmt: skip
        markdown = capsys.readouterr().out
        assert ":x: **drifted** at level 0.01" in markdown
        assert "| counts[0] | drifted | chi-square test of homogeneity |" in markdown


class TestPullRequestFormats:
    """If a CI job asks for a plan or issues in a pull request's forms, it gets a Markdown
    comment or GitHub annotations; ``qrun plan --json`` still works."""

    def test_plan_as_markdown(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        fake = (EXAMPLES / "fake-backend.yaml").read_text(encoding="utf-8")
        manifest = _write(tmp_path, "exp.yaml", fake.replace("max_time: 15m", "max_time: 1"))
        assert main(["plan", str(manifest), "--format", "markdown"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f"### qrun plan: `{manifest}`"
        assert (
            lines[2]
            == "Backend **fake_manila** (fake via local), mode **session**, max_time **1s**."
        )
        assert lines[4].startswith("> :warning: **Warning:** the jobs are estimated to take ")
        table = lines[lines.index("| job | kind | PUBs | circuit executions | est. QPU time |") :]
        assert table[2].startswith("| counts | sampler | 1 | 4,000 | ")
        assert table[3].startswith("| correlations | estimator | 1 | 2,500 | ")
        assert table[4].startswith("| **total** | | | **6,500** | ")
        assert "| ISA circuit | qubits | depth | size | 2q gates | measurements |" in lines

    def test_plan_json_alias(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["plan", str(EXAMPLES / "bell.yaml"), "--json"]) == 0
        by_flag = _json(capsys)
        assert main(["plan", str(EXAMPLES / "bell.yaml"), "--format", "json"]) == 0
        assert _json(capsys) == by_flag
        assert by_flag["jobs"] == 1

    def test_validate_as_github_annotations(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = (EXAMPLES / "invalid" / "typo-key.yaml").read_text(encoding="utf-8")
        manifest = _write(tmp_path, "typo, 100%.yaml", text)
        assert main(["validate", "--format", "github", str(manifest)]) == 1
        lines = capsys.readouterr().out.splitlines()
        shown = str(manifest).replace("%", "%25").replace(",", "%2C")
        assert lines == [
            f"::error file={shown},line=9,col=3::$.transpile.optimisation_level: unknown key "
            "'optimisation_level'; did you mean 'optimization_level'?",
            f"::error file={shown},line=11,col=3::$.execution.max_tme: unknown key 'max_tme'; "
            "did you mean 'max_time'?",
        ]


class TestRecordsThatDoNotMatchUp:
    """If a PUB is in one record only, it cannot be compared and the exit code is 1;
    workloads are named as not compared."""

    def test_missing_primitive_and_workload_note(
        self, records: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import shutil

        copy = tmp_path / "copy"
        shutil.copytree(records["first"], copy)
        results = json.loads((copy / "results.json").read_text(encoding="utf-8"))
        results["primitives"] = results["primitives"][:1]
        results["workloads"] = [{"name": "vqe"}]
        (copy / "results.json").write_text(json.dumps(results), encoding="utf-8")
        assert main(["diff", str(records["first"]), str(copy)]) == 1
        out = capsys.readouterr().out
        assert (
            "    z[0]                 incomparable: primitive 'z' is not in the second record\n"
            in out
        )
        assert "  note: workloads vqe are not compared" in out
        assert "verdict: drifted or not comparable: z[0]" in out

    def test_not_a_record_file(
        self, records: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import shutil

        copy = tmp_path / "copy"
        shutil.copytree(records["first"], copy)
        (copy / "run.json").write_text('{"format": "something else"}', encoding="utf-8")
        assert main(["diff", str(records["first"]), str(copy / "run.json")]) == 1
        assert "not a qrun run record file (format qrun.run/1 expected)" in capsys.readouterr().err
