"""A session timeline: each session or batch as a lane over time, its states as a strip
(pending, active, deactivated, draining, closed), its jobs as bars (queued, then running
and how they ended), and the max-TTL and interactive-TTL limits as vertical marks.

:func:`session_segments` turns ``details()["timestamps"]`` into the strip;
:func:`timeline_svg` draws lanes as inline SVG. Times are seconds since the epoch; the axis
counts seconds from the earliest time shown, with round ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING

from qrun.report.scale import nice_ticks, tick_label
from qrun.report.svg import Axes, text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "JOB_COLOURS",
    "STATE_COLOURS",
    "Bar",
    "Lane",
    "Limit",
    "Segment",
    "parse_time",
    "session_segments",
    "timeline_svg",
]

STATE_COLOURS = {
    "pending": "#f0c419",
    "active": "#2e9b4f",
    "deactivated": "#9aa5b1",
    "draining": "#e07b39",
    "closed": "#444444",
}
JOB_COLOURS = {
    "queued": "#d0d7e2",
    "running": "#4267b2",
    "done": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#8d6e63",
}
_ENGINE_STATES = {"open": "pending", "active": "active", "inactive": "deactivated"}
_ROW, _STRIP, _GAP, _LEFT, _WIDTH = 14, 12, 10, 150, 640


def parse_time(value: object) -> float | None:
    """Seconds since the epoch of an ISO-8601 time (naive means UTC); None if not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@dataclass(frozen=True)
class Segment:
    """A stretch of time a session spent in one state."""

    start: float
    end: float
    state: str


@dataclass(frozen=True)
class Bar:
    """A job: queued from ``created`` until ``started``, then running until ``finished``."""

    label: str
    created: float
    started: float | None
    finished: float | None
    status: str  # queued, running, done, failed or cancelled
    css_id: str = ""


@dataclass(frozen=True)
class Limit:
    """A time limit drawn across a lane: ``kind`` is ``max-ttl`` or ``interactive-ttl``."""

    at: float
    kind: str
    label: str


@dataclass
class Lane:
    """One row group of the timeline: a title, a state strip (may be empty), job bars."""

    title: str
    segments: list[Segment] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    limits: list[Limit] = field(default_factory=list)
    css_class: str = "lane"


def session_segments(
    transitions: Iterable[tuple[str, float]], end: float, closing_at: float | None = None
) -> list[Segment]:
    """The strip of a session from its ``(engine state, time)`` transitions, up to ``end``.
    Time after ``closing_at`` (jobs no longer accepted) while still active is draining."""
    ordered = sorted(transitions, key=lambda item: item[1])
    segments: list[Segment] = []
    for (state, start), following in zip(ordered, [*ordered[1:], None], strict=True):
        stop = end if following is None else following[1]
        if state == "closed":
            segments.append(Segment(start, max(stop, start), "closed"))
            continue
        name = _ENGINE_STATES.get(state, state)
        if name == "active" and closing_at is not None and closing_at <= stop:
            if closing_at > start:
                segments.append(Segment(start, closing_at, "active"))
            segments.append(Segment(max(start, closing_at), stop, "draining"))
        else:
            segments.append(Segment(start, stop, name))
    return segments


def _rows(bars: Sequence[Bar], end: float) -> list[int]:
    """A row for each bar so that bars in one row do not overlap."""
    ends: list[float] = []
    rows = []
    for bar in bars:
        stop = bar.finished if bar.finished is not None else end
        for row, last in enumerate(ends):
            if last <= bar.created:
                ends[row] = stop
                rows.append(row)
                break
        else:
            ends.append(stop)
            rows.append(len(ends) - 1)
    return rows


def _rect(x1: float, x2: float, y: float, *, height: float, colour: str, extra: str = "") -> str:
    width = max(x2 - x1, 1.5)
    return (
        f'<rect x="{x1:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height}" '
        f'fill="{colour}" {extra}>'
    )


@dataclass
class _View:
    """Where the timeline starts, where running things are cut off, and its axes."""

    start: float
    end: float
    axes: Axes

    def x(self, when: float) -> float:
        return self.axes.x(when - self.start)

    def shows(self, when: float) -> bool:
        return self.start <= when <= self.start + self.axes.x_ticks[-1]


def _view(lanes: Sequence[Lane], now: float | None, plot_height: float) -> _View:
    times = [
        t
        for lane in lanes
        for t in (
            *(s.start for s in lane.segments),
            *(s.end for s in lane.segments),
            *(b.created for b in lane.bars),
            *(b.finished for b in lane.bars if b.finished is not None),
        )
    ]
    if now is not None:
        times.append(now)
    start = min(times, default=0.0)
    stop = max(times, default=start + 1.0)
    view_end = stop + (stop - start) * 0.15 + 1e-9  # room for limits just beyond the end
    axes = Axes(_LEFT, 30, _WIDTH, plot_height, nice_ticks(0, view_end - start), [0, 1])
    return _View(start, now if now is not None else stop, axes)


def _time_axis(view: _View, plot_height: float, origin_label: str) -> list[str]:
    parts = []
    bottom = 30 + plot_height
    for value in view.axes.x_ticks:
        x = view.axes.x(value)
        parts.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{bottom}" stroke="#eeeeee"/>')
        parts.append(text(x, bottom + 14, tick_label(value, view.axes.x_ticks), anchor="middle"))
    label = f"seconds since {origin_label}" if origin_label else "seconds"
    parts.append(text(_LEFT + _WIDTH / 2, bottom + 30, label, anchor="middle"))
    return parts


def _job(view: _View, bar: Bar, top: float) -> list[str]:
    finished = bar.finished if bar.finished is not None else view.end
    running_from = bar.started if bar.started is not None else finished
    ident = f' data-job="{escape(bar.css_id)}"' if bar.css_id else ""
    parts = [
        f'<g class="job job-{escape(bar.status)}"{ident}>'
        f"<title>{escape(f'{bar.label}: {bar.status}')}</title>",
        _rect(
            view.x(bar.created),
            view.x(running_from),
            top,
            height=_ROW - 3,
            colour=JOB_COLOURS["queued"],
        )
        + "</rect>",
    ]
    if bar.started is not None:
        colour = JOB_COLOURS.get(bar.status, JOB_COLOURS["running"])
        parts.append(
            _rect(view.x(bar.started), view.x(finished), top, height=_ROW - 3, colour=colour)
            + "</rect>"
        )
    parts.append("</g>")
    return parts


def _lane(view: _View, lane: Lane, rows: list[int], y: float, height: float) -> list[str]:
    short = lane.title if len(lane.title) <= 24 else lane.title[:23] + "…"
    parts = [
        f'<g class="{escape(lane.css_class)}">',
        text(_LEFT - 8, y + 10, short, anchor="end", extra='class="lane-title"'),
    ]
    for segment in lane.segments:
        parts.append(
            _rect(
                view.x(segment.start),
                view.x(segment.end),
                y,
                height=_STRIP,
                colour=STATE_COLOURS.get(segment.state, "#bbbbbb"),
                extra=f'class="state state-{escape(segment.state)}"',
            )
            + f"<title>{escape(segment.state)}: {segment.start - view.start:.3g}–"
            f"{segment.end - view.start:.3g} s</title></rect>"
        )
    for bar, row in zip(lane.bars, rows, strict=True):
        parts.extend(_job(view, bar, y + _STRIP + 4 + row * _ROW))
    for limit in lane.limits:
        if not view.shows(limit.at):
            continue
        x = view.x(limit.at)
        dash = "6 3" if limit.kind == "max-ttl" else "2 3"
        parts.append(
            f'<line class="limit {escape(limit.kind)}" x1="{x:.1f}" y1="{y - 2:.1f}" '
            f'x2="{x:.1f}" y2="{y + height - _GAP + 2:.1f}" stroke="#c83c3c" '
            f'stroke-width="2" stroke-dasharray="{dash}"><title>{escape(limit.label)}'
            "</title></line>"
        )
    parts.append("</g>")
    return parts


def _legend(top: float, hidden: Sequence[str]) -> tuple[list[str], float]:
    """The colour key and the limits beyond the view; the legend's bottom."""
    parts = []
    x, y = 10.0, top
    entries = [*STATE_COLOURS.items(), *((f"job {k}", v) for k, v in JOB_COLOURS.items())]
    for name, colour in entries:
        parts.append(f'<rect x="{x:.0f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(text(x + 13, y, name))
        x += 13 + len(name) * 6.2 + 10
        if x > _LEFT + _WIDTH - 60:
            x, y = 10.0, y + 16
    parts.append(text(10, y + 18, "red dashes: max TTL; red dots: interactive TTL"))
    for line, note in enumerate(hidden[:6]):
        parts.append(text(10, y + 34 + 14 * line, f"beyond the view: {note}"))
    return parts, y + 30 + 14 * min(len(hidden), 6)


def timeline_svg(lanes: Sequence[Lane], *, title: str, now: float | None = None) -> str:
    """The lanes over one time axis (seconds since the earliest time), as inline SVG."""
    provisional = _view(lanes, now, 1.0)
    layouts = [_rows(lane.bars, provisional.end) for lane in lanes]
    heights = [_STRIP + 4 + max(max(rows, default=0) + 1, 1) * _ROW + _GAP for rows in layouts]
    plot_height = sum(heights) or _ROW
    view = _view(lanes, now, plot_height)
    origin = datetime.fromtimestamp(view.start, timezone.utc).isoformat(timespec="seconds")
    parts = _time_axis(view, plot_height, origin.replace("+00:00", "Z"))
    y = 30.0
    hidden: list[str] = []
    for lane, rows, height in zip(lanes, layouts, heights, strict=True):
        parts.extend(_lane(view, lane, rows, y, height))
        hidden.extend(
            f"{lane.title}: {limit.label} at +{limit.at - view.start:.0f} s"
            for limit in lane.limits
            if not view.shows(limit.at)
        )
        y += height
    if now is not None:
        x = view.x(now)
        parts.append(
            f'<line class="now" x1="{x:.1f}" y1="24" x2="{x:.1f}" '
            f'y2="{30 + plot_height}" stroke="#000" stroke-width="1"/>'
        )
        parts.append(text(x, 24, "now", anchor="middle"))
    legend, total_height = _legend(30 + plot_height + 50, hidden)
    width = _LEFT + _WIDTH + 30
    heading = text(width / 2, 14, title, anchor="middle", extra='font-weight="bold"')
    body = "\n".join(parts + legend)
    return (
        f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{total_height:.0f}" viewBox="0 0 {width} {total_height:.0f}" role="img" '
        'style="font-family:sans-serif;font-size:11px">'
        f"<title>{escape(title)}</title>{heading}\n{body}\n</svg>"
    )
