"""``qrun report RUN_DIR [--open]``: re-render a run record's ``report.html``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run record folder (holding run.json)")
    parser.add_argument(
        "--open", action="store_true", help="open the report in the default web browser"
    )


def main(args: argparse.Namespace) -> int:
    from qrun.errors import EXIT_OK
    from qrun.report import write_report

    path = write_report(args.run_dir)
    sys.stdout.write(f"{path}\n")
    if args.open:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            sys.stderr.write("qrun: no web browser could be started; open the file above\n")
    return EXIT_OK
