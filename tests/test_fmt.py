"""``qrun fmt``: one canonical layout, comments kept, invalid files left untouched."""

from __future__ import annotations

import ast
import io
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from ruamel.yaml import YAML

from qrun.cli import main
from qrun.formatting.layout import canonical_text
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.load import check
from qrun.manifest.source import parse_document

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "spec" / "examples"
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))


def _suite_manifests() -> Iterator[tuple[str, str]]:
    """Every manifest written out in the test suite and benchmarks: string constants that
    start a manifest (``qrun: 1`` at the start of a line) and are valid on their own."""
    for source in sorted([*ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py")]):
        if source.name == Path(__file__).name:
            continue  # this file's manifests are laid out badly on purpose
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.search(r"^qrun: 1$", node.value, re.MULTILINE)
            ):
                yield f"{source.name}:{node.lineno}", node.value


def _comments(text: str) -> list[str]:
    """The comments of a YAML text, in order (a ``#`` outside quotes and literal blocks)."""
    found = []
    for line in text.splitlines():
        match = re.search(r"(?:^|\s)(#.*)$", line)
        if match and not line.lstrip().startswith(("OPENQASM", "include", "//")):
            found.append(match.group(1).strip())
    return found


def _scrambled(text: str) -> str:
    """The same manifest laid out badly: top-level keys reversed (the steps' sections
    keep their order, which is the order the steps run in), four-space indents, every
    string double-quoted, flow lists as blocks."""
    document = YAML()
    document.indent(mapping=4, sequence=6, offset=4)
    data = document.load(text)
    keys = list(data)[::-1]
    steps = iter([key for key in data if key in ("primitives", "workloads")])
    for key in [next(steps) if key in ("primitives", "workloads") else key for key in keys]:
        data.move_to_end(key)
    out = io.StringIO()
    document.dump(data, out)
    return out.getvalue()


def _yaml(name: str, text: str) -> bool:
    """Whether ``text`` is YAML qrun reads without a complaint (a template's
    ``{placeholder}`` value is a mapping, but a ``{placeholder}:`` key is refused)."""
    try:
        return not parse_document(name, text).issues
    except ManifestError:
        return False


SUITE = list(_suite_manifests())
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


class TestCanonicalLayout:
    """If a manifest is formatted, the result is canonical, means the same, keeps every
    comment, and formatting it again changes nothing."""

    @pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
    def test_examples_are_canonical(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        assert canonical_text(text) == text

    @pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
    def test_scrambled_examples_come_back_as_they_were(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        messy = _scrambled(text)
        assert messy != text
        once = canonical_text(messy)
        assert canonical_text(once) == once
        # The very layout of the example comes back, comments in place; only the
        # column of an end-of-line comment stays where the scrambled text had it.
        assert re.sub(r" +#", " #", once) == re.sub(r" +#", " #", text)

    def test_the_suite_holds_manifests(self) -> None:
        assert len(SUITE) >= 10

    @pytest.mark.parametrize(("where", "text"), SUITE, ids=[where for where, _ in SUITE])
    def test_every_manifest_of_the_suite(self, where: str, text: str) -> None:
        if not _yaml(where, text):
            pytest.skip(f"{where} is a template or broken on purpose: qrun refuses it as YAML")
        once = canonical_text(text)
        assert canonical_text(once) == once
        assert parse_document("a", once).data == parse_document("b", text).data
        assert sorted(_comments(once)) == sorted(_comments(text))


class TestLayoutRules:
    """If a manifest is laid out, keys follow the schema and strings are quoted only
    where a plain scalar would be read as something else."""

    def test_comments_above_a_key_move_with_it(self) -> None:
        text = (
            "# top\n"
            "primitives:\n"
            "  - sampler:\n"
            "    name: counts   # the name\n"
            "    pubs:\n"
            "      - circuit: bell\n"
            "# about the backend\n"
            "backend:\n"
            "  name: aer\n"
            "# about the version\n"
            "\n"
            "qrun: 1\n"
            "# the end\n"
        )
        assert canonical_text(text) == (
            "# top\n"
            "# about the version\n"
            "\n"
            "qrun: 1\n"
            "# about the backend\n"
            "backend:\n"
            "  name: aer\n"
            "primitives:\n"
            "  - sampler:\n"
            "    name: counts   # the name\n"
            "    pubs:\n"
            "      - circuit: bell\n"
            "# the end\n"
        )

    def test_the_steps_keep_the_order_they_run_in(self, tmp_path: Path) -> None:
        """A PUB may take its values only from a workload written before it, so fmt
        never moves ``workloads`` after ``primitives`` (or back): the file stays valid."""
        text = (EXAMPLES / "qaoa-maxcut.yaml").read_text(encoding="utf-8")
        assert text.index("\nworkloads:") < text.index("\nprimitives:")
        canonical = canonical_text(text)
        assert canonical.index("\nworkloads:") < canonical.index("\nprimitives:")
        path = tmp_path / "qaoa.yaml"
        path.write_text(canonical, encoding="utf-8")
        assert check(path) == []

    def test_rules(self) -> None:
        messy = (
            "# head comment\n"
            "primitives:\n"
            "    -   pubs:\n"
            '            -   circuit: "bell"   # the pair\n'
            "        name: 'counts'\n"
            "        sampler:\n"
            "        options:\n"
            "            environment:\n"
            "                job_tags:\n"
            "                    - bell\n"
            '                    - "yes"\n'
            "                    - '2024-01-01'\n"
            "circuits:\n"
            "    bell:\n"
            '        qasm: "OPENQASM 3.0;\\nqubit[1] q;\\nbit[1] c;\\nc = measure q;\\n"\n'
            "backend: {name: aer}\n"
            "qrun: 1\n"
        )
        assert canonical_text(messy) == (
            "# head comment\n"
            "qrun: 1\n"
            "backend: {name: aer}\n"
            "circuits:\n"
            "  bell:\n"
            "    qasm: |\n"
            "      OPENQASM 3.0;\n"
            "      qubit[1] q;\n"
            "      bit[1] c;\n"
            "      c = measure q;\n"
            "primitives:\n"
            "  - sampler:\n"
            "    name: counts\n"
            "    options:\n"
            "      environment:\n"
            '        job_tags: [bell, "yes", "2024-01-01"]\n'
            "    pubs:\n"
            "      - circuit: bell             # the pair\n"
        )

    def test_a_long_list_of_scalars_is_a_block(self) -> None:
        tags = ", ".join(f"tag-number-{index}" for index in range(8))
        text = (
            "qrun: 1\nbackend:\n  name: aer\ncircuits: {}\nprimitives:\n  - sampler:\n"
            f"    name: s\n    options:\n      environment:\n        job_tags: [{tags}]\n"
            "    pubs: []\n"
        )
        laid_out = canonical_text(text)
        assert "        job_tags:\n          - tag-number-0\n" in laid_out
        assert canonical_text(laid_out) == laid_out


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


BELL = (EXAMPLES / "bell.yaml").read_text(encoding="utf-8")
MESSY_BELL = BELL.replace(
    "  mode: session\n  max_time: 25m\n", "  max_time: 25m\n  mode: session\n"
)


class TestCommand:
    """If ``qrun fmt`` runs, it rewrites, checks or shows; exit codes say what CI needs."""

    def test_check_of_canonical_files_exits_0(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _write(tmp_path, "bell.yaml", BELL)
        assert main(["fmt", "--check", str(path)]) == 0
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "0 files would be reformatted, 1 unchanged, 0 invalid" in captured.err

    def test_check_lists_what_would_change_and_exits_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        good = _write(tmp_path, "good.yaml", BELL)
        bad = _write(tmp_path, "bad.yaml", MESSY_BELL)
        assert main(["fmt", "--check", str(good), str(bad)]) == 1
        assert capsys.readouterr().out == f"{bad}\n"
        assert bad.read_text(encoding="utf-8") == MESSY_BELL

    def test_diff_shows_without_writing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = _write(tmp_path, "bad.yaml", MESSY_BELL)
        assert main(["fmt", "--diff", str(bad)]) == 0
        out = capsys.readouterr().out
        assert f"--- {bad} (as written)\n+++ {bad} (canonical)\n" in out
        assert " execution:\n+  mode: session\n   max_time: 25m\n-  mode: session\n" in out
        assert bad.read_text(encoding="utf-8") == MESSY_BELL
        assert main(["fmt", "--diff", "--check", str(bad)]) == 1

    def test_rewrites_whole_files_in_place(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = _write(tmp_path, "bad.yaml", MESSY_BELL)
        bad.chmod(0o640)
        assert main(["fmt", str(bad)]) == 0
        assert f"reformatted {bad}" in capsys.readouterr().err
        assert bad.read_text(encoding="utf-8") == BELL
        assert bad.stat().st_mode & 0o777 == 0o640
        assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.yaml"]
        assert main(["fmt", "--check", str(bad)]) == 0

    @pytest.mark.parametrize("path", INVALID, ids=lambda path: path.name)
    def test_invalid_files_are_untouched_and_reported_as_validate_does(
        self, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        shutil.copytree(EXAMPLES, tmp_path / "examples")
        copy = tmp_path / "examples" / "invalid" / path.name
        before = copy.read_bytes()
        assert main(["validate", str(copy)]) == 1
        validated = capsys.readouterr().out
        assert main(["fmt", str(copy)]) == 1
        formatted = capsys.readouterr()
        assert formatted.out == validated
        assert "1 invalid (left untouched)" in formatted.err
        assert copy.read_bytes() == before

    def test_many_files_share_the_cores(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        files = [_write(tmp_path, f"m{index:02d}.yaml", BELL) for index in range(40)]
        files[17].write_text(MESSY_BELL, encoding="utf-8")
        assert main(["fmt", "--check", *map(str, files)]) == 1
        captured = capsys.readouterr()
        assert captured.out == f"{files[17]}\n"
        assert "1 file would be reformatted, 39 unchanged, 0 invalid" in captured.err

    def test_manifests_only_skips_other_yaml(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        other = _write(tmp_path, "ci.yaml", "jobs:\n    build: {runs-on: ubuntu}\n")
        bad = _write(tmp_path, "bad.yaml", MESSY_BELL)
        assert main(["fmt", "--check", "--manifests-only", str(other), str(bad)]) == 1
        assert capsys.readouterr().out == f"{bad}\n"
        assert main(["fmt", "--check", str(other)]) == 1  # without it, judged as a manifest
