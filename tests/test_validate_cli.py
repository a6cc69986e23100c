"""``qrun validate``: output, exit codes, JSON format, and no Qiskit on the way."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from qrun.cli import main

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))
VALID = sorted(str(path) for path in EXAMPLES.glob("*.yaml"))
BAD = str(EXAMPLES / "invalid" / "several-errors.yaml")


class TestExitCodes:
    """If files are validated, the exit code says whether all were valid."""

    def test_all_valid(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["validate", *VALID]) == 0
        out, err = capsys.readouterr()
        assert out == ""
        assert err == f"{len(VALID)} files, 0 invalid, 0 issues\n"

    def test_one_invalid_among_valid(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["validate", VALID[0], BAD]) == 1
        out, err = capsys.readouterr()
        lines = out.splitlines()
        assert len(lines) == 12
        assert lines[0].startswith(f"{BAD}:15:7: $.qrun: the manifest format version must be 1")
        assert err == "2 files, 1 invalid, 12 issues\n"

    def test_nonexistent_file_is_an_input_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        missing = str(tmp_path / "nope.yaml")
        assert main(["validate", missing]) == 1
        out, _ = capsys.readouterr()
        assert out == f"{missing}:1:1: $: no such file\n"

    def test_no_file_argument_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["validate"]) == 2
        assert "the following arguments are required: FILE" in capsys.readouterr().err

    def test_unknown_format_is_a_usage_error(self) -> None:
        assert main(["validate", "--format", "xml", VALID[0]]) == 2


class TestJsonFormat:
    """If --format json is given, stdout is a JSON array of issue objects."""

    def test_issues_as_objects(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["validate", "--format", "json", BAD]) == 1
        issues = json.loads(capsys.readouterr().out)
        assert len(issues) == 12
        assert issues[2] == {
            "file": BAD,
            "line": 19,
            "column": 9,
            "path": "$.execution.mode",
            "message": "'sessions' is not one of session, batch, job; did you mean 'session'?",
        }

    def test_valid_is_an_empty_array(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["validate", "--format", "json", VALID[0]]) == 0
        assert json.loads(capsys.readouterr().out) == []


@pytest.mark.slow
class TestWholeProcess:
    """If qrun validate runs as a process, it never imports Qiskit or NumPy."""

    def test_no_qiskit_or_numpy_imported(self) -> None:
        code = (
            "import sys\n"
            "from qrun.cli import main\n"
            f"code = main(['validate', *{VALID!r}, {BAD!r}])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('qiskit', 'numpy',"
            " 'scipy', 'qiskit_aer', 'qiskit_ibm_runtime'))\n"
            "print(code, heavy)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.splitlines()[-1] == "1 []"

    def test_console_script_exit_code_and_no_traceback(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "qrun", "validate", BAD],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.endswith("1 file, 1 invalid, 12 issues\n")
