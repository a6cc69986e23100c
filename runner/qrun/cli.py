"""The ``qrun`` command: a thin shell that parses, calls one command, returns its exit code.

Each subcommand is a module in :mod:`qrun.commands` with two functions:
``configure(parser)`` adds its arguments and ``main(args) -> int`` does the work. Only the
chosen command's module is imported, so ``qrun validate`` never pays for Qiskit.
``qrun MANIFEST…`` (or a folder of manifests) is short for ``qrun run MANIFEST…``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import TYPE_CHECKING, Protocol, cast

from qrun import __version__
from qrun.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, QrunError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

#: subcommand name -> (module, one-line help). The single registry of subcommands.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "qrun.commands.run",
        "run a manifest's workload in a session; several, or a folder's, side by side "
        "(default command)",
    ),
    "plan": ("qrun.commands.plan", "show what a run would submit and its QPU time; runs nothing"),
    "validate": ("qrun.commands.validate", "check manifests against the schema; no Qiskit needed"),
    "fmt": ("qrun.commands.fmt", "lay manifests out in the canonical layout, comments kept"),
    "diff": (
        "qrun.commands.diff",
        "what changed between two manifests (or git revisions) or two run records",
    ),
    "conformance": (
        "qrun.commands.conformance",
        "check a session service against the documented session lifecycle rules",
    ),
    "serve": ("qrun.commands.serve", "a local Qiskit Runtime-compatible service on Aer"),
    "report": ("qrun.commands.report", "re-render a run record's report.html (and open it)"),
    "resume": ("qrun.commands.resume", "go on with an interrupted run from its record folder"),
    "sessions": ("qrun.commands.sessions", "list or close open sessions at the Runtime service"),
}


class Command(Protocol):
    """What a command module provides."""

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def main(self, args: argparse.Namespace) -> int: ...


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors exit with qrun's usage code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _load(name: str) -> Command:
    return cast("Command", importlib.import_module(COMMANDS[name][0]))


def _top_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<12} {help_text}" for name, (_, help_text) in COMMANDS.items())
    parser = _Parser(
        prog="qrun",
        usage="qrun [--version] COMMAND [ARGS…]  |  qrun MANIFEST…|DIR [ARGS…]",
        description="Declarative, reviewable quantum workloads on Qiskit Runtime.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"commands:\n{commands}\n\n'qrun COMMAND --help' shows a command's options.\n"
            "Exit codes: 0 ok, 1 input or backend said no, 2 usage error, 3 bug, 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"qrun {__version__}")
    parser.add_argument("command", nargs="?", choices=list(COMMANDS), metavar="COMMAND")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def build_parser(name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand; only that command's module is imported."""
    parser = _Parser(prog=f"qrun {name}", description=COMMANDS[name][1])
    _load(name).configure(parser)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """``qrun FILE …`` (or ``qrun DIR …``) means ``qrun run FILE …``."""
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return ["run", *argv]
    return argv


def _wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"


def _report(error: QrunError, args: argparse.Namespace) -> None:
    """A manifest's issues go to stdout as JSON where the command was asked for JSON (the
    form ``qrun validate --format json`` prints), with a count on stderr; any other error
    goes to stderr as text."""
    from qrun.manifest.diagnostics import ManifestError, render_json

    if isinstance(error, ManifestError) and _wants_json(args):
        sys.stdout.write(render_json(error.issues) + "\n")
        count = len(error.issues)
        sys.stderr.write(f"qrun: {count} issue{'s' if count != 1 else ''}; nothing was run\n")
    else:
        sys.stderr.write(f"qrun: {error}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qrun`` console script; returns the process exit code."""
    args_list = _with_default_command(list(sys.argv[1:] if argv is None else argv))
    top = _top_parser()
    try:
        chosen = top.parse_args(args_list)
        if chosen.command is None:
            top.print_help(sys.stderr)
            return EXIT_USAGE
        command = _load(chosen.command)
        args = build_parser(chosen.command).parse_args(chosen.args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return command.main(args)
    except QrunError as error:
        _report(error, args)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("qrun: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - the one place that turns a bug into exit code 3
        # BaseException, not Exception: a panic in a compiled extension (pyo3's
        # PanicException) derives from BaseException and is a bug all the same.
        traceback.print_exc()
        sys.stderr.write(
            "qrun: internal error (a bug in qrun, not in your manifest); please report it "
            "with the traceback above.\n"
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
