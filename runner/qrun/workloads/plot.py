"""Convergence plots: a workload's cost per evaluation, drawn with Pillow.

The line is the cost of each evaluation in order, the shaded band ± its standard error,
and a dashed line marks the reference minimum when there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from qrun.workloads.history import WorkloadResult

__all__ = ["write_convergence_plot"]

_WIDTH, _HEIGHT, _LEFT, _RIGHT, _TOP, _BOTTOM = 640, 360, 72, 24, 40, 40
_LINE, _BAND, _REFERENCE, _AXIS = (40, 90, 200), (200, 215, 240), (200, 60, 60), (0, 0, 0)


def _scale(low: float, high: float, start: float, end: float) -> tuple[float, float]:
    """(factor, offset) mapping ``[low, high]`` onto pixels ``[start, end]``."""
    span = high - low or 1.0
    factor = (end - start) / span
    return factor, start - low * factor


def write_convergence_plot(result: WorkloadResult, file: Path) -> None:
    """Draw ``result``'s cost history into a PNG ``file``."""
    from PIL import Image, ImageDraw, ImageFont

    costs = [
        (position, item.value, item.std or 0.0)
        for position, item in enumerate(result.costs, start=1)
        if item.value is not None
    ]
    image = Image.new("RGB", (_WIDTH, _HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    title = f"{result.name} ({result.method}): {result.status}"
    if result.energy is not None:
        title += f", final {result.energy:.5f}"
    if result.reference is not None:
        title += f", reference {result.reference:.5f}"
    draw.text((_LEFT, 12), title, fill=_AXIS, font=font)
    left, right = _LEFT, _WIDTH - _RIGHT
    top, bottom = _TOP, _HEIGHT - _BOTTOM
    draw.rectangle([left, top, right, bottom], outline=_AXIS)
    if costs:
        values = [v for _, v, _ in costs]
        low = min(v - s for _, v, s in costs)
        high = max(v + s for _, v, s in costs)
        if result.reference is not None:
            low, high = min(low, result.reference), max(high, result.reference)
        pad = (high - low) * 0.05 or 0.5
        low, high = float(low) - pad, float(high) + pad
        fx, ox = _scale(1, max(len(costs), 2), left + 4, right - 4)
        fy, oy = _scale(low, high, bottom - 2, top + 2)
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
        draw.text((4, top), f"{high:.4f}", fill=_AXIS, font=font)
        draw.text((4, bottom - 12), f"{low:.4f}", fill=_AXIS, font=font)
        draw.text((left, bottom + 6), "1", fill=_AXIS, font=font)
        last = f"{len(costs)} evaluations (min {min(values):.5f})"
        draw.text((right - int(font.getlength(last)), bottom + 6), last, fill=_AXIS, font=font)
    else:
        draw.text((left + 8, top + 8), "no cost evaluations", fill=_AXIS, font=font)
    image.save(file)  # PNG by its suffix: only the PNG plugin is loaded
