"""``qrun sessions list`` and ``qrun sessions close ID…|--all [--cancel]``: the open
sessions of a Runtime account or service (left open by a run that was killed, say),
listed with backend, state, age and jobs, and closed (see
:mod:`qrun.providers.runtime_sessions` for how they are found).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from qrun.commands.run import add_service_arguments

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="open sessions: backend, state, age, jobs", description="open sessions"
    )
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    add_service_arguments(listing)
    closing = actions.add_parser(
        "close", help="close sessions by id, or all open ones", description="close sessions"
    )
    closing.add_argument("ids", nargs="*", metavar="ID", help="session ids")
    closing.add_argument("--all", action="store_true", help="every open session listed")
    closing.add_argument(
        "--cancel", action="store_true", help="cancel their queued jobs too (else they still run)"
    )
    add_service_arguments(closing)


def main(args: argparse.Namespace) -> int:
    from qrun.clock import SystemClock
    from qrun.errors import EXIT_OK, EXIT_USER, BackendError, UsageError
    from qrun.manifest.model import Service
    from qrun.providers.runtime import connect_service
    from qrun.providers.runtime_sessions import close_session, describe, open_sessions

    if args.action == "close" and bool(args.ids) == bool(args.all):
        raise UsageError("qrun sessions close takes session ids or --all (one of the two)")
    service = connect_service(Service(channel=args.channel, instance=args.instance, url=args.url))
    clock = SystemClock()
    if args.action == "list":
        found = open_sessions(service)
        now = clock.now()
        if args.json:
            sys.stdout.write(json.dumps([each.to_json(now) for each in found], indent=2) + "\n")
        else:
            sys.stdout.write(describe(found, now) + "\n")
        return EXIT_OK
    ids = [each.id for each in open_sessions(service)] if args.all else list(args.ids)
    verb = "cancelled" if args.cancel else "closed"
    failed = False
    for session_id in ids:
        try:
            close_session(service, session_id, cancel=args.cancel)
        except BackendError as error:
            sys.stderr.write(f"qrun: {error}\n")
            failed = True
            continue
        sys.stdout.write(f"{session_id} {verb}\n")
    if not ids:
        sys.stderr.write("qrun: no open sessions\n")
    return EXIT_USER if failed else EXIT_OK
