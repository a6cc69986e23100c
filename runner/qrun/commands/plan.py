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
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_service_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK, about
    from qrun.manifest.load import load_manifest
    from qrun.providers import Service, provider_for
    from qrun.run.pipeline import service_settings
    from qrun.run.plan import make_plan
    from qrun.run.review import describe_plan, render_plan

    with about(str(args.manifest)):
        manifest = load_manifest(args.manifest)
        overrides = Service(channel=args.channel, instance=args.instance, url=args.url)
        provider = provider_for(manifest.backend.kind, service_settings(manifest, overrides))
        try:
            view = describe_plan(make_plan(manifest, provider))
        finally:
            provider.shutdown()
    if args.json:
        sys.stdout.write(json.dumps(view, indent=2) + "\n")
    else:
        sys.stdout.write(render_plan(view) + "\n")
    return EXIT_OK
