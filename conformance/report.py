"""What a conformance run found, per scenario and per rule.

:class:`Recorder` is a pytest plugin object: handed to ``pytest.main(plugins=[...])`` it
notes every suite scenario, its rule tags and its outcome (passed, failed with the first
line of the failure, skipped with the reason). :func:`rule_matrix` folds that into one
row per catalogue rule; :func:`render_text` and :func:`render_table` show the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pytest

from .plugin import is_suite_item
from .rules import RULE_TAG_PREFIX, RULES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rich.table import Table

__all__ = [
    "Outcome",
    "Recorder",
    "RuleRow",
    "ScenarioRecord",
    "render_table",
    "render_text",
    "rule_matrix",
]

Outcome = Literal["passed", "failed", "skipped", "not run"]


@dataclass
class ScenarioRecord:
    """One collected scenario (one row of an outline's examples) and how it ended."""

    nodeid: str
    name: str
    rule_ids: tuple[str, ...]
    outcome: Outcome = "not run"
    reason: str = ""


@dataclass(frozen=True)
class RuleRow:
    """A catalogue rule and what its scenarios showed."""

    rule_id: str
    outcome: Outcome
    passed: int
    failed: int
    skipped: int
    reasons: tuple[str, ...]

    @property
    def counts(self) -> str:
        parts = [
            f"{count} {word}"
            for count, word in (
                (self.passed, "passed"),
                (self.failed, "failed"),
                (self.skipped, "skipped"),
            )
            if count
        ]
        return ", ".join(parts) or "no scenario"


def _scenario_name(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "obj", None), "__doc__", None) or item.name
    name = str(doc).split(": ", 1)[-1]
    callspec = getattr(item, "callspec", None)
    return f"{name} [{callspec.id}]" if callspec is not None else name


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _failure(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    return _first_line(str(message if message is not None else report.longrepr))


@dataclass
class Recorder:
    """A pytest plugin object that records the suite's scenarios and their outcomes."""

    records: dict[str, ScenarioRecord] = field(default_factory=dict)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if not is_suite_item(item):
                continue
            rule_ids = tuple(
                sorted(
                    {
                        mark.name.removeprefix(RULE_TAG_PREFIX)
                        for mark in item.iter_markers()
                        if mark.name.startswith(RULE_TAG_PREFIX)
                    }
                )
            )
            record = ScenarioRecord(item.nodeid, _scenario_name(item), rule_ids)
            skip = item.get_closest_marker("skip")
            if skip is not None:
                record.reason = str(skip.kwargs.get("reason", ""))
            self.records[item.nodeid] = record

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.get(report.nodeid)
        if record is None or record.outcome == "failed":
            return
        if report.failed:
            record.outcome = "failed"
            record.reason = _failure(report)
        elif report.skipped:
            record.outcome = "skipped"
            longrepr = report.longrepr
            record.reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
            record.reason = record.reason.removeprefix("Skipped: ")
        elif report.when == "call" and report.passed:
            record.outcome = "passed"

    @property
    def scenarios(self) -> list[ScenarioRecord]:
        return list(self.records.values())


def rule_matrix(
    records: Iterable[ScenarioRecord], rule_ids: Sequence[str] = tuple(RULES)
) -> list[RuleRow]:
    """One row per rule: failed if any scenario failed, else passed if any passed, else
    skipped if any was skipped, else not run."""
    rows = []
    records = list(records)
    for rule_id in rule_ids:
        mine = [record for record in records if rule_id in record.rule_ids]
        counts = {
            outcome: sum(1 for record in mine if record.outcome == outcome)
            for outcome in ("passed", "failed", "skipped")
        }
        outcome: Outcome = "not run"
        candidates: tuple[Outcome, ...] = ("failed", "passed", "skipped")
        for candidate in candidates:
            if counts[candidate]:
                outcome = candidate
                break
        shown = "failed" if outcome == "failed" else "skipped"
        reasons = tuple(
            dict.fromkeys(
                f"{record.name}: {record.reason}" if shown == "failed" else record.reason
                for record in mine
                if record.outcome == shown and record.reason
            )
        )
        rows.append(
            RuleRow(
                rule_id, outcome, counts["passed"], counts["failed"], counts["skipped"], reasons
            )
        )
    return rows


def render_text(rows: Sequence[RuleRow], *, title: str) -> str:
    """The matrix as plain, aligned text (for pipes, files and logs)."""
    header = ("rule", "result", "scenarios", "reason")
    lines = [title, ""]
    body = [(row.rule_id, row.outcome, row.counts, "; ".join(row.reasons)) for row in rows]
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(3)]
    for cells in [header, *body]:
        left = "  ".join(cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=True))
        lines.append(f"{left}  {cells[3]}".rstrip())
    totals = {
        outcome: sum(1 for row in rows if row.outcome == outcome)
        for outcome in ("passed", "failed", "skipped", "not run")
    }
    lines.append("")
    lines.append(
        ", ".join(f"{count} {outcome}" for outcome, count in totals.items() if count) + " rules"
    )
    return "\n".join(lines) + "\n"


_STYLES = {"passed": "green", "failed": "bold red", "skipped": "yellow", "not run": "dim"}


def render_table(rows: Sequence[RuleRow], *, title: str) -> Table:
    """The matrix as a rich table (for terminals)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("rule", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("scenarios", no_wrap=True)
    table.add_column("reason")
    for row in rows:
        style = _STYLES[row.outcome]
        table.add_row(row.rule_id, f"[{style}]{row.outcome}[/]", row.counts, "\n".join(row.reasons))
    return table
