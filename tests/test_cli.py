"""The ``qrun`` command's dispatch and exit codes."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from qrun import cli
from qrun.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, QrunError
from qrun.manifest.diagnostics import ManifestError

if TYPE_CHECKING:
    import argparse


class _Exploding:
    """A command module whose main raises the exception it was given."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def configure(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("files", nargs="*")

    def main(self, args: argparse.Namespace) -> int:
        raise self.exc


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch) -> type[_Exploding]:
    def install(exc: BaseException) -> None:
        monkeypatch.setitem(cli.COMMANDS, "boom", ("unused", "test command"))
        real = cli._load
        monkeypatch.setattr(
            cli, "_load", lambda name: _Exploding(exc) if name == "boom" else real(name)
        )

    return install  # type: ignore[return-value]


class TestExitCodes:
    """If a command fails, the exit code says whose fault it was, and user errors show no
    traceback."""

    def test_user_error_is_one_line_and_exit_1(
        self, command: type[_Exploding], capsys: pytest.CaptureFixture[str]
    ) -> None:
        command(QrunError("backend 'fake_nowhere' does not exist"))  # type: ignore[call-arg]
        assert cli.main(["boom"]) == 1
        err = capsys.readouterr().err
        assert err == "qrun: backend 'fake_nowhere' does not exist\n"

    def test_manifest_error_lists_every_issue(
        self, command: type[_Exploding], capsys: pytest.CaptureFixture[str]
    ) -> None:
        from qrun.manifest.diagnostics import Issue

        issues = [
            Issue("m.yaml", 3, 5, "$.backend.name", "unknown backend"),
            Issue("m.yaml", 9, 7, "$.primitives[0].pubs[0].circuit", "unknown circuit 'bel'"),
        ]
        command(ManifestError(issues))  # type: ignore[call-arg]
        assert cli.main(["boom"]) == 1
        err = capsys.readouterr().err
        assert "m.yaml:3:5: $.backend.name: unknown backend" in err
        assert "m.yaml:9:7: $.primitives[0].pubs[0].circuit: unknown circuit 'bel'" in err
        assert "Traceback" not in err

    def test_bug_shows_traceback_and_exit_3(
        self, command: type[_Exploding], capsys: pytest.CaptureFixture[str]
    ) -> None:
        command(ZeroDivisionError("oops"))  # type: ignore[call-arg]
        assert cli.main(["boom"]) == EXIT_BUG
        err = capsys.readouterr().err
        assert "Traceback" in err
        assert "internal error" in err

    def test_interrupt_exits_130(self, command: type[_Exploding]) -> None:
        command(KeyboardInterrupt())  # type: ignore[call-arg]
        assert cli.main(["boom"]) == EXIT_INTERRUPTED

    def test_unknown_flag_is_usage_error(
        self, command: type[_Exploding], capsys: pytest.CaptureFixture[str]
    ) -> None:
        command(AssertionError("never reached"))  # type: ignore[call-arg]
        assert cli.main(["boom", "--no-such-flag"]) == EXIT_USAGE
        assert "unrecognized arguments" in capsys.readouterr().err

    def test_no_command_is_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main([]) == EXIT_USAGE
        assert "usage: qrun" in capsys.readouterr().err

    def test_help_lists_commands_without_importing_them(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main(["--help"]) == 0
        out = capsys.readouterr().out
        assert "validate" in out
        assert "run" in out


class TestDefaultCommand:
    """If the first argument is not a command, it is a manifest to run."""

    def test_manifest_path_means_run(self) -> None:
        assert cli._with_default_command(["bell.yaml", "--json"]) == ["run", "bell.yaml", "--json"]

    def test_commands_are_left_alone(self) -> None:
        assert cli._with_default_command(["validate", "a.yaml"]) == ["validate", "a.yaml"]
        assert cli._with_default_command(["--version"]) == ["--version"]


class TestEntryPoints:
    """If qrun is started as a module or a script, it behaves the same."""

    def test_python_dash_m_prints_version(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "qrun", "--version"], capture_output=True, text=True, check=True
        )
        assert out.stdout.startswith("qrun ")
