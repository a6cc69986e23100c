"""A plan as a Markdown comment a CI job can post on a pull request.

A heading naming the manifest, the backend and mode, a table of the jobs (kind, PUBs,
circuit executions, estimated QPU time), a table of the ISA circuits, the total, and
every warning of the plan as a quoted line, so a reviewer sees the cost of a change
before approving it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.manifest.duration import format_duration

if TYPE_CHECKING:
    from collections.abc import Iterable

    from qrun.run.review import PlanView

__all__ = ["cell", "qpu_time", "render_plan_markdown", "warning_lines"]


def cell(value: object) -> str:
    """``value`` safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def qpu_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.3f} s" if seconds < 60 else format_duration(seconds)


def warning_lines(warnings: Iterable[str]) -> list[str]:
    return [f"> :warning: **Warning:** {cell(warning)}" for warning in warnings]


def render_plan_markdown(view: PlanView) -> str:
    """The plan as a pull-request comment."""
    max_time = format_duration(view["max_time"]) if view["max_time"] else "the instance's"
    chosen = f", chosen by {view['chosen_by']}" if view["chosen_by"] else ""
    lines = [
        f"### qrun plan: `{view['manifest']}`",
        "",
        f"Backend **{cell(view['backend'])}** ({view['backend_kind']} via "
        f"{view['provider']}{chosen}), mode **{view['mode']}**, max_time **{max_time}**.",
        "",
    ]
    lines += warning_lines(view["warnings"])
    notices = view.get("notices")
    if isinstance(notices, list):
        lines += [f"> :information_source: {cell(notice)}" for notice in notices]
    if view["warnings"] or (isinstance(notices, list) and notices):
        lines.append("")
    lines += [
        "| job | kind | PUBs | circuit executions | est. QPU time |",
        "|---|---|--:|--:|--:|",
    ]
    for primitive in view["primitives"]:
        executions = sum(pub["executions"] for pub in primitive["pubs"])
        lines.append(
            f"| {cell(primitive['name'])} | {primitive['kind']} | {len(primitive['pubs'])} | "
            f"{executions:,} | {qpu_time(primitive['estimated_qpu_seconds'])} |"
        )
    for workload in view["workloads"]:
        lines.append(f"| {cell(workload)} | workload | — | one job per evaluation | — |")
    total = sum(pub["executions"] for primitive in view["primitives"] for pub in primitive["pubs"])
    lines.append(
        f"| **total** | | | **{total:,}** | **{qpu_time(view['estimated_qpu_seconds'])}** |"
    )
    if view["circuits"]:
        lines += [
            "",
            "| ISA circuit | qubits | depth | size | 2q gates | measurements |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for name, size in view["circuits"].items():
            lines.append(
                f"| {cell(name)} | {size['qubits']} | {size['depth']} | {size['size']} | "
                f"{size['two_qubit_gates']} | {size['measurements']} |"
            )
    if view["estimated_qpu_seconds"] is None:
        lines += ["", "_No QPU time estimate: the backend is an ideal simulator._"]
    return "\n".join(lines)
