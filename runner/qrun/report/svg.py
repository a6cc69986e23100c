"""Charts as inline SVG text: bars of counts, a line with an error band, values with error
bars. Every piece of text is escaped, so a label holding markup is drawn as text.

Colours, ticks and top-k grouping are those of the record's PNG plots (:mod:`.scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from qrun.report.scale import nice_ticks, tick_label

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["BAND", "BAR", "LINE", "REFERENCE", "Axes", "bar_chart", "error_bars", "line_chart"]

BAR, LINE, BAND, REFERENCE = "#4267b2", "#285ac8", "#c8d7f0", "#c83c3c"
_GRID, _AXIS, _FONT = "#e1e1e1", "#282828", "font-family:sans-serif;font-size:11px"


def text(x: float, y: float, content: str, *, anchor: str = "start", extra: str = "") -> str:
    """One escaped ``<text>`` element."""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(content)}</text>'


@dataclass
class Axes:
    """A plot area in pixels and the data ranges it shows; draws frame, grid and ticks."""

    left: float
    top: float
    width: float
    height: float
    x_ticks: list[float]
    y_ticks: list[float]

    def x(self, value: float) -> float:
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - low) / ((high - low) or 1.0) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return self.top + self.height - (value - low) / ((high - low) or 1.0) * self.height

    def frame(self, x_label: str, y_label: str, *, x_tick_labels: bool = True) -> list[str]:
        """Grid lines at the y ticks, tick labels, axis lines and axis labels."""
        parts = []
        bottom = self.top + self.height
        for value in self.y_ticks:
            y = self.y(value)
            parts.append(
                f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.left + self.width:.1f}" '
                f'y2="{y:.1f}" stroke="{_GRID}"/>'
            )
            parts.append(text(self.left - 6, y + 4, tick_label(value, self.y_ticks), anchor="end"))
        if x_tick_labels:
            for value in self.x_ticks:
                x = self.x(value)
                parts.append(
                    f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" '
                    f'stroke="{_AXIS}"/>'
                )
                parts.append(text(x, bottom + 16, tick_label(value, self.x_ticks), anchor="middle"))
        parts.append(
            f'<path d="M{self.left:.1f},{self.top:.1f} V{bottom:.1f} H{self.left + self.width:.1f}"'
            f' fill="none" stroke="{_AXIS}"/>'
        )
        parts.append(text(self.left + self.width / 2, bottom + 34, x_label, anchor="middle"))
        middle = self.top + self.height / 2
        parts.append(
            text(
                14,
                middle,
                y_label,
                anchor="middle",
                extra=f'transform="rotate(-90 14 {middle:.1f})"',
            )
        )
        return parts


def _svg(width: float, height: float, title: str, parts: Sequence[str], css_class: str) -> str:
    body = "\n".join(parts)
    heading = text(width / 2, 16, title, anchor="middle", extra='font-weight="bold"')
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'style="{_FONT}"><title>{escape(title)}</title>\n'
        f"{heading}\n"
        f"{body}\n</svg>"
    )


def bar_chart(bars: Sequence[tuple[str, int]], title: str, *, x_label: str = "outcome") -> str:
    """Counts as bars (give them top-k grouped, see :func:`.scale.top_outcomes`), with the
    share of each printed above it when there is room."""
    bars = list(bars) or [("", 0)]
    longest = max(len(label) for label, _ in bars)
    vertical = longest * 7 > 40
    pitch = max(22.0, 420.0 / len(bars), 0.0 if vertical else longest * 7 + 8.0)
    label_room = (longest * 7 if vertical else 14) + 40
    axes = Axes(64, 40, pitch * len(bars), 240, [0, len(bars)], [])
    top = max(count for _, count in bars)
    axes.y_ticks = nice_ticks(0, max(top, 1))
    parts = axes.frame(x_label, "counts", x_tick_labels=False)
    total = sum(count for _, count in bars) or 1
    bottom = axes.top + axes.height
    for position, (label, count) in enumerate(bars):
        centre = axes.left + (position + 0.5) * pitch
        y = axes.y(count)
        width = max(4.0, pitch * 0.7)
        share = f"{100 * count / total:.1f}%"
        parts.append(
            f'<rect class="bar" x="{centre - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{bottom - y:.1f}" fill="{BAR}"><title>{escape(label)}: {count} '
            f"({share})</title></rect>"
        )
        if pitch >= 36:
            parts.append(text(centre, y - 4, share, anchor="middle"))
        if vertical:
            parts.append(
                text(
                    centre + 4,
                    bottom + 8,
                    label,
                    extra=f'transform="rotate(90 {centre + 4:.1f} {bottom + 8:.1f})"',
                )
            )
        else:
            parts.append(text(centre, bottom + 16, label, anchor="middle"))
    axes_height = bottom + label_room
    return _svg(axes.left + axes.width + 24, axes_height, title, parts, "chart histogram")


def line_chart(
    points: Sequence[tuple[float, float, float]],
    title: str,
    *,
    reference: float | None = None,
    x_label: str = "evaluation",
    y_label: str = "cost",
) -> str:
    """``(x, value, std)`` points as a line with a ± std band; a dashed reference line."""
    if not points:
        return _svg(640, 80, title, [text(64, 50, "no cost evaluations")], "chart convergence")
    lows = [value - std for _, value, std in points]
    highs = [value + std for _, value, std in points]
    if reference is not None:
        lows.append(reference)
        highs.append(reference)
    pad = (max(highs) - min(lows)) * 0.03  # keep the line and reference off the frame
    lows.append(min(lows) - pad)
    highs.append(max(highs) + pad)
    axes = Axes(
        72,
        36,
        540,
        240,
        nice_ticks(points[0][0], max(points[-1][0], points[0][0] + 1)),
        nice_ticks(min(lows), max(highs)),
    )
    parts = axes.frame(x_label, y_label)
    if len(points) > 1:
        outline = [(axes.x(x), axes.y(v + s)) for x, v, s in points]
        outline += [(axes.x(x), axes.y(v - s)) for x, v, s in reversed(points)]
        parts.append(
            '<polygon class="band" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in outline)
            + f'" fill="{BAND}"/>'
        )
    if reference is not None:
        y = axes.y(reference)
        parts.append(
            f'<line class="reference" x1="{axes.left:.1f}" y1="{y:.1f}" '
            f'x2="{axes.left + axes.width:.1f}" y2="{y:.1f}" stroke="{REFERENCE}" '
            f'stroke-dasharray="6 6"><title>reference {reference:.6g}</title></line>'
        )
    line = " ".join(f"{axes.x(x):.1f},{axes.y(v):.1f}" for x, v, _ in points)
    parts.append(
        f'<polyline class="line" points="{line}" fill="none" stroke="{LINE}" stroke-width="2"/>'
    )
    for x, value, std in points:
        parts.append(
            f'<circle cx="{axes.x(x):.1f}" cy="{axes.y(value):.1f}" r="2.5" fill="{LINE}">'
            f"<title>{x:g}: {value:.6g} ± {std:.2g}</title></circle>"
        )
    return _svg(640, 320, title, parts, "chart convergence")


def error_bars(values: Sequence[tuple[str, float, float]], title: str) -> str:
    """Expectation values ``(label, value, std)`` as points with ± std error bars."""
    values = [item for item in values if math.isfinite(item[1])] or [("", 0.0, 0.0)]
    lows = [value - std for _, value, std in values]
    highs = [value + std for _, value, std in values]
    pitch = max(28.0, 420.0 / len(values))
    axes = Axes(
        72,
        36,
        pitch * len(values),
        220,
        [0, len(values)],
        nice_ticks(min(*lows, 0.0), max(*highs, 0.0)),
    )
    parts = axes.frame("parameter set / observable", "expectation value", x_tick_labels=False)
    zero = axes.y(0.0)
    parts.append(
        f'<line x1="{axes.left:.1f}" y1="{zero:.1f}" x2="{axes.left + axes.width:.1f}" '
        f'y2="{zero:.1f}" stroke="{_AXIS}" stroke-dasharray="2 3"/>'
    )
    bottom = axes.top + axes.height
    for position, (label, value, std) in enumerate(values):
        x = axes.left + (position + 0.5) * pitch
        high, low = axes.y(value + std), axes.y(value - std)
        parts.append(
            f'<g class="ev"><title>{escape(label)}: {value:.6g} ± {std:.2g}</title>'
            f'<line x1="{x:.1f}" y1="{high:.1f}" x2="{x:.1f}" y2="{low:.1f}" stroke="{_AXIS}"/>'
            f'<line x1="{x - 4:.1f}" y1="{high:.1f}" x2="{x + 4:.1f}" y2="{high:.1f}" '
            f'stroke="{_AXIS}"/><line x1="{x - 4:.1f}" y1="{low:.1f}" x2="{x + 4:.1f}" '
            f'y2="{low:.1f}" stroke="{_AXIS}"/><circle cx="{x:.1f}" cy="{axes.y(value):.1f}" '
            f'r="3.5" fill="{BAR}"/></g>'
        )
        if pitch >= 40 or len(values) <= 16:
            parts.append(text(x, bottom + 16, label, anchor="middle"))
    return _svg(axes.left + axes.width + 24, bottom + 44, title, parts, "chart evs")
