"""``qrun validate FILE…``: check manifests against the schema and their own references.

Prints every issue of every file (``file:line:col: $.path: message``, or a JSON array
with ``--format json``, or GitHub Actions ``::error`` annotations with ``--format github``)
and a one-line summary on stderr. Exit code 0 if every file is
valid, 1 otherwise. Never imports Qiskit.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["add_manifests_only", "configure", "main", "manifests_among"]

_MANIFEST_KEY = re.compile(rb"^qrun[ \t]*:", re.MULTILINE)
#: How much of a file is searched for the ``qrun:`` key.
_SNIFF_BYTES = 1 << 20


def add_manifests_only(parser: argparse.ArgumentParser) -> None:
    """``--manifests-only``: what pre-commit hooks pass when they see every YAML file."""
    parser.add_argument(
        "--manifests-only",
        action="store_true",
        help="skip YAML files that are not manifests (no line starting with `qrun:`)",
    )


def manifests_among(files: list[str]) -> list[str]:
    """The files that are manifests: those with a top-level ``qrun:`` key (a line that
    starts with it), as pre-commit hooks tell them from other YAML files."""
    found = []
    for file in files:
        try:
            with Path(file).open("rb") as stream:
                head = stream.read(_SNIFF_BYTES)
        except OSError:
            found.append(file)  # the command says why it cannot be read
            continue
        if _MANIFEST_KEY.search(head):
            found.append(file)
    return found


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files to check")
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: one line per issue (default); json: an array of issue objects; "
        "github: ::error annotations that GitHub Actions shows on the lines",
    )
    add_manifests_only(parser)


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, EXIT_USER
    from qrun.manifest.diagnostics import render_json, render_text
    from qrun.manifest.load import check

    issues = []
    invalid = 0
    files = manifests_among(args.files) if args.manifests_only else args.files
    for file in files:
        found = check(file)
        invalid += bool(found)
        issues.extend(found)
    if args.format == "json":
        sys.stdout.write(render_json(issues) + "\n")
    elif args.format == "github" and issues:
        from qrun.pullrequest.annotations import render_github

        sys.stdout.write(render_github(issues) + "\n")
    elif issues:
        sys.stdout.write(render_text(issues) + "\n")
    count = len(files)
    sys.stdout.flush()  # the issues come before the count on a shared terminal
    sys.stderr.write(
        f"{count} file{'s' if count != 1 else ''}, {invalid} invalid, "
        f"{len(issues)} issue{'s' if len(issues) != 1 else ''}\n"
    )
    return EXIT_USER if invalid else EXIT_OK
