"""The run record: one folder per run with everything needed to review or redo it.

Layout (documented for users in ``docs/record.md``)::

    runs/<UTC timestamp>-<name>/
      manifest.yaml     the manifest exactly as run (its sha256 is in run.json)
      run.json          backend, mode, versions, session id and details, jobs
      journal.json      job ids, written after each submission and before any wait
      results.json      results in the qrun.results/2 form (see qrun.run.results)
      summary.md        a short human summary
      histograms/*.png  one per sampler PUB and classical register
      plots/*.png       one convergence plot per iterative workload
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from qrun import __version__
from qrun.manifest.duration import format_duration
from qrun.run.histogram import write_histogram
from qrun.run.results import RegisterCounts, ResultsDocument, plain, register_counts, to_document
from qrun.workloads.plot import write_convergence_plot

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.manifest.model import JSON, Manifest
    from qrun.run.execute import RunOutcome
    from qrun.workloads.history import WorkloadResult

__all__ = ["RUN_FORMAT", "default_folder", "package_versions", "write_journal", "write_record"]

RUN_FORMAT = "qrun.run/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def run_name(manifest: Manifest) -> str:
    """The run's name: ``metadata.name``, else the manifest's file name without suffix."""
    return _UNSAFE.sub("-", manifest.metadata.name or manifest.file.stem).strip("-") or "run"


def default_folder(manifest: Manifest, now: float, root: Path | None = None) -> Path:
    """A new folder ``<root>/<UTC timestamp>-<name>``; ``root`` defaults to ``runs/``
    beside the manifest. A suffix keeps two runs in the same second apart."""
    base = (root or manifest.base_dir / "runs") / f"{_timestamp(now)}-{run_name(manifest)}"
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    return folder


def package_versions(*, runtime: bool) -> dict[str, str]:
    """Versions of what produced the results (qiskit-ibm-runtime only when it was used)."""
    names = ["qiskit", "qiskit-aer"] + (["qiskit-ibm-runtime"] if runtime else [])
    versions = {"qrun": __version__, "python": platform.python_version()}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _jobs(outcome: RunOutcome) -> list[JSON]:
    jobs: list[JSON] = []
    for job in outcome.jobs:
        entry = asdict(job)
        entry["tags"] = list(job.tags)
        entry["submitted_at"] = _iso(job.submitted_at)
        entry["finished_at"] = _iso(job.finished_at)
        jobs.append(plain(entry))
    return jobs


def write_journal(outcome: RunOutcome, folder: Path) -> None:
    """Job ids submitted so far, so an interrupted run can be found again."""
    folder.mkdir(parents=True, exist_ok=True)
    journal = {
        "session_id": outcome.session_id,
        "mode": outcome.mode,
        "jobs": _jobs(outcome),
    }
    (folder / "journal.json").write_text(json.dumps(journal, indent=2) + "\n", encoding="utf-8")


def _workload_summary(result: WorkloadResult) -> dict[str, JSON]:
    return {
        "name": result.name,
        "method": result.method,
        "status": result.status,
        "error": result.error,
        "tags": result.tags,
        "jobs": len(result.history),
        "energy": result.energy,
        "reference": result.reference,
        "reference_error": result.reference_error,
        "session_stayed_active": None if result.session is None else result.session.stayed_active,
        "tag_check_ok": None if result.tag_check is None else result.tag_check.ok,
        "plot": result.plot,
    }


def _run_document(outcome: RunOutcome, histograms: list[str]) -> dict[str, object]:
    plan = outcome.plan
    manifest = plan.manifest
    backend = plan.backend
    return {
        "format": RUN_FORMAT,
        "name": run_name(manifest),
        "manifest": {"file": str(manifest.file), "sha256": manifest.sha256},
        "backend": {
            "name": backend.name,
            "kind": backend.kind,
            "provider": backend.provider,
            "chosen_by": backend.chosen_by,
            "num_qubits": backend.num_qubits,
        },
        "execution": {
            "requested_mode": plan.mode,
            "mode": outcome.mode,
            "fallback": outcome.fallback,
            "max_time": plan.max_time,
        },
        "versions": package_versions(runtime=backend.provider == "runtime"),
        "session": {
            "id": outcome.session_id,
            "status_end": outcome.status_end,
            "details_start": plain(outcome.details_start),
            "details_end": plain(outcome.details_end),
        },
        "plan": {
            "jobs": plan.jobs,
            "estimated_qpu_seconds": plan.estimated_seconds,
            "primitives": [
                {
                    "name": primitive.name,
                    "kind": primitive.kind,
                    "pubs": [
                        {
                            "circuit": pub.circuit,
                            "shape": list(pub.shape),
                            "executions": pub.executions,
                        }
                        for pub in primitive.pubs
                    ],
                }
                for primitive in plan.primitives
            ],
            "workloads": [
                {
                    "name": planned.name,
                    "circuit": planned.workload.cost.circuit,
                    "observable": planned.workload.cost.observable,
                    "method": planned.workload.method,
                    "num_parameters": int(planned.x0.size),
                    "parameter_shift_gradient": planned.gradient,
                    "exact_minimum": planned.exact_minimum,
                }
                for planned in plan.workloads
            ],
            "workloads_run": plan.manifest.execution.workloads,
        },
        "jobs": _jobs(outcome),
        "workloads": [_workload_summary(result) for result in outcome.workload_results.values()],
        "interrupted": outcome.interrupted,
        "started_at": _iso(outcome.started_at),
        "finished_at": _iso(outcome.finished_at),
        "results": "results.json",
        "histograms": list(histograms),
    }


def results_document(outcome: RunOutcome) -> ResultsDocument:
    """The ``results.json`` document of ``outcome``."""
    jobs = {job.name: job for job in outcome.jobs}
    rows = []
    for primitive in outcome.plan.primitives:
        job = jobs.get(primitive.name)
        rows.append(
            (
                primitive.name,
                primitive.kind,
                job.job_id if job else None,
                job.status if job else "NOT SUBMITTED",
                [pub.circuit for pub in primitive.pubs],
            )
        )
    return to_document(rows, outcome.results, list(outcome.workload_results.values()))


def _plots(outcome: RunOutcome, folder: Path) -> None:
    """Draw each workload's convergence plot and name it in its result."""
    for name, result in list(outcome.workload_results.items()):
        relative = f"plots/{_UNSAFE.sub('-', name)}.png"
        (folder / "plots").mkdir(exist_ok=True)
        with_plot = result.with_plot(relative)
        write_convergence_plot(with_plot, folder / relative)
        outcome.workload_results[name] = with_plot


def _histograms(document: ResultsDocument, folder: Path) -> list[str]:
    written: list[str] = []
    for found in register_counts(document):
        name = _UNSAFE.sub("-", f"{found.primitive}-{found.pub}-{found.register}")
        relative = f"histograms/{name}.png"
        (folder / "histograms").mkdir(exist_ok=True)
        title = f"{found.primitive} pub {found.pub} ({found.circuit}), register {found.register}"
        write_histogram(found.counts, title, folder / relative)
        written.append(relative)
    return written


def _summary(outcome: RunOutcome, document: ResultsDocument) -> str:
    plan = outcome.plan
    manifest = plan.manifest
    lines = [
        f"# Run {run_name(manifest)}",
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
    if outcome.interrupted:
        lines.append("- **interrupted**: the session was cancelled; finished results are kept")
    if outcome.jobs:
        lines += ["", "| primitive | kind | job | status |", "|---|---|---|---|"]
        lines += [
            f"| {job.name} | {job.kind} | `{job.job_id}` | {job.status} |" for job in outcome.jobs
        ]
    if outcome.workload_results:
        lines += ["", _workload_table(outcome)]
    lines.append("")
    lines.append(render_results(document))
    return "\n".join(lines) + "\n"


def _number(value: float | None, digits: int = 5) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else "yes" if value else "NO"


def _workload_table(outcome: RunOutcome) -> str:
    """One row per workload: status, jobs, final cost against the reference, checks."""
    lines = [
        f"Workloads ({outcome.plan.manifest.execution.workloads}):",
        "",
        "| workload | method | status | jobs | final cost | reference | error "
        "| session stayed active | tags find only its jobs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in outcome.workload_results.values():
        session = _yes_no(None if result.session is None else result.session.stayed_active)
        tags = _yes_no(None if result.tag_check is None else result.tag_check.ok)
        lines.append(
            f"| {result.name} | {result.method} | {result.status} | {len(result.history)} "
            f"| {_number(result.energy)} | {_number(result.reference)} "
            f"| {_number(result.reference_error)} | {session} | {tags} |"
        )
    for result in outcome.workload_results.values():
        if result.error:
            lines.append(f"\n- **{result.name}** failed: {result.error}")
        if result.plot:
            lines.append(f"\n![{result.name} convergence]({result.plot})")
    return "\n".join(lines)


def render_results(document: ResultsDocument, top: int = 8) -> str:
    """Counts (most frequent first), expectation values and workload outcomes, as short
    plain text."""
    lines: list[str] = []
    sampled: dict[tuple[str, int], list[RegisterCounts]] = {}
    for found in register_counts(document):
        sampled.setdefault((found.primitive, found.pub), []).append(found)
    for primitive in document["primitives"]:
        for pub in primitive["pubs"]:
            index = int(str(pub["index"]))
            head = f"{primitive['name']}[{index}] {pub['circuit']}"
            if primitive["kind"] != "sampler":
                lines.append(f"{head} evs: {_short(pub['evs'])} ± {_short(pub['stds'])}")
                continue
            for found in sampled.get((primitive["name"], index), []):
                ranked = sorted(found.counts.items(), key=lambda item: (-item[1], item[0]))
                shown = ", ".join(f"{bits}: {count}" for bits, count in ranked[:top])
                more = f", … ({len(ranked) - top} more)" if len(ranked) > top else ""
                lines.append(f"{head} {found.register}: {{{shown}{more}}}")
        if not primitive["pubs"]:
            lines.append(f"{primitive['name']}: no results ({primitive['status']})")
    for workload in document.get("workloads", []):
        line = (
            f"{workload['name']} ({workload['method']}): {workload['status']}, "
            f"{workload['jobs']} jobs, final cost {_short(workload['energy'])}"
        )
        if workload["reference"] is not None:
            line += (
                f" (reference {_short(workload['reference'])}, "
                f"error {_short(workload['reference_error'])})"
            )
        lines.append(line)
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


def write_record(outcome: RunOutcome, folder: Path) -> ResultsDocument:
    """Write the whole record of ``outcome`` into ``folder``; return the results document."""
    manifest = outcome.plan.manifest
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.yaml").write_text(manifest.text, encoding="utf-8")
    _plots(outcome, folder)
    document = results_document(outcome)
    (folder / "results.json").write_text(json.dumps(document) + "\n", encoding="utf-8")
    histograms = _histograms(document, folder)
    run = _run_document(outcome, histograms)
    (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    write_journal(outcome, folder)
    (folder / "summary.md").write_text(_summary(outcome, document), encoding="utf-8")
    return document
