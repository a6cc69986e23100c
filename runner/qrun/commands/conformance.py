"""``qrun conformance``: check a session service against the documented lifecycle rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="local",
        metavar="NAME",
        help="what to check: local (qrun's engine), qiskit-local (the client's local "
        "testing mode), runtime (a Runtime service through the real client), an installed "
        "target's name, or module:Class (default: local)",
    )
    parser.add_argument(
        "--target-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the target (repeatable); the runtime target takes url, "
        "instance, other-instance, channel and real-time. Credentials come only from the "
        "environment or a saved account",
    )
    parser.add_argument(
        "--tags",
        metavar="EXPR",
        help="run only scenarios whose tags match, e.g. 'rule-TTL-3 or rule-END-1', "
        "'not multi-user'",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail when any scenario is skipped, too"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="write junit.xml, cucumber.json and matrix.txt into DIR",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="show the rules and scenarios that would run for the target, without running",
    )
    parser.add_argument("--show-output", action="store_true", help="also print pytest's own report")


def main(args: argparse.Namespace) -> int:
    from qrun.conformance.report import render_table, render_text
    from qrun.conformance.suite import run_suite
    from qrun.conformance.targets import parse_target_options

    run = run_suite(
        args.target,
        tags=args.tags,
        options=parse_target_options(args.target_option),
        report_dir=args.report,
        collect_only=args.list,
    )
    if args.show_output or run.pytest_exit not in (0, 1, 5):
        sys.stderr.write(run.output)
    if args.list:
        sys.stdout.write(_listing(run))
        return 0 if run.pytest_exit in (0, 5) else 1
    title = f"qrun conformance: target {run.target}"
    text = render_text(run.rows, title=title)
    if args.report is not None:
        (args.report / "matrix.txt").write_text(text, encoding="utf-8")
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(render_table(run.rows, title=title))
    else:
        sys.stdout.write(text)
    if run.failed:
        return 1
    if args.strict and run.skipped:
        sys.stderr.write("qrun: --strict: some scenarios were skipped\n")
        return 1
    return 0


def _listing(run: object) -> str:
    from qrun.conformance.rules import RULES
    from qrun.conformance.suite import SuiteRun

    assert isinstance(run, SuiteRun)
    lines = [f"scenarios for target {run.target}:"]
    for rule_id, text in RULES.items():
        mine = [record for record in run.scenarios if rule_id in record.rule_ids]
        if not mine:
            continue
        lines.append(f"{rule_id}  {text}")
        for record in mine:
            state = f"skip: {record.reason}" if record.reason else "run"
            lines.append(f"    {record.name}  ({state})")
    lines.append(f"{len(run.scenarios)} scenarios")
    return "\n".join(lines) + "\n"
