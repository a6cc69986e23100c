"""The admin API of a ``qrun serve`` process whose clock can be moved by hand.

Under a virtual clock nothing moves until told: a job that started runs for its modelled
QPU time, and TTLs expire, only when an administrator advances the clock. These endpoints
do that, so a test or a conformance suite drives real lifecycle timing over HTTP without
waiting. They exist only when the engine's clock offers a
:class:`~qrun.clock.TimeControl` — when the service runs with ``--virtual-clock`` (or
``create_app(..., clock=VirtualClock())``); on the system clock every admin path answers
404 ``admin_disabled``.

Authentication: ``Authorization: Bearer <admin key>`` — the key itself, not an IAM token.
The key is ``admin_key`` from the configuration file, or else one drawn when the service
starts (``qrun serve`` prints it; in process it is ``app.state.serve.admin_key``). A
missing or wrong key gets 401. Admin requests are not scoped to an instance.

Contract (bodies are JSON objects; times are ISO-8601 UTC with ``Z``):

- ``GET /admin/v1/clock`` → 200 ``{"now": iso}``.
- ``POST /admin/v1/clock/advance`` ``{"seconds": N}`` (N ≥ 0) → moves the clock forward by
  N seconds, firing every timer that falls due on the way at its own time (jobs finish,
  TTLs expire, the next jobs start); answers when all of that has happened with 200
  ``{"now": iso}``.
- ``POST /admin/v1/jobs/{id}/duration`` ``{"seconds": N}`` (N ≥ 0) → the job, which must
  still be queued, will run for N modelled seconds once it starts; 200
  ``{"id": id, "seconds": N}``. 404 for an unknown job, 409 if it has already started.
- ``POST /admin/v1/durations`` ``{"default_seconds": N}`` → every job submitted from now
  on runs for N modelled seconds (``null``: back to the estimate from the backend's
  timing); 200 ``{"default_seconds": N}``.

Faults (:mod:`.fault_routes`): ``GET``/``POST``/``DELETE /admin/v1/faults``.

Malformed bodies (not JSON, not an object, a negative number, or more than
:data:`MAX_SECONDS` — ten years) get 400.
"""

from __future__ import annotations

import hmac
import math
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

from qrun.clock import iso_time
from qrun.errors import QrunError
from qrun.serve.errors import ApiError
from qrun.serve.state import serve_state

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from qrun.clock import TimeControl
    from qrun.serve.state import ServeState

__all__ = ["ADMIN_PREFIX", "MAX_SECONDS", "ROUTES", "authorised"]

ADMIN_PREFIX = "/admin/v1"
#: The longest step or duration the admin API accepts (ten years), so time stays printable.
MAX_SECONDS = 10 * 365 * 86400


def authorised(request: Request) -> tuple[ServeState, TimeControl]:
    """The state of an admin request and its clock control; 404/401 when it may not."""
    state = serve_state(request)
    control = state.time_control
    if control is None or state.admin_key is None:
        raise ApiError(
            404,
            "admin_disabled",
            "The admin API is off: the service runs on the system clock "
            "(start it with --virtual-clock).",
        )
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not given or not hmac.compare_digest(given.encode(), state.admin_key.encode()):
        raise ApiError(
            401, "unauthorized", "The admin API needs 'Authorization: Bearer <admin key>'."
        )
    return state, control


def _seconds(body: dict[str, object], key: str, *, nullable: bool = False) -> float | None:
    value = body.get(key)
    if value is None and nullable and key in body:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, "invalid_seconds", f"{key!r} must be a number of seconds.")
    seconds = float(value)
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_SECONDS:
        raise ApiError(
            400, "invalid_seconds", f"{key!r} must be between 0 and {MAX_SECONDS} seconds."
        )
    return seconds


def _now(state: ServeState) -> JSONResponse:
    return JSONResponse({"now": iso_time(state.engine.clock.now())})


async def _get_clock(request: Request) -> Response:
    state, _control = authorised(request)
    return _now(state)


async def _advance(request: Request) -> Response:
    state, control = authorised(request)
    seconds = _seconds(await state.body(request), "seconds")
    assert seconds is not None
    # Timers may wait on a job's computation: keep the event loop free meanwhile.
    await run_in_threadpool(control.advance, seconds)
    return _now(state)


async def _job_duration(request: Request) -> Response:
    state, _control = authorised(request)
    seconds = _seconds(await state.body(request), "seconds")
    job_id = str(request.path_params["id"])
    try:
        job = state.engine.job(job_id)
    except QrunError:
        raise ApiError(404, "job_not_found", f"Job {job_id!r} was not found.") from None
    with state.engine.lock:
        if job.status() != "QUEUED":
            raise ApiError(
                409,
                "job_not_queued",
                f"Job {job_id} is {job.status()}; a duration can be set only while it is queued.",
            )
        job.duration = seconds
    return JSONResponse({"id": job_id, "seconds": seconds})


async def _default_duration(request: Request) -> Response:
    state, _control = authorised(request)
    body = await state.body(request)
    if "default_seconds" not in body:
        raise ApiError(400, "invalid_seconds", "'default_seconds' is required (a number or null).")
    state.default_duration = _seconds(body, "default_seconds", nullable=True)
    return JSONResponse({"default_seconds": state.default_duration})


ROUTES = [
    Route(f"{ADMIN_PREFIX}/clock", _get_clock, methods=["GET"]),
    Route(f"{ADMIN_PREFIX}/clock/advance", _advance, methods=["POST"]),
    Route(f"{ADMIN_PREFIX}/jobs/{{id}}/duration", _job_duration, methods=["POST"]),
    Route(f"{ADMIN_PREFIX}/durations", _default_duration, methods=["POST"]),
]
