"""The run report as one HTML page, from a record's ``run.json`` and ``results.json``.

Sections: summary, warnings (options a local run does not apply, a fallback to batch, an
interruption, failed jobs), the plan beside what ran, the session timeline, histograms,
estimator values with error bars and the convergence of each workload. The page is
:class:`string.Template` text shipped beside this module (``report.html``, ``style.css``)
filled with escaped values and inline SVG; it needs nothing but a browser, offline.
"""

from __future__ import annotations

import json
import math
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from qrun.report.scale import top_outcomes
from qrun.report.svg import bar_chart, error_bars, line_chart
from qrun.report.timeline import Bar, Lane, Limit, parse_time, session_segments, timeline_svg

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["JOB_STATUS", "render_report", "stylesheet"]

#: The engine's and the record's job statuses as the timeline names them.
JOB_STATUS = {
    "QUEUED": "queued",
    "RUNNING": "running",
    "DONE": "done",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
}


@cache
def _shipped(name: str) -> str:
    return resources.files("qrun.report").joinpath(name).read_text(encoding="utf-8")


def stylesheet() -> str:
    """The CSS every qrun page inlines."""
    return _shipped("style.css")


def _map(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _cell(value: object) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, float):
        return escape(f"{value:.6g}")
    return escape(str(value))


def _table(rows: Sequence[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{escape(key)}</th><td>{_cell(value)}</td></tr>" for key, value in rows)
    return f'<table class="facts">{body}</table>'


def _grid(head: Sequence[str], rows: Sequence[Sequence[object]], css: str = "") -> str:
    header = "".join(f"<th>{escape(name)}</th>" for name in head)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _summary(run: Mapping[str, object]) -> str:
    backend = _map(run.get("backend"))
    execution = _map(run.get("execution"))
    session = _map(run.get("session"))
    versions = _map(run.get("versions"))
    started, finished = parse_time(run.get("started_at")), parse_time(run.get("finished_at"))
    took = None if started is None or finished is None else round(finished - started, 3)
    mode = str(execution.get("mode"))
    if execution.get("requested_mode") != execution.get("mode"):
        mode += f" (asked for {execution.get('requested_mode')})"
    rows: list[tuple[str, object]] = [
        ("backend", f"{backend.get('name')} ({backend.get('kind')}, {backend.get('provider')})"),
        ("chosen by", backend.get("chosen_by")),
        ("qubits", backend.get("num_qubits")),
        ("mode", mode),
        ("max_time (s)", execution.get("max_time")),
        ("session", session.get("id")),
        ("session status at the end", session.get("status_end")),
        ("started", run.get("started_at")),
        ("finished", run.get("finished_at")),
        ("wall time (s)", took),
        ("manifest sha256", _map(run.get("manifest")).get("sha256")),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
    ]
    return "<h2>Summary</h2>" + _table(rows)


def _warnings(run: Mapping[str, object]) -> str:
    items: list[str] = []
    execution = _map(run.get("execution"))
    if execution.get("fallback"):
        items.append(
            f"The service refused a session; the work ran as a {execution.get('mode')} "
            "(execution.fallback)."
        )
    if run.get("interrupted"):
        items.append("The run was interrupted: the session was cancelled; results are partial.")
    for option in _list(run.get("options")):
        entry = _map(option)
        if entry.get("applied") is False:
            value = json.dumps(entry.get("value"))
            items.append(
                f"{entry.get('owner')}: option {entry.get('option')} = {value} "
                f"(line {entry.get('line')}) was not applied: {entry.get('note')}"
            )
    for job in _list(run.get("jobs")):
        entry = _map(job)
        if entry.get("error"):
            items.append(
                f"job {entry.get('name')} ended {entry.get('status')}: {entry.get('error')}"
            )
    for workload in _list(run.get("workloads")):
        entry = _map(workload)
        if entry.get("error"):
            items.append(f"workload {entry.get('name')}: {entry.get('error')}")
    simulation = run.get("simulation")
    note = (
        f'<p class="muted">How it was simulated: {escape(str(simulation))}</p>'
        if simulation
        else ""
    )
    if not items:
        return f'<h2>Warnings</h2><p class="ok">None.</p>{note}'
    listed = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f'<h2>Warnings</h2><div class="warn"><ul class="warnings">{listed}</ul></div>{note}'


def _plan(run: Mapping[str, object]) -> str:
    plan = _map(run.get("plan"))
    jobs = {str(_map(job).get("name")): _map(job) for job in _list(run.get("jobs"))}
    details = _map(_map(run.get("session")).get("details_end"))
    workloads = _list(run.get("workloads"))
    workload_jobs = sum(int(_number(_map(w).get("jobs")) or 0) for w in workloads)
    used = _number(details.get("usage_time"))
    rows: list[tuple[str, object]] = [
        ("jobs planned (primitives)", plan.get("jobs")),
        ("jobs run (primitives)", len(jobs)),
        ("jobs run by workloads", workload_jobs),
        ("QPU seconds estimated", plan.get("estimated_qpu_seconds")),
        ("session usage seconds (details)", used),
    ]
    primitive_rows = []
    for primitive in _list(plan.get("primitives")):
        entry = _map(primitive)
        job = jobs.get(str(entry.get("name")), {})
        pubs = _list(entry.get("pubs"))
        shapes = ", ".join(str(_map(pub).get("shape")) for pub in pubs)
        executions = sum(int(_number(_map(pub).get("executions")) or 0) for pub in pubs)
        primitive_rows.append(
            (
                entry.get("name"),
                entry.get("kind"),
                len(pubs),
                shapes,
                executions,
                job.get("job_id"),
                job.get("status", "NOT SUBMITTED"),
            )
        )
    head = ("primitive", "kind", "PUBs", "shapes", "circuit executions", "job", "status")
    return "<h2>Plan and what ran</h2>" + _table(rows) + _grid(head, primitive_rows, "primitives")


def _job_bar(label: str, status: object, start: float | None, end: float | None) -> Bar | None:
    if start is None:
        return None
    name = JOB_STATUS.get(str(status), "done")
    return Bar(label, start, start, end, name)


def _history_bars(workload: Mapping[str, object], origin: float) -> Iterator[Bar]:
    for item in _list(workload.get("history")):
        entry = _map(item)
        submitted, wall = _number(entry.get("submitted")), _number(entry.get("wall_time"))
        if submitted is None:
            continue
        start = origin + submitted
        end = None if wall is None else start + wall
        yield Bar(
            f"{workload.get('name')} #{entry.get('index')} {entry.get('kind')}",
            start,
            start,
            end,
            "done" if end is not None else "failed",
        )


def run_lanes(run: Mapping[str, object], results: Mapping[str, object]) -> list[Lane]:
    """The run's timeline: its session's states and limits, its jobs, each workload's jobs."""
    session = _map(run.get("session"))
    details = _map(session.get("details_end")) or _map(session.get("details_start"))
    finished = parse_time(run.get("finished_at"))
    origin = parse_time(run.get("started_at")) or 0.0
    lanes = []
    if details:
        transitions = [
            (str(_map(t).get("status")), parse_time(_map(t).get("timestamp")))
            for t in _list(details.get("timestamps"))
        ]
        known = [(state, when) for state, when in transitions if when is not None]
        end = finished if finished is not None else max((w for _, w in known), default=origin)
        lane = Lane(f"{details.get('mode')} {session.get('id')}", session_segments(known, end))
        started, max_time = parse_time(details.get("started_at")), _number(details.get("max_time"))
        if started is not None and max_time is not None:
            lane.limits.append(Limit(started + max_time, "max-ttl", f"max TTL ({max_time:g} s)"))
        ttl = _number(details.get("interactive_timeout"))
        if details.get("mode") == "dedicated" and ttl is not None:
            lane.limits.extend(
                Limit(when, "interactive-ttl", f"deactivated: interactive TTL ({ttl:g} s)")
                for state, when in known
                if state == "inactive"
            )
        lanes.append(lane)
    jobs = [
        bar
        for job in _list(run.get("jobs"))
        if (
            bar := _job_bar(
                f"{_map(job).get('name')} {_map(job).get('job_id')}",
                _map(job).get("status"),
                parse_time(_map(job).get("submitted_at")),
                parse_time(_map(job).get("finished_at")),
            )
        )
        is not None
    ]
    if jobs:
        lanes.append(Lane("primitive jobs", bars=jobs, css_class="lane jobs"))
    for workload in _list(results.get("workloads")):
        bars = list(_history_bars(_map(workload), origin))
        if bars:
            lanes.append(
                Lane(f"workload {_map(workload).get('name')}", bars=bars, css_class="lane jobs")
            )
    return lanes


def _timeline(run: Mapping[str, object], results: Mapping[str, object]) -> str:
    lanes = run_lanes(run, results)
    if not lanes:
        return '<h2>Timeline</h2><p class="muted">No session or job times were recorded.</p>'
    svg = timeline_svg(lanes, title="session and jobs over time")
    return (
        '<h2>Timeline</h2><p class="muted">Jobs are drawn from submission to result.</p>'
        f'<div class="timeline-box" id="timeline">{svg}</div>'
    )


def _counts(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in _map(value).items() if _number(v) is not None}  # type: ignore[call-overload]


def _flatten(value: object) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flatten(item)]
    number = _number(value)
    return [number] if number is not None else [math.nan]


def _results(results: Mapping[str, object]) -> str:
    histograms: list[str] = []
    estimates: list[str] = []
    for primitive in _list(results.get("primitives")):
        entry = _map(primitive)
        name = entry.get("name")
        for pub in _list(entry.get("pubs")):
            found = _map(pub)
            for register, data in _map(found.get("registers")).items():
                title = (
                    f"{name} pub {found.get('index')} ({found.get('circuit')}), register {register}"
                )
                histograms.append(bar_chart(top_outcomes(_counts(_map(data).get("counts"))), title))
            if "evs" in found:
                evs, stds = _flatten(found.get("evs")), _flatten(found.get("stds"))
                stds += [0.0] * (len(evs) - len(stds))
                title = f"{name} pub {found.get('index')} ({found.get('circuit')})"
                labels = [str(i) for i in range(len(evs))]
                values = list(zip(labels, evs, stds[: len(evs)], strict=True))
                estimates.append(error_bars(values, title))
    parts = []
    if histograms:
        parts.append(
            '<h2>Histograms</h2><div class="charts" id="histograms">'
            + "".join(histograms)
            + "</div>"
        )
    if estimates:
        parts.append(
            '<h2>Expectation values</h2><p class="muted">± one standard error.</p>'
            '<div class="charts" id="estimates">' + "".join(estimates) + "</div>"
        )
    return "".join(parts)


def convergence_points(workload: Mapping[str, object]) -> list[tuple[float, float, float]]:
    """``(evaluation, cost, std)`` of a recorded workload's cost evaluations, in order."""
    points: list[tuple[float, float, float]] = []
    for item in _list(workload.get("history")):
        entry = _map(item)
        value = _number(entry.get("value"))
        if entry.get("kind", "cost") != "cost" or value is None:
            continue
        points.append((float(len(points) + 1), value, _number(entry.get("std")) or 0.0))
    return points


def _workloads(results: Mapping[str, object]) -> str:
    charts, rows = [], []
    for workload in _list(results.get("workloads")):
        entry = _map(workload)
        reference = _number(entry.get("reference"))
        title = f"{entry.get('name')} ({entry.get('method')})"
        charts.append(line_chart(convergence_points(entry), title, reference=reference))
        rows.append(
            (
                entry.get("name"),
                entry.get("method"),
                entry.get("status"),
                _number(entry.get("energy")),
                reference,
                _number(entry.get("reference_error")),
                len(_list(entry.get("history"))),
            )
        )
    if not charts:
        return ""
    head = ("workload", "method", "status", "energy", "reference", "error", "jobs")
    return (
        "<h2>Workloads</h2>"
        + _grid(head, rows, "workloads")
        + '<div class="charts" id="convergence">'
        + "".join(charts)
        + "</div>"
    )


def render_report(run: Mapping[str, object], results: Mapping[str, object]) -> str:
    """The report page of a record whose ``run.json`` is ``run`` and ``results.json`` is
    ``results`` (either may be empty: the page says what it lacks)."""
    from qrun import __version__

    name = str(run.get("name") or "run")
    content = "".join(
        [
            f"<h1>qrun report: {escape(name)}</h1>",
            f'<p class="muted">Record format {escape(str(run.get("format")))}; '
            "re-render with <code>qrun report RUN_DIR</code>.</p>",
            _summary(run),
            _warnings(run),
            _plan(run),
            _timeline(run, results),
            _results(results),
            _workloads(results),
        ]
    )
    return Template(_shipped("report.html")).substitute(
        version=escape(__version__),
        title=escape(f"qrun report: {name}"),
        style=stylesheet(),
        content=content,
    )
