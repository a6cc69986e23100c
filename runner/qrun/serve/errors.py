"""HTTP errors in the body shape IBM's services use.

Every refusal is raised as :class:`ApiError` inside a handler and rendered once, as::

    {"errors": [{"code": "...", "message": "...", "more_info": "..."}],
     "trace": "<request id>", "status_code": 409}

The client never chooses an exception from the body (only from the status code), but it
appends the body text to its messages, so the message is what the user reads.
"""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse

__all__ = ["ApiError", "error_body", "error_response"]

_MORE_INFO = "https://docs.quantum.ibm.com/api/runtime"


class ApiError(Exception):
    """A request the service refuses, with the HTTP status and an IBM-style code."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(status: int, code: str, message: str) -> dict[str, object]:
    """The IBM-style error document."""
    return {
        "errors": [{"code": code, "message": message, "more_info": _MORE_INFO}],
        "trace": uuid.uuid4().hex,
        "status_code": status,
    }


def error_response(error: ApiError) -> JSONResponse:
    """Render an :class:`ApiError`."""
    return JSONResponse(
        error_body(error.status, error.code, error.message), error.status, headers=error.headers
    )
