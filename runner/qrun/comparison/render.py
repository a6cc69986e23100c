"""A comparison shown as text for a terminal, JSON for tools, or Markdown for a pull
request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from qrun.pullrequest.markdown import cell, qpu_time, warning_lines

if TYPE_CHECKING:
    from qrun.comparison.manifests import Change, ManifestDiff, PlanTotals
    from qrun.comparison.records import PubVerdict, RecordDiff

__all__ = ["render"]

_LONG = 60


def _shown(value: object) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        if "\n" in value:
            return f"({len(value.splitlines())} lines of text)"
        text = value
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= _LONG else text[: _LONG - 1] + "…"


def _change_line(change: Change) -> str:
    before, after = _durations(change)
    if before is None:
        return f"{change['where']}: added {_shown(after)}"
    if after is None:
        return f"{change['where']}: removed (was {_shown(before)})"
    return f"{change['where']}: {_shown(before)} → {_shown(after)}"


def _durations(change: Change) -> tuple[object, object]:
    """``max_time`` as a duration (``25m``), other values as they are."""
    from qrun.manifest.duration import format_duration

    values = (change["before"], change["after"])
    if not change["where"].endswith("max_time"):
        return values
    return tuple(  # type: ignore[return-value]
        format_duration(value) if isinstance(value, (int, float)) else value for value in values
    )


def _text_lines(before: object, after: object) -> list[str]:
    """A unified diff of two multi-line strings (OpenQASM), indented."""
    import difflib

    if not (isinstance(before, str) and isinstance(after, str) and "\n" in before + after):
        return []
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    return [f"      {line}" for line in list(lines)[2:]]


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _plan_row(label: str, before: str, after: str) -> str:
    if before == after:
        return f"    {label:<20} {before} (unchanged)"
    return f"    {label:<20} {before} → {after}"


def _totals_rows(first: PlanTotals | None, second: PlanTotals | None) -> list[tuple[str, str, str]]:
    if first is None or second is None:
        return []
    return [
        ("backend", first["backend"], second["backend"]),
        ("jobs", str(first["jobs"]), str(second["jobs"])),
        (
            "circuit executions",
            f"{first['circuit_executions']:,}",
            f"{second['circuit_executions']:,}",
        ),
        (
            "estimated QPU time",
            qpu_time(first["estimated_qpu_seconds"]),
            qpu_time(second["estimated_qpu_seconds"]),
        ),
    ]


def _size(size: object) -> str:
    if not isinstance(size, dict):
        return "(not planned)"
    return f"{size['qubits']} qubits, depth {size['depth']}, size {size['size']}"


def _manifests_text(diff: ManifestDiff) -> str:
    lines = [f"qrun diff: {diff['before']} → {diff['after']}"]
    if not diff["changes"]:
        lines.append("  no change in meaning")
    section = None
    for change in diff["changes"]:
        if change["section"] != section:
            section = change["section"]
            lines.append(f"  {section}")
        lines.append(f"    {_change_line(change)}")
        lines += _text_lines(change["before"], change["after"])
    if diff["circuits"]:
        lines.append("  ISA circuits")
        for circuit in diff["circuits"]:
            lines.append(
                f"    {circuit['name']}: {_size(circuit['before'])} → {_size(circuit['after'])}"
            )
    rows = _totals_rows(diff["plan_before"], diff["plan_after"])
    if rows:
        lines.append("  plan")
        lines += [_plan_row(label, before, after) for label, before, after in rows]
    after = diff["plan_after"]
    if after is not None:
        lines += [f"  warning: {warning}" for warning in after["warnings"]]
    lines += [f"  note: {problem}" for problem in diff["plan_problems"]]
    return "\n".join(lines)


def _manifests_markdown(diff: ManifestDiff) -> str:
    lines = [f"### qrun diff: `{diff['before']}` → `{diff['after']}`", ""]
    after = diff["plan_after"]
    if after is not None:
        lines += warning_lines(after["warnings"])
    lines += [f"> {cell(problem)}" for problem in diff["plan_problems"]]
    if lines[-1] != "":
        lines.append("")
    rows = _totals_rows(diff["plan_before"], diff["plan_after"])
    if rows:
        lines += ["| plan | before | after |", "|---|--:|--:|"]
        lines += [f"| {label} | {before} | {after} |" for label, before, after in rows]
        lines.append("")
    if diff["circuits"]:
        lines += ["| ISA circuit | before | after |", "|---|---|---|"]
        lines += [
            f"| {cell(c['name'])} | {_size(c['before'])} | {_size(c['after'])} |"
            for c in diff["circuits"]
        ]
        lines.append("")
    if diff["changes"]:
        lines += ["| changed | before | after |", "|---|---|---|"]
        lines += [
            f"| `{cell(c['where'])}` | {cell(_shown(_durations(c)[0]))} | "
            f"{cell(_shown(_durations(c)[1]))} |"
            for c in diff["changes"]
        ]
    else:
        lines.append("No change in meaning.")
    return "\n".join(lines)


def _pub_line(pub: PubVerdict) -> str:
    label = f"{pub['primitive']}[{pub['pub']}]"
    if pub["verdict"] == "incomparable":
        return f"    {label:<20} incomparable: {pub['note']}"
    detail = f"chi² {_number(pub['statistic'])} (dof {pub['dof']}), p {_number(pub['p_value'])}"
    if pub["total_variation"] is not None:
        detail += f", TVD {pub['total_variation']:.4f}"
    if pub["max_z"] is not None:
        detail += f", max |Δ|/σ {_number(pub['max_z'])} at {tuple(pub['at'] or [])}"
    return f"    {label:<20} {pub['verdict']:<11} {detail}"


def _records_text(diff: RecordDiff) -> str:
    lines = [f"qrun diff: records {diff['before']} → {diff['after']}"]
    lines += [f"  warning: {warning}" for warning in diff["warnings"]]
    if diff["context"]:
        lines.append("  differs in")
        lines += [f"    {_change_line(change)}" for change in diff["context"]]
    lines.append(f"  results (level {diff['level']:g})")
    lines += [_pub_line(pub) for pub in diff["pubs"]]
    lines += [f"  note: {note}" for note in diff["notes"]]
    drifted = [
        f"{p['primitive']}[{p['pub']}]" for p in diff["pubs"] if p["verdict"] != "consistent"
    ]
    if diff["verdict"] == "consistent":
        lines.append(f"verdict: consistent ({len(diff['pubs'])} PUBs)")
    else:
        lines.append(f"verdict: drifted or not comparable: {', '.join(drifted) or 'no PUBs'}")
    return "\n".join(lines)


def _records_markdown(diff: RecordDiff) -> str:
    icon = ":white_check_mark:" if diff["verdict"] == "consistent" else ":x:"
    lines = [
        f"### qrun diff: runs `{diff['before']}` → `{diff['after']}`",
        "",
        f"{icon} **{diff['verdict']}** at level {diff['level']:g}",
        "",
    ]
    lines += warning_lines(diff["warnings"])
    if diff["warnings"]:
        lines.append("")
    lines += [
        "| PUB | verdict | test | statistic (dof) | p | TVD | max \\|Δ\\|/σ |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for pub in diff["pubs"]:
        statistic = "—" if pub["statistic"] is None else f"{pub['statistic']:.4g} ({pub['dof']})"
        tvd = "—" if pub["total_variation"] is None else f"{pub['total_variation']:.4f}"
        test = pub["note"] if pub["verdict"] == "incomparable" else pub["test"]
        lines.append(
            f"| {cell(pub['primitive'])}[{pub['pub']}] | {pub['verdict']} | {cell(test)} | "
            f"{statistic} | {_number(pub['p_value'])} | {tvd} | {_number(pub['max_z'])} |"
        )
    lines += ["", *(f"_{cell(note)}_" for note in diff["notes"])] if diff["notes"] else []
    if diff["context"]:
        lines += ["", "| differs in | before | after |", "|---|---|---|"]
        lines += [
            f"| `{cell(c['where'])}` | {cell(_shown(c['before']))} | {cell(_shown(c['after']))} |"
            for c in diff["context"]
        ]
    return "\n".join(lines)


def render(diff: ManifestDiff | RecordDiff, form: str) -> str:
    """``diff`` as ``text``, ``json`` or ``markdown``."""
    if form == "json":
        return json.dumps(diff, indent=2, default=str)
    if diff["kind"] == "records":
        records: RecordDiff = diff  # type: ignore[assignment]
        return _records_markdown(records) if form == "markdown" else _records_text(records)
    manifests: ManifestDiff = diff  # type: ignore[assignment]
    return _manifests_markdown(manifests) if form == "markdown" else _manifests_text(manifests)
