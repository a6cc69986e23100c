"""Sessions and jobs of the Runtime API, run by qrun's lifecycle engine.

Every session and job belongs to the instance (CRN) that created it; another instance gets
404 for it, as if it did not exist. Status codes where the service refuses:

- 400: malformed body, PUBs that do not decode, a backend this service does not serve, a
  job for a session on another backend, or an unknown session id in ``POST /jobs``
  (404 there would read as "Program not found" in the client);
- 403: a dedicated session on an Open Plan instance (batches and single jobs are allowed);
- 404: an unknown program id (the client raises ``RuntimeProgramNotFound``), or a session /
  job id this instance does not own;
- 409: a job for a session that no longer accepts jobs, cancelling a job that has ended,
  results of a job that has not ended.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from qrun.engine.session import iso_time
from qrun.errors import PlanError, QrunError, SessionClosedError, SessionError
from qrun.serve.encoding import EncodingError, Program, decode_pubs, encode_result
from qrun.serve.errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

    from qrun.engine import JobHandle, SessionHandle
    from qrun.serve.app import ServeState

__all__ = ["ROUTES"]

_PROGRAMS: tuple[Program, ...] = ("sampler", "estimator")
_SERVER_STATUS = {
    "QUEUED": "Queued",
    "RUNNING": "Running",
    "DONE": "Completed",
    "ERROR": "Failed",
    "CANCELLED": "Cancelled",
}
#: ``Session.details()`` reads these server keys (client key -> engine key).
_DETAIL_KEYS = {
    "id": "id",
    "backend_name": "backend_name",
    "interactive_ttl": "interactive_timeout",
    "max_ttl": "max_time",
    "active_ttl": "active_timeout",
    "state": "state",
    "accepting_jobs": "accepting_jobs",
    "last_job_started": "last_job_started",
    "last_job_completed": "last_job_completed",
    "started_at": "started_at",
    "closed_at": "closed_at",
    "activated_at": "activated_at",
    "mode": "mode",
    "elapsed_time": "usage_time",
    "timestamps": "timestamps",
}


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def _session(state: ServeState, crn: str, session_id: str) -> SessionHandle:
    try:
        session = state.engine.session(session_id)
    except SessionError:
        session = None
    if session is None or session.instance.name != crn:
        raise ApiError(404, "session_not_found", f"Session {session_id!r} was not found.")
    return session


def _job(state: ServeState, crn: str, job_id: str) -> JobHandle:
    try:
        job = state.engine.job(job_id)
    except QrunError:
        job = None
    if job is None or job.instance != crn:
        raise ApiError(404, "job_not_found", f"Job {job_id!r} was not found.")
    return job


def _session_body(session: SessionHandle) -> dict[str, object]:
    details = session.details()
    return {key: details[source] for key, source in _DETAIL_KEYS.items()}


async def _open_session(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    backend = body.get("backend")
    mode = body.get("mode", "dedicated")
    max_ttl = body.get("max_ttl")
    if not isinstance(backend, str) or backend not in state.catalog:
        raise ApiError(400, "backend_not_found", f"Backend {backend!r} is not served here.")
    if mode not in ("dedicated", "batch"):
        raise ApiError(400, "invalid_mode", f"mode must be 'dedicated' or 'batch', got {mode!r}")
    if max_ttl is not None and (
        isinstance(max_ttl, bool) or not isinstance(max_ttl, (int, float)) or max_ttl <= 0
    ):
        raise ApiError(400, "invalid_max_ttl", "max_ttl must be a positive number of seconds.")
    try:
        session = state.engine.open_session(
            backend,
            instance=instance.crn,
            mode="session" if mode == "dedicated" else "batch",
            max_time=cast("float | None", max_ttl),
        )
    except PlanError as error:
        raise ApiError(403, "plan_does_not_allow_sessions", str(error)) from None
    except QrunError as error:
        raise ApiError(400, "invalid_session", str(error)) from None
    return JSONResponse(_session_body(session))


async def _get_session(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    return JSONResponse(_session_body(_session(state, instance.crn, request.path_params["id"])))


async def _patch_session(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    session = _session(state, instance.crn, request.path_params["id"])
    if body.get("accepting_jobs") is not False:
        raise ApiError(
            400, "invalid_update", "Only {'accepting_jobs': false} (close) is supported."
        )
    session.close()
    return Response(status_code=204)


async def _cancel_session(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    _session(state, instance.crn, request.path_params["id"]).cancel()
    return Response(status_code=204)


def _job_body(state: ServeState, job: JobHandle, *, params: bool) -> dict[str, object]:
    status = _SERVER_STATUS[job.status()]
    job_state: dict[str, object] = {"status": status}
    reason = job.error_message()
    if reason is not None and job.status() in ("ERROR", "CANCELLED"):
        job_state["reason"] = reason
    body: dict[str, object] = {
        "id": job.job_id(),
        "backend": job.backend_name,
        "state": job_state,
        "status": status,
        "program": {"id": job.program},
        "created": iso_time(job.created),
        "session_id": job.session_id,
        "tags": list(job.job_tags),
        "private": False,
        "runtime": "",
    }
    if params:
        body["params"] = state.params.get(job.job_id(), {})
    return body


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ApiError(400, "invalid_tags", "tags must be a list of strings.")
    return [str(tag) for tag in value]


async def _submit(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    program = body.get("program_id")
    if program not in _PROGRAMS:
        raise ApiError(
            404, "program_not_found", f"Program {program!r} not found; use sampler or estimator."
        )
    backend = body.get("backend")
    if not isinstance(backend, str) or backend not in state.catalog:
        raise ApiError(400, "backend_not_found", f"Backend {backend!r} is not served here.")
    params = body.get("params")
    if not isinstance(params, dict):
        raise ApiError(400, "invalid_params", "params must be a JSON object.")
    session_id = body.get("session_id")
    if session_id is not None:
        if not isinstance(session_id, str):
            raise ApiError(400, "invalid_session", "session_id must be a string.")
        try:
            _session(state, instance.crn, session_id)
        except ApiError:
            raise ApiError(400, "session_not_found", f"Session {session_id!r} not found.") from None
    tags = _tags(body.get("tags"))
    try:
        pubs = decode_pubs(program, params)
    except EncodingError as error:
        raise ApiError(400, "invalid_params", str(error)) from None
    options = params.get("options")
    try:
        job = state.engine.submit(
            program,
            pubs,
            backend=backend,
            instance=instance.crn,
            session_id=session_id,
            options=_engine_options(options if isinstance(options, dict) else {}),
            tags=tags,
            duration=state.default_duration,
        )
    except SessionClosedError as error:
        raise ApiError(409, "session_closed", str(error)) from None
    except QrunError as error:
        raise ApiError(400, "invalid_job", str(error)) from None
    state.params[job.job_id()] = params
    return JSONResponse({"id": job.job_id(), "backend": job.backend_name})


def _engine_options(options: dict[str, object]) -> dict[str, object]:
    """The options the engine acts on (shots/precision are already in the PUBs)."""
    chosen: dict[str, object] = {}
    simulator = options.get("simulator")
    if isinstance(simulator, dict) and isinstance(simulator.get("seed_simulator"), int):
        chosen["seed_simulator"] = simulator["seed_simulator"]
    return chosen


async def _get_job(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    job = _job(state, instance.crn, request.path_params["id"])
    exclude = request.query_params.get("exclude_params", "false").lower() == "true"
    return JSONResponse(_job_body(state, job, params=not exclude))


async def _results(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    job = _job(state, instance.crn, request.path_params["id"])
    status = job.status()
    if status == "DONE":
        cached = state.results.get(job.job_id())
        if cached is None:
            cached = json.dumps(encode_result(job.result()))
            state.results[job.job_id()] = cached
        return Response(cached, media_type="application/json")
    if status in ("ERROR", "CANCELLED"):
        return PlainTextResponse(job.error_message() or f"job {status.lower()}")
    raise ApiError(409, "job_not_final", f"Job {job.job_id()} is {status}; no results yet.")


async def _cancel_job(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    job = _job(state, instance.crn, request.path_params["id"])
    if job.in_final_state():
        raise ApiError(
            409, "job_not_cancellable", f"Job {job.job_id()} has ended ({job.status()})."
        )
    job.cancel()
    return Response(status_code=204)


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ApiError(400, "invalid_query", f"{name} must be true or false.")
    return value.lower() == "true"


def _count(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise ApiError(400, "invalid_query", f"{name} must be a whole number.")
    return int(value)


async def _list_jobs(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    query = request.query_params
    program = query.get("program")
    found = [
        job
        for job in state.engine.jobs(
            instance=instance.crn,
            session_id=query.get("session_id"),
            tags=query.getlist("tags") or None,
            backend=query.get("backend"),
            pending=_flag(query.get("pending"), "pending"),
        )
        if program is None or job.program == program
    ]
    if query.get("sort", "DESC").upper() != "ASC":
        found.reverse()
    offset = _count(query.get("offset"), "offset", 0)
    limit = _count(query.get("limit"), "limit", 200)
    page = found[offset : offset + limit]
    return JSONResponse(
        {"jobs": [_job_body(state, job, params=False) for job in page], "count": len(found)}
    )


def _run_seconds(job: JobHandle, now: float) -> float:
    if job.started is None:
        return 0.0
    return (job.finished if job.finished is not None else now) - job.started


async def _metrics(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    job = _job(state, instance.crn, request.path_params["id"])
    seconds = _run_seconds(job, state.engine.clock.now())
    return JSONResponse(
        {
            "timestamps": {
                "created": iso_time(job.created),
                "running": iso_time(job.started),
                "finished": iso_time(job.finished),
            },
            "usage": {
                "quantum_seconds": seconds,
                "seconds": seconds,
                "qpu_charge_time_seconds": seconds,
                "status": "final" if job.in_final_state() else "pending",
            },
            "bss": {"seconds": seconds},
        }
    )


async def _logs(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    job = _job(state, instance.crn, request.path_params["id"])
    lines = [f"{iso_time(job.created)} job {job.job_id()} created on {job.backend_name}"]
    if job.started is not None:
        lines.append(f"{iso_time(job.started)} running")
    if job.finished is not None:
        ending = _SERVER_STATUS[job.status()].lower()
        reason = job.error_message()
        lines.append(f"{iso_time(job.finished)} {ending}" + (f": {reason}" if reason else ""))
    return PlainTextResponse("\n".join(lines) + "\n")


async def _usage(request: Request) -> Response:
    state = _state(request)
    instance = state.instance_of(request)
    now = state.engine.clock.now()
    consumed = sum(_run_seconds(job, now) for job in state.engine.jobs(instance=instance.crn))
    return JSONResponse(
        {
            "instance_id": instance.crn,
            "plan_id": f"qrun-{instance.plan}",
            "usage_consumed_seconds": consumed,
            "usage_limit_reached": False,
        }
    )


_API = "/api/v1"
ROUTES = [
    Route(f"{_API}/sessions", _open_session, methods=["POST"]),
    Route(f"{_API}/sessions/{{id}}", _get_session, methods=["GET"]),
    Route(f"{_API}/sessions/{{id}}", _patch_session, methods=["PATCH"]),
    Route(f"{_API}/sessions/{{id}}/close", _cancel_session, methods=["DELETE"]),
    Route(f"{_API}/jobs", _submit, methods=["POST"]),
    Route(f"{_API}/jobs", _list_jobs, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}", _get_job, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}/results", _results, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}/cancel", _cancel_job, methods=["POST"]),
    Route(f"{_API}/jobs/{{id}}/metrics", _metrics, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}/logs", _logs, methods=["GET"]),
    Route(f"{_API}/instances/usage", _usage, methods=["GET"]),
]
