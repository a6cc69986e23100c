"""The ``qrun`` command: dispatch, help, exit codes and how errors are shown."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qrun import cli
from qrun.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE

if TYPE_CHECKING:
    import argparse

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))
INVALID = str(EXAMPLES / "invalid" / "several-errors.yaml")


@pytest.fixture
def exploding(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A command ``qrun boom`` registered like any other, whose main raises ``module.error``."""
    module = types.ModuleType("qrun_test_boom")

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="*")

    def main(args: argparse.Namespace) -> int:
        raise module.error

    module.configure = configure  # type: ignore[attr-defined]
    module.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(cli.COMMANDS, "boom", (module.__name__, "a command that fails"))
    return module


class TestExitCodes:
    """If a command fails, the exit code says whose fault it was, and user errors show no
    traceback."""

    def test_missing_manifest_is_one_line_and_exit_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        missing = tmp_path / "nope.yaml"
        assert cli.main(["plan", str(missing)]) == 1
        err = capsys.readouterr().err
        assert err == f"qrun: {missing}:1:1: $: no such file\n"

    def test_invalid_manifest_lists_every_issue(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["plan", INVALID]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 12
        assert lines[0] == (
            f"qrun: {INVALID}:15:7: $.qrun: the manifest format version must be 1 "
            "(write `qrun: 1`), got integer 2"
        )
        assert (
            lines[-1]
            == f"{INVALID}:37:18: $.workloads[0].x0.random: low (1) must be less than high (0)"
        )
        assert "Traceback" not in err

    @pytest.mark.parametrize("command", ["plan", "run"])
    def test_invalid_manifest_as_json_when_asked(
        self, command: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main([command, INVALID, "--json"]) == 1
        out, err = capsys.readouterr()
        issues = json.loads(out)
        assert len(issues) == 12
        assert issues[0] == {
            "file": INVALID,
            "line": 15,
            "column": 7,
            "path": "$.qrun",
            "message": "the manifest format version must be 1 (write `qrun: 1`), got integer 2",
        }
        assert err == "qrun: 12 issues; nothing was run\n"

    def test_bug_shows_traceback_and_exit_3(
        self, exploding: types.ModuleType, capsys: pytest.CaptureFixture[str]
    ) -> None:
        exploding.error = ZeroDivisionError("oops")  # type: ignore[attr-defined]
        assert cli.main(["boom"]) == EXIT_BUG
        err = capsys.readouterr().err
        assert "Traceback" in err
        assert "ZeroDivisionError: oops" in err
        assert err.endswith("please report it with the traceback above.\n")

    def test_panic_of_an_extension_is_a_bug(
        self, exploding: types.ModuleType, capsys: pytest.CaptureFixture[str]
    ) -> None:
        class PanicException(BaseException):
            """What a compiled extension raises when it panics (not an Exception)."""

        exploding.error = PanicException("index out of bounds")  # type: ignore[attr-defined]
        assert cli.main(["boom"]) == EXIT_BUG
        err = capsys.readouterr().err
        assert "PanicException: index out of bounds" in err
        assert "internal error" in err

    def test_interrupt_exits_130(
        self, exploding: types.ModuleType, capsys: pytest.CaptureFixture[str]
    ) -> None:
        exploding.error = KeyboardInterrupt()  # type: ignore[attr-defined]
        assert cli.main(["boom"]) == EXIT_INTERRUPTED
        assert capsys.readouterr().err == "qrun: interrupted\n"

    def test_unknown_flag_is_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["validate", "--no-such-flag", INVALID]) == EXIT_USAGE
        assert "qrun validate: error: unrecognized arguments: --no-such-flag" in (
            capsys.readouterr().err
        )

    def test_unknown_command_or_none_is_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main([]) == EXIT_USAGE
        assert capsys.readouterr().err.startswith("usage: qrun")


class TestHelp:
    """If a user asks for help, every command is listed with what it does, and no command
    module (nor Qiskit) is imported to say so."""

    def test_every_command_listed_with_its_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["--help"]) == 0
        out = capsys.readouterr().out
        listed = [line.split(maxsplit=1) for line in out.split("commands:\n")[1].splitlines()]
        listed = [pair for pair in listed if len(pair) == 2 and pair[0] in cli.COMMANDS]
        assert dict(listed) == {name: text for name, (_, text) in cli.COMMANDS.items()}

    def test_help_imports_no_command(self) -> None:
        script = (
            "import sys\nfrom qrun.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('qrun.commands.', 'qiskit'))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert done.stdout.splitlines()[-1] == "[]"


class TestDefaultCommand:
    """If the first argument is not a command, it is a manifest to run."""

    def test_manifest_path_means_run(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        missing = tmp_path / "nope.yaml"
        assert cli.main([str(missing)]) == cli.main(["run", str(missing)]) == 1
        first, second = capsys.readouterr().err.splitlines()
        assert first == second == f"qrun: {missing}:1:1: $: no such file"

    def test_command_names_are_commands(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["validate", INVALID]) == 1
        assert capsys.readouterr().err == "1 file, 1 invalid, 12 issues\n"


class TestEntryPoints:
    """If qrun is started as a module or a script, it behaves the same."""

    def test_python_dash_m_prints_version(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "qrun", "--version"], capture_output=True, text=True, check=True
        )
        assert out.stdout.startswith("qrun ")


class TestErrorsNameTheManifest:
    """If running a manifest fails outside the manifest (the service, the network), the
    error names the manifest first."""

    def test_unreachable_service(self, capsys: pytest.CaptureFixture[str]) -> None:
        bell = str(EXAMPLES / "bell.yaml")
        assert cli.main(["run", bell, "--url", "http://127.0.0.1:1"]) == 1
        err = capsys.readouterr().err.splitlines()[-1]
        assert err.startswith(f"qrun: {bell}: cannot connect to Qiskit Runtime at ")
