"""What a person reads of a run: the terminal text (:func:`render_results`) and the
record's ``summary.md`` (:func:`summary_markdown`).

Both are pure functions of the run's typed values (the outcome and its
:class:`~qrun.run.results.RunResults`); neither reads a document back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.manifest.duration import format_duration
from qrun.run.results import EstimatorPubRecord

if TYPE_CHECKING:
    from qrun.manifest.model import JSON
    from qrun.run.execute import RunOutcome
    from qrun.run.results import RunResults

__all__ = ["render_results", "summary_markdown"]


def render_results(results: RunResults, top: int = 8) -> str:
    """Counts (most frequent first), expectation values and workload outcomes, as short
    plain text."""
    lines: list[str] = []
    for primitive in results.primitives:
        for pub in primitive.pubs:
            head = f"{primitive.name}[{pub.position}] {pub.circuit}"
            if isinstance(pub, EstimatorPubRecord):
                lines.append(f"{head} evs: {_short(pub.evs)} ± {_short(pub.stds)}")
                continue
            for register in pub.registers:
                ranked = sorted(register.counts.items(), key=lambda item: (-item[1], item[0]))
                shown = ", ".join(f"{bits}: {count}" for bits, count in ranked[:top])
                more = f", … ({len(ranked) - top} more)" if len(ranked) > top else ""
                lines.append(f"{head} {register.name}: {{{shown}{more}}}")
        if not primitive.pubs:
            lines.append(f"{primitive.name}: no results ({primitive.status})")
    for workload in results.workloads:
        line = (
            f"{workload.name} ({workload.method}): {workload.status}, "
            f"{len(workload.history)} jobs, final cost {_short(workload.energy)}"
        )
        if workload.reference is not None:
            line += (
                f" (reference {_short(workload.reference)}, "
                f"error {_short(workload.reference_error)})"
            )
        lines.append(line)
    return "\n".join(lines)


def summary_markdown(outcome: RunOutcome, results: RunResults, name: str) -> str:
    """``summary.md``: backend, mode, session, jobs, then the results and workloads."""
    plan = outcome.plan
    manifest = plan.manifest
    lines = [
        f"# Run {name}",
        "",
        f"- manifest: `{manifest.file.name}` (sha256 `{manifest.sha256[:16]}…`)",
        f"- backend: {plan.backend.name} ({plan.backend.kind}"
        + (", chosen by least_busy" if plan.backend.chosen_by else "")
        + ")",
        f"- mode: {outcome.mode}" + (" (fallback from session)" if outcome.fallback else ""),
        f"- session: {outcome.session_id or '—'}, status at the end: {outcome.status_end or '—'}",
    ]
    if outcome.finished_at is not None:
        lines.append(f"- wall time: {outcome.finished_at - outcome.started_at:.2f} s")
    if plan.max_time is not None:
        lines.append(f"- max_time: {format_duration(plan.max_time)}")
    if plan.simulation:
        lines.append(f"- local simulation: {plan.simulation}")
    lines += [f"- warning: {warning}" for warning in outcome.warnings]
    if outcome.interrupted:
        lines.append("- **interrupted**: the session was cancelled; finished results are kept")
    if plan.not_applied:
        lines += ["", "Not applied by this local run (IBM Quantum applies them):", ""]
        lines += [
            f"- `{use.owner}` {use.note.option} (line {use.line}): {use.note.note}"
            for use in plan.not_applied
        ]
    if outcome.jobs:
        lines += ["", "| primitive | kind | job | status |", "|---|---|---|---|"]
        lines += [
            f"| {job.name} | {job.kind} | `{job.job_id}` | {job.status} |" for job in outcome.jobs
        ]
    if results.workloads:
        lines += ["", _workload_table(results, manifest.execution.workloads)]
    lines.append("")
    lines.append(render_results(results))
    return "\n".join(lines) + "\n"


def _number(value: float | None, digits: int = 5) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else "yes" if value else "NO"


def _workload_table(results: RunResults, how: str) -> str:
    """One row per workload: status, jobs, final cost against the reference, checks."""
    lines = [
        f"Workloads ({how}):",
        "",
        "| workload | method | status | jobs | final cost | reference | error "
        "| session stayed active | tags find only its jobs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results.workloads:
        session = _yes_no(None if result.session is None else result.session.stayed_active)
        tags = _yes_no(None if result.tag_check is None else result.tag_check.ok)
        lines.append(
            f"| {result.name} | {result.method} | {result.status} | {len(result.history)} "
            f"| {_number(result.energy)} | {_number(result.reference)} "
            f"| {_number(result.reference_error)} | {session} | {tags} |"
        )
    for result in results.workloads:
        if result.error:
            lines.append(f"\n- **{result.name}** failed: {result.error}")
        if result.plot:
            lines.append(f"\n![{result.name} convergence]({result.plot})")
    return "\n".join(lines)


def _short(values: JSON, limit: int = 8) -> str:
    if isinstance(values, (list, tuple)):
        flat: list[JSON] = []
        stack = list(values)
        while stack:
            item = stack.pop(0)
            if isinstance(item, (list, tuple)):
                stack[:0] = list(item)
            else:
                flat.append(item)
        shown = ", ".join(_short(value) for value in flat[:limit])
        more = ", …" if len(flat) > limit else ""
        return f"[{shown}{more}]"
    if isinstance(values, float):
        return f"{values:.4g}"
    return str(values)
