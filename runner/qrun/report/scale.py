"""Axes that read well: round tick values, and many outcomes shown as the top k plus
"other" (as Qiskit's ``plot_histogram`` does with ``number_to_keep``).

Shared by the record's PNG plots and the report's SVG charts, so both look alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MAX_BARS", "OTHER", "nice_ticks", "tick_label", "top_outcomes"]

#: Outcomes drawn at most; the rest are summed into one "other" bar.
MAX_BARS = 32
#: The label of the bar that sums the outcomes not drawn on their own.
OTHER = "other"


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop ends at 10


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten apart) from a
    multiple at or below ``low`` to one at or above ``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.5 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = round((last - first) / step)
    return [round(first + i * step, 12) for i in range(steps + 1)]


def tick_label(value: float, ticks: list[float] | None = None) -> str:
    """``value`` written with as many decimals as the ticks' step needs (no 0.30000000004):
    none for a step of 1 or 500, one for 0.2 or 2.5, two for 0.25."""
    step = round(abs(ticks[1] - ticks[0]), 12) if ticks and len(ticks) > 1 else 0.0
    decimals = next((d for d in range(13) if abs(round(step, d) - step) < 1e-12), 12)
    text = f"{value:.{decimals}f}"
    return text.removeprefix("-") if text.strip("-0.") == "" else text


def top_outcomes(counts: Mapping[str, int], keep: int = MAX_BARS) -> list[tuple[str, int]]:
    """The ``keep`` most frequent outcomes in bitstring order, then ``other`` with the sum of
    the rest (only when there is a rest)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = sorted(ranked[:keep])
    rest = sum(count for _, count in ranked[keep:])
    if rest:
        shown.append((OTHER, rest))
    return shown
