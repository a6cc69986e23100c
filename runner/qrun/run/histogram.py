"""Histogram images of sampler counts, drawn with Pillow (cheap to import, unlike a
plotting library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from PIL import ImageFont

__all__ = ["MAX_BARS", "write_histogram"]

#: Outcomes drawn at most; the rest are summed into one "other" bar.
MAX_BARS = 32

_PLOT_HEIGHT, _MIN_PLOT_WIDTH, _MIN_PITCH = 260, 420, 22
_LEFT, _RIGHT, _TOP = 64, 24, 56
_BAR_COLOUR, _AXIS_COLOUR, _GRID_COLOUR = (66, 103, 178), (40, 40, 40), (225, 225, 225)


def _bars(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = sorted(ranked[:MAX_BARS])
    rest = sum(count for _, count in ranked[MAX_BARS:])
    if rest:
        shown.append(("other", rest))
    return shown


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, AttributeError):  # Pillow without FreeType: bitmap font
        return ImageFont.load_default()


def write_histogram(counts: Mapping[str, int], title: str, file: Path) -> None:
    """Draw ``counts`` as a bar chart (outcomes in bitstring order) into a PNG ``file``."""
    from PIL import Image, ImageDraw

    bars = _bars(counts) or [("", 0)]
    small, large = _font(12), _font(15)
    label_width = max(int(small.getlength(label)) for label, _ in bars)
    vertical = label_width > _MIN_PITCH * 2  # long bitstrings are written upwards
    pitch = max(_MIN_PITCH, (_MIN_PLOT_WIDTH // len(bars)), 0 if vertical else label_width + 8)
    plot_width = pitch * len(bars)
    label_room = (label_width if vertical else 12) + 28
    width = _LEFT + plot_width + _RIGHT
    height = _TOP + _PLOT_HEIGHT + label_room
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((_LEFT, 16), title, fill="black", font=large)

    total = sum(count for _, count in bars) or 1
    top = max(count for _, count in bars) or 1
    base = _TOP + _PLOT_HEIGHT
    for fraction in (0.25, 0.5, 0.75, 1.0):  # horizontal grid with count ticks
        y = base - round(_PLOT_HEIGHT * fraction)
        draw.line([(_LEFT, y), (_LEFT + plot_width, y)], fill=_GRID_COLOUR)
        tick = str(round(top * fraction))
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
            text = Image.new("RGB", (int(small.getlength(label)) + 2, 14), "white")
            ImageDraw.Draw(text).text((0, 0), label, fill="black", font=small)
            rotated = text.rotate(90, expand=True)
            image.paste(rotated, (centre - rotated.width // 2, base + 6))
        else:
            draw.text((centre - small.getlength(label) / 2, base + 6), label, "black", small)
    draw.text((8, _TOP - 24), "counts", fill="black", font=small)
    image.save(file)  # PNG by its suffix: only the PNG plugin is loaded
