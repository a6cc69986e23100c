"""``qrun diff A B``: what changed between two manifests, or between two run records.

``A`` and ``B`` are manifest files, ``REV:PATH`` (a manifest at a git revision, e.g.
``HEAD~1:exp.yaml``), or record folders written by ``qrun run``. Manifests are compared by
meaning and by plan (exit 0); records by their results, a verdict per PUB, exit 0 when
every PUB is consistent at ``--level`` and 1 when any drifted or cannot be compared.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.commands.run import add_service_arguments

if TYPE_CHECKING:
    import argparse

    from qrun.manifest.model import Manifest

__all__ = ["configure", "main"]


def _level(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a significance level is between 0 and 1, not {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("before", metavar="A", help="manifest, REV:PATH, or run record folder")
    parser.add_argument("after", metavar="B", help="the same kind of thing as A")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="text (default); json for tools; markdown: a comment for a pull request",
    )
    parser.add_argument(
        "--level",
        type=_level,
        default=0.01,
        help="records: the significance level below which a PUB has drifted (default 0.01)",
    )
    parser.add_argument(
        "--no-plan",
        action="store_true",
        help="manifests: compare by meaning only, without planning (no transpilation)",
    )
    add_service_arguments(parser)


def _kind(argument: str) -> tuple[str, Path | None]:
    """``("record", folder)``, ``("manifest", file)`` or ``("revision", None)``."""
    from qrun.comparison.records import is_record
    from qrun.comparison.revisions import is_revision
    from qrun.errors import QrunError

    path = Path(argument)
    if path.is_dir():
        if is_record(path):
            return "record", path
        raise QrunError(f"{argument}: a folder, but not a run record (it has no run.json)")
    if path.is_file():
        if path.name in ("run.json", "results.json") and is_record(path.parent):
            return "record", path.parent
        return "manifest", path
    if is_revision(argument):
        return "revision", None
    raise QrunError(f"{argument}: no such manifest, run record folder or REV:PATH")


def _manifest(argument: str, kind: str, path: Path | None, scratch: ExitStack) -> Manifest:
    from qrun.comparison.revisions import manifest_at
    from qrun.errors import about
    from qrun.manifest.load import load_manifest

    with about(argument):
        if kind == "revision":
            found = manifest_at(argument, scratch)
            return load_manifest(found.path, file=found.shown)
        assert path is not None
        return load_manifest(path, file=argument)


def main(args: argparse.Namespace) -> int:
    from qrun.comparison.render import render
    from qrun.errors import EXIT_OK, EXIT_USER, UsageError

    first, second = _kind(args.before), _kind(args.after)
    records = [kind == "record" for kind, _ in (first, second)]
    if any(records) and not all(records):
        raise UsageError(
            "qrun diff compares two manifests or two run records, not a record with a manifest"
        )
    if all(records):
        from qrun.comparison.records import compare_records

        assert first[1] is not None and second[1] is not None
        diff = compare_records(first[1], second[1], level=args.level)
        sys.stdout.write(render(diff, args.format) + "\n")
        if args.format == "json":  # the other forms show the warnings in the report
            for warning in diff["warnings"]:
                sys.stderr.write(f"qrun: warning: {warning}\n")
        return EXIT_OK if diff["verdict"] == "consistent" else EXIT_USER
    from qrun.comparison.manifests import compare_manifests
    from qrun.providers import Service

    with ExitStack() as scratch:
        before = _manifest(args.before, *first, scratch)
        after = _manifest(args.after, *second, scratch)
        overrides = Service(channel=args.channel, instance=args.instance, url=args.url)
        result = compare_manifests(
            before,
            after,
            names=(args.before, args.after),
            overrides=overrides,
            plan=not args.no_plan,
        )
    sys.stdout.write(render(result, args.format) + "\n")
    return EXIT_OK
