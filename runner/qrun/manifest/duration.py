"""Durations as manifests and sessions write them: seconds, or strings like "2h 30m 40s".

The accepted string form is the one ``qiskit_ibm_runtime.Session(max_time=...)`` accepts:
one or more ``<whole number><unit>`` tokens, units ``d``, ``h``, ``m``, ``s``, separated by
optional spaces, each unit at most once and in that order.
"""

from __future__ import annotations

import math
import re

__all__ = ["MAX_DURATION", "DurationError", "format_duration", "parse_duration"]

#: Longest duration accepted, in seconds (a year; instances cap sessions at hours).
MAX_DURATION = 365 * 86_400.0

_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_TOKEN = re.compile(r"\s*(\d+)\s*([dhms])", re.IGNORECASE)


class DurationError(ValueError):
    """A duration that is not a positive number of seconds or a well-formed string."""


def parse_duration(value: float | str) -> float:
    """Return ``value`` in seconds.

    >>> parse_duration("2h 30m 40s")
    9040.0
    >>> parse_duration(1500)
    1500.0
    """
    if isinstance(value, bool):
        raise DurationError(f"expected seconds or a duration such as '25m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise DurationError(f"expected seconds or a duration such as '25m', got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise DurationError(f"a duration must be positive, got {value!r}")
    if seconds > MAX_DURATION:
        raise DurationError(
            f"{_shown(value)} is longer than the longest duration qrun accepts, "
            f"{format_duration(MAX_DURATION)} (instances end sessions after hours)"
        )
    return seconds


def _shown(value: float | str) -> str:
    """``value`` as written, cut short when it is long."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _parse_text(text: str) -> float:
    stripped = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
        return float(stripped)
    position, total, seen = 0, 0.0, ""
    for match in _TOKEN.finditer(stripped):
        if match.start() != position:
            break
        unit = match.group(2).lower()
        if unit in seen or (seen and "dhms".index(unit) < "dhms".index(seen[-1])):
            raise DurationError(
                f"{text!r}: each unit may appear once, in the order d, h, m, s (e.g. '2h 30m 40s')"
            )
        seen += unit
        total += float(match.group(1)) * _UNITS[unit]
        position = match.end()
    if not seen or position != len(stripped):
        raise DurationError(
            f"{text!r} is not a duration; write seconds (1500) or units d/h/m/s, e.g. '25m' or "
            "'2h 30m 40s'"
        )
    return total


def format_duration(seconds: float) -> str:
    """The shortest ``d/h/m/s`` string for ``seconds`` (``9040`` → ``'2h 30m 40s'``)."""
    remaining = round(seconds)
    parts = []
    for unit, size in _UNITS.items():
        count, remaining = divmod(remaining, int(size))
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"
