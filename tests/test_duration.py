"""Durations as manifests and ``Session(max_time=...)`` write them."""

from __future__ import annotations

import pytest

from qrun.manifest.duration import DurationError, format_duration, parse_duration


class TestParseDuration:
    """If a duration is well formed, it is read as seconds; otherwise the error says how to
    write one."""

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("25m", 1500.0),
            ("2h 30m 40s", 9040.0),
            ("2h30m40s", 9040.0),
            ("8h", 28800.0),
            ("1d 2h", 93600.0),
            ("90s", 90.0),
            ("1500", 1500.0),
            (1500, 1500.0),
            (0.5, 0.5),
            (" 3M ", 180.0),
        ],
    )
    def test_reads_seconds_and_unit_strings(self, text: float | str, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize(
        ("value", "hint"),
        [
            ("1.5h", "not a duration"),  # the client would read this as 5h; refuse instead
            ("5x", "not a duration"),
            ("", "not a duration"),
            ("m", "not a duration"),
            ("30m 2h", "in the order d, h, m, s"),
            ("2h 2h", "each unit may appear once"),
            (0, "must be positive"),
            (-30, "must be positive"),
            ("0s", "must be positive"),
            (float("inf"), "must be positive"),
            (True, "expected seconds"),
        ],
    )
    def test_rejects_malformed_or_non_positive(self, value: object, hint: str) -> None:
        with pytest.raises(DurationError, match=hint):
            parse_duration(value)  # type: ignore[arg-type]


class TestFormatDuration:
    """If seconds are formatted, the result parses back to the same value."""

    @pytest.mark.parametrize("seconds", [1, 59, 60, 61, 1500, 9040, 28800, 93600, 100000])
    def test_round_trips(self, seconds: int) -> None:
        assert parse_duration(format_duration(seconds)) == seconds

    def test_shortest_form(self) -> None:
        assert format_duration(9040) == "2h 30m 40s"
        assert format_duration(28800) == "8h"
