"""Text on Pillow images, shared by the record's PNG plots: the default font at a size,
and a label turned on its side (for a y-axis label or long bitstrings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageFont

__all__ = ["font", "vertical_text"]


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font at ``size`` (its bitmap font where FreeType is missing)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, AttributeError):  # Pillow without FreeType: bitmap font
        return ImageFont.load_default()


def vertical_text(
    label: str, typeface: ImageFont.FreeTypeFont | ImageFont.ImageFont, angle: int = 90
) -> Image.Image:
    """``label`` drawn on its own small image, turned by ``angle`` degrees."""
    from PIL import Image, ImageDraw

    text = Image.new("RGB", (int(typeface.getlength(label)) + 2, 16), "white")
    ImageDraw.Draw(text).text((0, 0), label, fill="black", font=typeface)
    return text.rotate(angle, expand=True)
