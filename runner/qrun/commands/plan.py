"""``qrun plan MANIFEST``: everything a run would submit, without submitting anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.commands.run import add_service_arguments

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=Path, help="the manifest to plan")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="text (default); json for tools; markdown: a comment for a pull request",
    )
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="same as --format json"
    )
    add_service_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, about
    from qrun.manifest.load import load_manifest
    from qrun.providers import Service
    from qrun.pullrequest.markdown import render_plan_markdown
    from qrun.pullrequest.planned import plan_view
    from qrun.run.review import render_plan

    with about(str(args.manifest)):
        manifest = load_manifest(args.manifest)
        overrides = Service(channel=args.channel, instance=args.instance, url=args.url)
        view = plan_view(manifest, overrides)
    if args.format == "json":
        sys.stdout.write(json.dumps(view, indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(render_plan_markdown(view) + "\n")
    else:
        sys.stdout.write(render_plan(view) + "\n")
    return EXIT_OK
