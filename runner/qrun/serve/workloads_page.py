"""The Workloads page of ``qrun serve``: an instance's sessions, batches and jobs in a
browser, with a session timeline, filters, a job's detail, and live updates.

- ``GET /`` is the page itself: a sign-in form and a little inline script, no data. The
  script exchanges an API key for an access token at ``/identity/token`` exactly as the
  client does, lists the instances it reaches, and keeps the token in memory only.
- ``GET /workloads/view`` is what the page shows, as an HTML fragment rendered and escaped
  here, for the instance of the request's bearer token and ``Service-CRN`` (the same
  checks as the Runtime API: an instance sees only its own workloads). The page polls it.
  Query: ``status`` (a session's status string or a job's status), ``backend``, ``tag``,
  ``job`` (the job whose detail is open).

The timeline draws each session as a lane (pending, active, deactivated, draining, closed)
with its jobs, the jobs outside sessions beside them on the same backend, and the max-TTL
and interactive-TTL limits; times are the service clock's. Plain templates (the page and
its script are files beside this module; the charts come from :mod:`qrun.report`): no
JavaScript toolchain. A strict Content-Security-Policy lets only the page's own script run.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from qrun.clock import iso_time
from qrun.errors import QrunError
from qrun.report.page import JOB_STATUS, stylesheet
from qrun.report.timeline import Bar, Lane, Limit, parse_time, session_segments, timeline_svg
from qrun.serve.state import serve_state

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request

    from qrun.serve.state import ServeState
    from qrun.serve.store import JobRecord

__all__ = ["ROUTES"]

#: A job's status as the API and the page word it.
_JOB_WORDS = {
    "QUEUED": "Queued",
    "RUNNING": "Running",
    "DONE": "Completed",
    "ERROR": "Failed",
    "CANCELLED": "Cancelled",
}
#: At most this many sessions (the latest) and jobs outside sessions are drawn, so that one
#: poll's page stays small whatever an instance has run.
MAX_SESSIONS, MAX_STRAY_JOBS = 50, 200
_SESSION_WORDS = {
    "open": "Pending",
    "inactive": "Pending",
    "closed": "Closed",
}


@dataclass
class _Session:
    """A session or batch as the page shows it, live or from before a restart."""

    id: str
    backend: str
    mode: str
    status: str
    state: str
    max_time: float | None
    interactive_ttl: float | None
    usage: float | None
    created: float | None
    started: float | None
    last_completed: float | None
    closing_at: float | None
    transitions: list[tuple[str, float]]
    jobs: list[JobRecord] = field(default_factory=list)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _sessions(state: ServeState, crn: str) -> list[_Session]:
    found: dict[str, _Session] = {}
    for handle in state.engine.sessions(instance=crn):
        found[handle.session_id] = _Session(
            id=handle.session_id,
            backend=handle.backend_name,
            mode="dedicated" if handle.mode == "session" else "batch",
            status=handle.status(),
            state=handle.state,
            max_time=handle.max_ttl,
            interactive_ttl=handle.interactive_ttl,
            usage=handle.usage(),
            created=handle.opened,
            started=handle.started_at,
            last_completed=handle.last_job_completed,
            closing_at=handle.closing_at,
            transitions=list(handle.transitions),
        )
    for archived in state.ledger.archived_sessions.values():
        if archived.instance != crn or archived.id in found:
            continue
        details = archived.details
        stamps = details.get("timestamps")
        transitions = [
            (str(item.get("status")), when)
            for item in (stamps if isinstance(stamps, list) else [])
            if isinstance(item, dict) and (when := parse_time(item.get("timestamp"))) is not None
        ]
        session_state = str(details.get("state"))
        found[archived.id] = _Session(
            id=archived.id,
            backend=str(details.get("backend_name")),
            mode=str(details.get("mode")),
            status=_SESSION_WORDS.get(session_state, "Closed"),
            state=session_state,
            max_time=_number(details.get("max_time")),
            interactive_ttl=_number(details.get("interactive_timeout")),
            usage=_number(details.get("usage_time")),
            created=transitions[0][1] if transitions else None,
            started=parse_time(details.get("started_at")),
            last_completed=parse_time(details.get("last_job_completed")),
            closing_at=None,
            transitions=transitions,
        )
    return sorted(found.values(), key=lambda s: s.created or 0.0)


@dataclass(frozen=True)
class _Filters:
    status: str
    backend: str
    tag: str

    def job(self, job: JobRecord) -> bool:
        return (
            (not self.backend or job.backend == self.backend)
            and (not self.tag or self.tag in job.tags)
            and (self.status not in _JOB_WORDS.values() or _JOB_WORDS[job.status] == self.status)
        )

    def session(self, session: _Session) -> bool:
        if self.backend and session.backend != self.backend:
            return False
        if self.status and self.status not in _JOB_WORDS.values() and session.status != self.status:
            return False
        needs_job = self.tag or self.status in _JOB_WORDS.values()
        return not needs_job or any(self.job(job) for job in session.jobs)


def _time(value: float | None) -> str:
    return "—" if value is None else escape(iso_time(value) or "")


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g} s"


def _job_rows(jobs: Sequence[JobRecord], selected: str | None) -> str:
    if not jobs:
        return '<p class="muted">No jobs.</p>'
    rows = []
    for job in jobs:
        word = _JOB_WORDS[job.status]
        mark = ' aria-selected="true"' if job.id == selected else ""
        rows.append(
            f'<tr data-job="{escape(job.id)}"{mark}><td class="mono">{escape(job.id)}</td>'
            f"<td>{escape(job.program)}</td><td>{escape(job.backend)}</td>"
            f'<td class="job-status status-{escape(JOB_STATUS[job.status])}">{word}</td>'
            f'<td class="tags">{escape(", ".join(job.tags))}</td>'
            f"<td>{_time(job.created)}</td><td>{_time(job.started)}</td>"
            f"<td>{_time(job.finished)}</td></tr>"
        )
    head = "".join(
        f"<th>{name}</th>"
        for name in ("job", "program", "backend", "status", "tags", "created", "started", "ended")
    )
    return (
        f'<table class="jobs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _session_block(session: _Session, jobs: Sequence[JobRecord], selected: str | None) -> str:
    facts = [
        ("mode", session.mode),
        ("backend", session.backend),
        ("status", session.status),
        ("max_time", _seconds(session.max_time)),
        (
            "interactive TTL",
            _seconds(session.interactive_ttl) if session.mode == "dedicated" else "—",
        ),
        ("usage", _seconds(session.usage)),
        ("jobs", str(len(session.jobs))),
        ("started", iso_time(session.started) or "—"),
    ]
    cells = "".join(f"<th>{name}</th><td>{escape(value)}</td>" for name, value in facts)
    return (
        f'<section class="session" data-session="{escape(session.id)}">'
        f"<h3>{'Session' if session.mode == 'dedicated' else 'Batch'} "
        f'<span class="mono">{escape(session.id)}</span></h3>'
        f'<table class="facts"><tr>{cells}</tr></table>{_job_rows(jobs, selected)}</section>'
    )


def _bar(job: JobRecord) -> Bar:
    return Bar(
        f"{job.id} ({job.program})",
        job.created,
        job.started,
        job.finished,
        JOB_STATUS[job.status],
        css_id=job.id,
    )


def _lane(session: _Session, now: float) -> Lane:
    closed = session.state == "closed"
    segments = session_segments(session.transitions, now, session.closing_at)
    if closed and session.closing_at is not None:
        segments = [s for s in segments if s.end > s.start or s.state != "draining"]
    lane = Lane(
        f"{session.mode} {session.id}",
        segments,
        [_bar(job) for job in session.jobs],
        css_class=f"lane session-lane lane-{session.id}",
    )
    if session.started is not None and session.max_time is not None:
        lane.limits.append(
            Limit(
                session.started + session.max_time, "max-ttl", f"max TTL ({session.max_time:g} s)"
            )
        )
    ttl = session.interactive_ttl
    if session.mode == "dedicated" and ttl is not None:
        lane.limits.extend(
            Limit(when, "interactive-ttl", f"deactivated after the interactive TTL ({ttl:g} s)")
            for state, when in session.transitions
            if state == "inactive"
        )
        idle = all(job.final for job in session.jobs)
        if session.state == "active" and idle and session.last_completed is not None:
            lane.limits.append(
                Limit(
                    session.last_completed + ttl,
                    "interactive-ttl",
                    f"interactive TTL ends ({ttl:g} s idle)",
                )
            )
    return lane


def _timelines(sessions: Sequence[_Session], stray: Sequence[JobRecord], now: float) -> str:
    backends = sorted({s.backend for s in sessions} | {job.backend for job in stray})
    blocks = []
    for backend in backends:
        lanes = [_lane(s, now) for s in sessions if s.backend == backend]
        outside = [_bar(job) for job in stray if job.backend == backend]
        if outside:
            lanes.append(Lane("jobs outside sessions", bars=outside, css_class="lane stray-lane"))
        svg = timeline_svg(lanes, title=f"{backend}: sessions and jobs over time", now=now)
        blocks.append(f'<div class="lane-box" data-backend="{escape(backend)}">{svg}</div>')
    if not blocks:
        return ""
    return '<h2>Timeline</h2><div id="timelines">' + "".join(blocks) + "</div>"


def _pubs(state: ServeState, job_id: str) -> list[str]:
    handle, _record = state.ledger.job(job_id)
    if handle is None:
        return []
    lines = []
    for index, pub in enumerate(handle.work.pubs):
        shape = getattr(pub, "shape", None)
        shots = getattr(pub, "shots", None)
        precision = getattr(pub, "precision", None)
        circuit = getattr(pub, "circuit", None)
        qubits = getattr(circuit, "num_qubits", None)
        parts = [f"pub {index}: shape {tuple(shape) if shape is not None else '—'}"]
        if qubits is not None:
            parts.append(f"{qubits} qubits")
        if shots is not None:
            parts.append(f"{shots} shots")
        if precision is not None:
            parts.append(f"precision {precision}")
        lines.append(", ".join(parts))
    return lines


def _result_summary(state: ServeState, job: JobRecord) -> str:
    handle, _record = state.ledger.job(job.id)
    if job.status != "DONE" or handle is None or job.program == "executor":
        return ""
    try:
        result = handle.result(timeout=0)
    except QrunError:
        return ""
    lines = []
    for index, pub in enumerate(result):
        data = getattr(pub, "data", None)
        evs = getattr(data, "evs", None)
        if evs is not None:
            lines.append(f"pub {index}: expectation values {evs!s:.200}")
            continue
        for name in getattr(data, "keys", list)():
            counts = getattr(data, name).get_counts()
            top = sorted(counts.items(), key=lambda item: -item[1])[:4]
            text = ", ".join(f"{key}: {value}" for key, value in top)
            lines.append(
                f"pub {index}, register {name}: {text}" + (" …" if len(counts) > 4 else "")
            )
    return "".join(f"<li>{escape(line)}</li>" for line in lines)


def _detail(state: ServeState, crn: str, job_id: str) -> str:
    _handle, job = state.ledger.job(job_id)
    if job is None or job.instance != crn:
        return '<div class="detail" id="job-detail"><p>No such job.</p></div>'
    params = state.ledger.params(job.id)
    options = params.get("options") if isinstance(params, dict) else None
    pubs = "".join(f"<li>{escape(line)}</li>" for line in _pubs(state, job.id))
    results = _result_summary(state, job)
    facts = [
        ("job", job.id),
        ("program", job.program),
        ("backend", job.backend),
        ("session", job.session_id or "none"),
        ("status", _JOB_WORDS[job.status]),
        ("tags", ", ".join(job.tags) or "none"),
        ("created", iso_time(job.created) or "—"),
        ("started", iso_time(job.started) or "—"),
        ("ended", iso_time(job.finished) or "—"),
        ("estimated seconds", f"{job.estimated_seconds:.6g}" if job.estimated_seconds else "—"),
    ]
    if job.reason:
        facts.append(
            (
                "reason for failure",
                job.reason + (f" (code {job.reason_code})" if job.reason_code else ""),
            )
        )
    rows = "".join(f"<tr><th>{name}</th><td>{escape(value)}</td></tr>" for name, value in facts)
    return (
        '<div class="detail" id="job-detail"><h3>Job <span class="mono">'
        f'{escape(job.id)}</span> <button type="button" data-close-detail>close</button></h3>'
        f'<table class="facts">{rows}</table>'
        f"<h4>PUBs</h4><ul>{pubs or '<li>not kept after a restart</li>'}</ul>"
        f"<h4>Options</h4><pre>{escape(json.dumps(options, indent=1, default=str))}</pre>"
        + (f"<h4>Result</h4><ul>{results}</ul>" if results else "")
        + "</div>"
    )


def render_view(state: ServeState, crn: str, filters: _Filters, selected: str | None) -> str:
    """The page's content for instance ``crn``."""
    now = state.engine.clock.now()
    instance = state.config.instance(crn)
    sessions = _sessions(state, crn)
    by_session = {s.id: s for s in sessions}
    stray: list[JobRecord] = []
    for job in state.ledger.jobs(crn):
        owner = by_session.get(job.session_id or "")
        if owner is not None:
            owner.jobs.append(job)
        else:
            stray.append(job)
    matching = [s for s in sessions if filters.session(s)]
    shown = matching[-MAX_SESSIONS:]  # the most recent
    stray_matching = [job for job in stray if filters.job(job)]
    stray_shown = stray_matching[-MAX_STRAY_JOBS:]
    clock = "virtual clock" if state.engine.clock.modelled else "system clock"
    header = (
        f"<p>Instance <strong>{escape(instance.name if instance else crn)}</strong> · "
        f'service time <strong id="service-time">{_time(now)}</strong> ({clock}) · '
        f"{len(matching)} of {len(sessions)} sessions and batches, "
        f"{len(stray_matching)} of {len(stray)} jobs outside sessions"
        + (
            f" (the latest {len(shown)} and {len(stray_shown)} shown)"
            if len(shown) < len(matching) or len(stray_shown) < len(stray_matching)
            else ""
        )
        + "</p>"
    )
    blocks = [
        _session_block(s, [job for job in s.jobs if filters.job(job)], selected) for s in shown
    ]
    return "".join(
        [
            header,
            _detail(state, crn, selected) if selected else "",
            _timelines(shown, stray_shown, now),
            "<h2>Sessions and batches</h2>",
            "".join(blocks) or '<p class="muted">None.</p>',
            '<h2>Jobs outside sessions</h2><section id="stray">',
            _job_rows(stray_shown, selected),
            "</section>",
        ]
    )


@cache
def _shipped(name: str) -> str:
    return resources.files("qrun.serve").joinpath(name).read_text(encoding="utf-8")


def _policy(nonce: str) -> str:
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


async def _page(_request: Request) -> Response:
    nonce = secrets.token_urlsafe(16)
    page = Template(_shipped("workloads.html")).substitute(
        style=stylesheet(), script=_shipped("workloads.js"), nonce=nonce
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": _policy(nonce),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


async def _view(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    query = request.query_params
    filters = _Filters(
        query.get("status", "").strip(), query.get("backend", "").strip(), query.get("tag", "")
    )
    html = render_view(state, instance.crn, filters, query.get("job") or None)
    return HTMLResponse(
        html, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    )


ROUTES = [
    Route("/", _page, methods=["GET"]),
    Route("/workloads/view", _view, methods=["GET"]),
]
