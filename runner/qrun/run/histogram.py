"""Histogram images of sampler counts, drawn with Pillow (cheap to import, unlike a
plotting library).

They look like the report's SVG histograms: the same bar colour, round count ticks
(:func:`qrun.report.scale.nice_ticks`), axis labels, and at most :data:`MAX_BARS` outcomes
with the rest summed into one "other" bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.report.raster import font, vertical_text
from qrun.report.scale import MAX_BARS, nice_ticks, tick_label, top_outcomes

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


__all__ = ["MAX_BARS", "write_histogram"]

_PLOT_HEIGHT, _MIN_PLOT_WIDTH, _MIN_PITCH = 260, 420, 22
_LEFT, _RIGHT, _TOP = 72, 24, 56
_BAR_COLOUR, _AXIS_COLOUR, _GRID_COLOUR = (66, 103, 178), (40, 40, 40), (225, 225, 225)


def write_histogram(counts: Mapping[str, int], title: str, file: Path) -> None:
    """Draw ``counts`` as a bar chart (outcomes in bitstring order) into a PNG ``file``."""
    from PIL import Image, ImageDraw

    bars = top_outcomes(counts) or [("", 0)]
    small, large = font(12), font(15)
    label_width = max(int(small.getlength(label)) for label, _ in bars)
    vertical = label_width > _MIN_PITCH * 2  # long bitstrings are written upwards
    pitch = max(_MIN_PITCH, (_MIN_PLOT_WIDTH // len(bars)), 0 if vertical else label_width + 8)
    plot_width = pitch * len(bars)
    label_room = (label_width if vertical else 12) + 44
    width = _LEFT + plot_width + _RIGHT
    height = _TOP + _PLOT_HEIGHT + label_room
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((_LEFT, 16), title, fill="black", font=large)

    total = sum(count for _, count in bars) or 1
    ticks = nice_ticks(0, max(1, *(count for _, count in bars)))
    top = ticks[-1]
    base = _TOP + _PLOT_HEIGHT
    for value in ticks:  # horizontal grid at round count ticks
        y = base - round(_PLOT_HEIGHT * value / top)
        draw.line([(_LEFT, y), (_LEFT + plot_width, y)], fill=_GRID_COLOUR)
        tick = tick_label(value, ticks)
        draw.text((_LEFT - 8 - small.getlength(tick), y - 7), tick, fill="black", font=small)
    draw.line([(_LEFT, _TOP - 8), (_LEFT, base)], fill=_AXIS_COLOUR)
    draw.line([(_LEFT, base), (_LEFT + plot_width, base)], fill=_AXIS_COLOUR)

    bar_width = max(4, round(pitch * 0.7))
    for position, (label, count) in enumerate(bars):
        centre = _LEFT + position * pitch + pitch // 2
        bar_top = base - round(_PLOT_HEIGHT * count / top)
        draw.rectangle(
            [centre - bar_width // 2, bar_top, centre + bar_width // 2, base], fill=_BAR_COLOUR
        )
        if pitch >= 36:  # room to print the share above the bar
            share = f"{100 * count / total:.1f}%"
            draw.text((centre - small.getlength(share) / 2, bar_top - 16), share, "black", small)
        if vertical:
            rotated = vertical_text(label, small, -90)
            image.paste(rotated, (centre - rotated.width // 2, base + 6))
        else:
            draw.text((centre - small.getlength(label) / 2, base + 6), label, "black", small)
    axis = "outcome"
    draw.text((_LEFT + (plot_width - small.getlength(axis)) / 2, height - 20), axis, "black", small)
    counts_label = vertical_text("counts", small)
    image.paste(counts_label, (8, _TOP + _PLOT_HEIGHT // 2 - 20))
    image.save(file)  # PNG by its suffix: only the PNG plugin is loaded
