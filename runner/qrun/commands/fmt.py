"""``qrun fmt FILE…``: lay manifests out in the one canonical layout, comments kept.

Rewrites each file that is not yet canonical (written whole, then renamed over it).
``--check`` writes nothing, prints the files that would change and exits 1 if any would;
``--diff`` prints what would change as a unified diff, writing nothing. A file with
errors is left untouched and its errors are printed as ``qrun validate`` prints them
(exit 1).
"""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING

from qrun.commands.validate import add_manifests_only, manifests_among

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files to format")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that would change and exit 1 if there are any",
    )
    parser.add_argument(
        "--diff", action="store_true", help="write nothing; print the changes as a unified diff"
    )
    add_manifests_only(parser)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, EXIT_USER
    from qrun.formatting.files import format_files
    from qrun.manifest.diagnostics import render_text

    write = not (args.check or args.diff)
    files = manifests_among(args.files) if args.manifests_only else args.files
    outcomes = format_files(files, write=write)
    changed = invalid = 0
    for outcome in outcomes:
        if outcome.issues:
            invalid += 1
            sys.stdout.write(render_text(outcome.issues) + "\n")
        elif outcome.error is not None:
            invalid += 1
            sys.stderr.write(f"qrun: {outcome.file}: {outcome.error}\n")
        elif outcome.changed:
            changed += 1
            if args.diff:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        outcome.before.splitlines(keepends=True),
                        outcome.after.splitlines(keepends=True),
                        fromfile=f"{outcome.file} (as written)",
                        tofile=f"{outcome.file} (canonical)",
                    )
                )
            elif args.check:
                sys.stdout.write(f"{outcome.file}\n")
            else:
                sys.stderr.write(f"reformatted {outcome.file}\n")
    verb = "reformatted" if write else "would be reformatted"
    unchanged = len(outcomes) - changed - invalid
    sys.stderr.write(
        f"{_plural(changed, 'file')} {verb}, {unchanged} unchanged, "
        f"{invalid} invalid (left untouched)\n"
    )
    if invalid or (changed and args.check):
        return EXIT_USER
    return EXIT_OK
