"""The ``IBM-API-Version`` header: which dated versions of the Runtime API are served.

The client sends ``IBM-API-Version: <date>`` with every request (qiskit-ibm-runtime 0.51
sends ``2026-04-15``). IBM's API is versioned by date: a request names the date of the
behaviour it was written against. This service implements one behaviour and accepts every
dated version from :data:`EARLIEST_API_VERSION` to :data:`LATEST_API_VERSION`; a request
without the header gets the latest. A version that is not a ``YYYY-MM-DD`` date, or a date
outside that range, is refused with 400 ``invalid_api_version``, naming the range.
"""

from __future__ import annotations

from datetime import date

from qrun.serve.errors import ApiError

__all__ = ["EARLIEST_API_VERSION", "LATEST_API_VERSION", "check_api_version"]

#: The oldest dated version accepted.
EARLIEST_API_VERSION = "2024-01-01"
#: The newest dated version accepted: the one the supported client sends.
LATEST_API_VERSION = "2026-04-15"


def check_api_version(header: str | None) -> str:
    """The version a request asks for (the latest if it names none); 400 if not served."""
    if header is None:
        return LATEST_API_VERSION
    value = header.strip()
    try:
        asked = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        asked = None
    if asked is None or not (
        date.fromisoformat(EARLIEST_API_VERSION) <= asked <= date.fromisoformat(LATEST_API_VERSION)
    ):
        raise ApiError(
            400,
            "invalid_api_version",
            f"IBM-API-Version {value[:40]!r} is not supported: use a date from "
            f"{EARLIEST_API_VERSION} to {LATEST_API_VERSION} (YYYY-MM-DD).",
        )
    return value
