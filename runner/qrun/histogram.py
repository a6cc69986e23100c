"""Histogram images of sampler counts, drawn with Pillow (cheap to import, unlike a
plotting library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["MAX_BARS", "write_histogram"]

#: Outcomes drawn at most; the rest are summed into one "other" bar.
MAX_BARS = 32

_BAR, _GAP, _MARGIN, _HEIGHT = 28, 8, 48, 240


def _bars(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = sorted(ranked[:MAX_BARS])
    rest = sum(count for _, count in ranked[MAX_BARS:])
    if rest:
        shown.append(("other", rest))
    return shown


def write_histogram(counts: Mapping[str, int], title: str, file: Path) -> None:
    """Draw ``counts`` as a bar chart (outcomes in bitstring order) into a PNG ``file``."""
    from PIL import Image, ImageDraw, ImageFont

    bars = _bars(counts) or [("", 0)]
    font = ImageFont.load_default()
    label_width = max(int(font.getlength(label)) for label, _ in bars)
    pitch = max(_BAR, label_width + 4) + _GAP
    width = 2 * _MARGIN + pitch * len(bars)
    label_height = label_width if label_width > _BAR else 14
    height = _HEIGHT + 2 * _MARGIN + label_height
    image = Image.new("RGB", (max(width, 320), height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((_MARGIN, 12), title, fill="black", font=font)
    top = max(count for _, count in bars) or 1
    base = _MARGIN + _HEIGHT
    draw.line([(_MARGIN - 4, base), (width - _MARGIN, base)], fill="black")
    for position, (label, count) in enumerate(bars):
        left = _MARGIN + position * pitch
        bar_height = round(_HEIGHT * count / top)
        draw.rectangle([left, base - bar_height, left + _BAR, base], fill=(70, 110, 200))
        draw.text((left, base - bar_height - 14), str(count), fill="black", font=font)
        draw.text((left, base + 6), label, fill="black", font=font)
    image.save(file, format="PNG")
