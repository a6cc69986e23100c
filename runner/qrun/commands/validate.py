"""``qrun validate FILE…``: check manifests against the schema and their own references.

Prints every issue of every file (``file:line:col: $.path: message``, or a JSON array
with ``--format json``, or GitHub Actions ``::error`` annotations with ``--format github``)
and a one-line summary on stderr. Exit code 0 if every file is
valid, 1 otherwise. Never imports Qiskit.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files to check")
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: one line per issue (default); json: an array of issue objects; "
        "github: ::error annotations that GitHub Actions shows on the lines",
    )


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, EXIT_USER
    from qrun.manifest.diagnostics import render_json, render_text
    from qrun.manifest.load import check

    issues = []
    invalid = 0
    for file in args.files:
        found = check(file)
        invalid += bool(found)
        issues.extend(found)
    if args.format == "json":
        sys.stdout.write(render_json(issues) + "\n")
    elif args.format == "github" and issues:
        from qrun.reporting.annotations import render_github

        sys.stdout.write(render_github(issues) + "\n")
    elif issues:
        sys.stdout.write(render_text(issues) + "\n")
    count = len(args.files)
    sys.stderr.write(
        f"{count} file{'s' if count != 1 else ''}, {invalid} invalid, "
        f"{len(issues)} issue{'s' if len(issues) != 1 else ''}\n"
    )
    return EXIT_USER if invalid else EXIT_OK
