"""Convergence plots: a workload's cost per evaluation, drawn with Pillow.

The line is the cost of each evaluation in order, the shaded band ± its standard error,
and a dashed line marks the reference minimum when there is one. Axes carry round tick
values and labels, as the report's SVG plot of the same history does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.report.scale import nice_ticks, tick_label

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import ImageDraw

    from qrun.workloads.history import WorkloadResult

__all__ = ["write_convergence_plot"]

_WIDTH, _HEIGHT, _LEFT, _RIGHT, _TOP, _BOTTOM = 640, 380, 84, 24, 40, 56
_LINE, _BAND, _REFERENCE, _AXIS = (40, 90, 200), (200, 215, 240), (200, 60, 60), (0, 0, 0)
_GRID = (225, 225, 225)


def _scale(low: float, high: float, start: float, end: float) -> tuple[float, float]:
    """(factor, offset) mapping ``[low, high]`` onto pixels ``[start, end]``."""
    span = high - low or 1.0
    factor = (end - start) / span
    return factor, start - low * factor


def _ticks(
    draw: ImageDraw.ImageDraw,
    x_ticks: list[float],
    y_ticks: list[float],
    scale: tuple[float, float, float, float],
) -> None:
    """Grid lines and labels at the y ticks, tick marks and labels at the x ticks."""
    from qrun.report.raster import font

    small = font(12)
    fx, ox, fy, oy = scale
    left, right, bottom = _LEFT, _WIDTH - _RIGHT, _HEIGHT - _BOTTOM
    for value in y_ticks:
        y = fy * value + oy
        draw.line([(left, y), (right, y)], fill=_GRID)
        label = tick_label(value, y_ticks)
        draw.text((left - 6 - small.getlength(label), y - 7), label, fill=_AXIS, font=small)
    for value in x_ticks:
        x = fx * value + ox
        draw.line([(x, bottom), (x, bottom + 4)], fill=_AXIS)
        label = tick_label(value, x_ticks)
        draw.text((x - small.getlength(label) / 2, bottom + 6), label, fill=_AXIS, font=small)


def write_convergence_plot(result: WorkloadResult, file: Path) -> None:
    """Draw ``result``'s cost history into a PNG ``file``."""
    from PIL import Image, ImageDraw

    from qrun.report.raster import font, vertical_text

    costs = [
        (position, item.value, item.std or 0.0)
        for position, item in enumerate(result.costs, start=1)
        if item.value is not None
    ]
    image = Image.new("RGB", (_WIDTH, _HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, large = font(12), font(14)
    title = f"{result.name} ({result.method}): {result.status}"
    if result.energy is not None:
        title += f", final {result.energy:.5f}"
    if result.reference is not None:
        title += f", reference {result.reference:.5f}"
    draw.text((_LEFT, 12), title, fill=_AXIS, font=large)
    left, right = _LEFT, _WIDTH - _RIGHT
    top, bottom = _TOP, _HEIGHT - _BOTTOM
    if costs:
        low = min(v - s for _, v, s in costs)
        high = max(v + s for _, v, s in costs)
        if result.reference is not None:
            low, high = min(low, result.reference), max(high, result.reference)
        y_ticks = nice_ticks(float(low), float(high))
        x_ticks = nice_ticks(1, max(len(costs), 2))
        fx, ox = _scale(x_ticks[0], x_ticks[-1], left, right)
        fy, oy = _scale(y_ticks[0], y_ticks[-1], bottom, top)
        _ticks(draw, x_ticks, y_ticks, (fx, ox, fy, oy))
        upper = [(fx * n + ox, fy * (v + s) + oy) for n, v, s in costs]
        lower = [(fx * n + ox, fy * (v - s) + oy) for n, v, s in reversed(costs)]
        if len(costs) > 1:
            draw.polygon(upper + lower, fill=_BAND)
        if result.reference is not None:
            level = fy * result.reference + oy
            for dash in range(left, right, 12):
                draw.line([(dash, level), (min(dash + 6, right), level)], fill=_REFERENCE)
        points = [(fx * n + ox, fy * v + oy) for n, v, _ in costs]
        if len(points) > 1:
            draw.line(points, fill=_LINE, width=2)
        else:
            x, y = points[0]
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=_LINE)
    else:
        draw.text((left + 8, top + 8), "no cost evaluations", fill=_AXIS, font=small)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=_AXIS)
    axis = "evaluation"
    draw.text((left + (right - left - small.getlength(axis)) / 2, _HEIGHT - 22), axis, _AXIS, small)
    cost = vertical_text("cost", small)
    image.paste(cost, (8, (top + bottom) // 2 - cost.height // 2))
    image.save(file)  # PNG by its suffix: only the PNG plugin is loaded
