"""Sessions and jobs of the Runtime API, run by qrun's lifecycle engine.

Every session and job belongs to the instance (CRN) that created it; another instance gets
404 for it, as if it did not exist. Status codes where the service refuses:

- 400: malformed body, PUBs that do not decode, a backend this service does not serve, a
  job for a session on another backend, or an unknown session id in ``POST /jobs``
  (404 there would read as "Program not found" in the client);
- 403: a dedicated session on an Open Plan instance (batches and single jobs are allowed),
  or a job of an instance whose usage limit is reached (``usage_limit_reached``);
- 400 also for ``executor`` params that are not a ``v2.0`` quantum program, and for a
  ``calibration_id`` the backend does not have;
- 404: an unknown program id (the client raises ``RuntimeProgramNotFound``), or a session /
  job id this instance does not own; the ``noise-learner`` program is not offered (404
  with a message saying so);
- 404 also for the result of a private job that has been read once already;
- 429: a job beyond an injected submission rate or pending-job limit (see :mod:`.faults`);
- 409: a job for a session that no longer accepts jobs (or closed in a restart), cancelling
  a job that has ended, results of a job that has not ended.

Programs: ``sampler`` and ``estimator`` (SamplerV2 / EstimatorV2 PUBs) and ``executor``
(the client-side primitives' quantum programs, see :mod:`.quantum_program`). All three are
ordinary engine jobs: queued, run and ended by the session rules alike.

Private jobs (``"private": true``) say so, never return their ``params``, and serve their
result once. Metrics and usage are built by :mod:`.job_metrics`.

Failed jobs carry ``state.reason``, and ``state.reason_code`` 1305 when a session's max TTL
ended them (see :mod:`.ledger`). ``DELETE /jobs/{id}`` cancels a job still pending, then
forgets it. Jobs and sessions from before a restart (``--data-dir``) are served like live
ones; see :mod:`.store`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from qrun.clock import iso_time
from qrun.errors import PricingPlanError, QrunError, SessionClosedError, SessionError
from qrun.serve.encoding import EncodingError, Job, decode_options, decode_pubs
from qrun.serve.errors import ApiError
from qrun.serve.job_metrics import job_metrics, usage_document
from qrun.serve.quantum_program import decode_quantum_program
from qrun.serve.state import serve_state

if TYPE_CHECKING:
    from starlette.requests import Request

    from qrun.engine import JobHandle, SessionHandle
    from qrun.serve.state import ServeState
    from qrun.serve.store import JobRecord

__all__ = ["ROUTES"]

_PROGRAMS: tuple[Job, ...] = ("sampler", "estimator", "executor")
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


def _session(
    state: ServeState, crn: str, session_id: str
) -> tuple[SessionHandle | None, dict[str, object]]:
    """A session's live handle (None if from an earlier process) and its details."""
    try:
        session: SessionHandle | None = state.engine.session(session_id)
    except SessionError:
        session = None
    if session is not None and session.instance.name == crn:
        return session, session.details()
    archived = state.ledger.archived_sessions.get(session_id)
    if session is None and archived is not None and archived.instance == crn:
        return None, archived.details
    raise ApiError(404, "session_not_found", f"Session {session_id!r} was not found.")


def _job(state: ServeState, crn: str, job_id: str) -> tuple[JobHandle | None, JobRecord]:
    handle, record = state.ledger.job(job_id)
    if record is None or record.instance != crn:
        raise ApiError(404, "job_not_found", f"Job {job_id!r} was not found.")
    return handle, record


def _session_body(details: dict[str, object]) -> dict[str, object]:
    return {key: details.get(source) for key, source in _DETAIL_KEYS.items()}


async def _open_session(request: Request) -> Response:
    state = serve_state(request)
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
        isinstance(max_ttl, bool)
        or not isinstance(max_ttl, (int, float))
        or not math.isfinite(max_ttl)
        or max_ttl <= 0
    ):
        raise ApiError(400, "invalid_max_ttl", "max_ttl must be a positive number of seconds.")
    expiry = state.faults.take(("expire_session",), instance=instance.crn, backend=backend)
    if expiry is not None:  # an injected fault: the session ends early
        max_ttl = expiry.after if max_ttl is None else min(float(max_ttl), expiry.after)
    try:
        session = state.engine.open_session(
            backend,
            instance=instance.crn,
            mode="session" if mode == "dedicated" else "batch",
            max_time=cast("float | None", max_ttl),
        )
    except PricingPlanError as error:
        raise ApiError(403, "plan_does_not_allow_sessions", str(error)) from None
    except QrunError as error:
        raise ApiError(400, "invalid_session", str(error)) from None
    state.ledger.opened(session)
    return JSONResponse(_session_body(session.details()))


async def _get_session(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    _handle, details = _session(state, instance.crn, request.path_params["id"])
    return JSONResponse(_session_body(details))


async def _patch_session(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    session, _details = _session(state, instance.crn, request.path_params["id"])
    if body.get("accepting_jobs") is not False:
        raise ApiError(
            400, "invalid_update", "Only {'accepting_jobs': false} (close) is supported."
        )
    if session is not None:  # a session from an earlier process is closed already
        session.close()
    return Response(status_code=204)


async def _cancel_session(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    session, _details = _session(state, instance.crn, request.path_params["id"])
    if session is not None:
        session.cancel()
    return Response(status_code=204)


def _job_body(state: ServeState, job: JobRecord, *, params: bool) -> dict[str, object]:
    status = _SERVER_STATUS[job.status]
    job_state: dict[str, object] = {"status": status}
    if job.reason is not None:
        job_state["reason"] = job.reason
    if job.reason_code is not None:
        job_state["reason_code"] = job.reason_code
    body: dict[str, object] = {
        "id": job.id,
        "backend": job.backend,
        "state": job_state,
        "status": status,
        "program": {"id": job.program},
        "created": iso_time(job.created),
        "session_id": job.session_id,
        "tags": list(job.tags),
        "private": job.private,
        "runtime": "",
        "estimated_running_time_seconds": job.estimated_seconds,
    }
    if params and not job.private:
        body["params"] = state.ledger.params(job.id)
    return body


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ApiError(400, "invalid_tags", "tags must be a list of strings.")
    return [str(tag) for tag in value]


#: Why the ``noise-learner`` program is not offered.
NOISE_LEARNER_REFUSAL = (
    "Program 'noise-learner' is not offered by qrun serve: learning layer noise means "
    "running and fitting the twirled learning circuits, which this service does not "
    "emulate. Run NoiseLearner on IBM Quantum, or give the estimator a noise model instead."
)


def _program(value: object) -> Job:
    for program in _PROGRAMS:
        if value == program:
            return program
    if value == "noise-learner":
        raise ApiError(404, "program_not_supported", NOISE_LEARNER_REFUSAL)
    raise ApiError(
        404,
        "program_not_found",
        f"Program {value!r} not found; use sampler, estimator or executor.",
    )


async def _submit(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    program = _program(body.get("program_id"))
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
            session, _details = _session(state, instance.crn, session_id)
        except ApiError:
            raise ApiError(400, "session_not_found", f"Session {session_id!r} not found.") from None
        if session is None:
            raise ApiError(
                409, "session_closed", f"Session {session_id} closed when the service restarted."
            )
    tags = _tags(body.get("tags"))
    private = body.get("private", False)
    if not isinstance(private, bool):
        raise ApiError(400, "invalid_private", "private must be true or false.")
    calibration = body.get("calibration_id")
    if calibration is not None and calibration != state.catalog.calibration_id(backend):
        raise ApiError(
            400,
            "invalid_calibration_id",
            f"Calibration {str(calibration)[:64]!r} was not found for backend {backend!r}.",
        )
    _limits(state, instance.crn)
    if (
        instance.usage_limit is not None
        and (
            _usage_of(state, instance.crn, instance.plan, instance.usage_limit)[
                "usage_limit_reached"
            ]
        )
    ):
        raise ApiError(
            403,
            "usage_limit_reached",
            f"Instance {instance.crn} has used its {instance.usage_limit:g} quantum seconds; "
            "jobs will not run until time is made available.",
        )

    def accept() -> JobHandle:
        try:
            options = decode_options(params, tags)
            inputs: list[object] = (
                [decode_quantum_program(params)]
                if program == "executor"
                else list(decode_pubs(program, params, options))
            )
        except EncodingError as error:
            raise ApiError(400, "invalid_params", str(error)) from None
        try:
            return state.engine.submit(
                program,
                inputs,
                backend=backend,
                instance=instance.crn,
                session_id=session_id,
                options=options,
                duration=state.default_duration,
                simulation=state.simulations[backend],
            )
        except SessionClosedError as error:
            raise ApiError(409, "session_closed", str(error)) from None
        except QrunError as error:
            raise ApiError(400, "invalid_job", str(error)) from None

    # Decoding QPY and coercing PUBs of a large body is CPU work: keep the event loop
    # answering meanwhile. A small body decodes in less time than the hand-over to a thread
    # and back would take.
    job = accept() if _small(request) else await run_in_threadpool(accept)
    failure = state.faults.take(
        ("fail_job",), instance=instance.crn, backend=job.backend_name, program=program
    )
    state.ledger.submitted(
        job,
        params,
        private=private,
        failure=None if failure is None else (failure.reason_code, failure.reason),
    )
    return JSONResponse({"id": job.job_id(), "backend": job.backend_name})


#: Bodies up to this size are decoded on the event loop (a few milliseconds at most).
INLINE_BODY_BYTES = 64 * 1024


def _small(request: Request) -> bool:
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) <= INLINE_BODY_BYTES


async def _get_job(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    _handle, job = _job(state, instance.crn, request.path_params["id"])
    exclude = _flag(request.query_params.get("exclude_params"), "exclude_params") or False
    return JSONResponse(_job_body(state, job, params=not exclude))


async def _results(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    handle, job = _job(state, instance.crn, request.path_params["id"])
    if job.status == "DONE":
        document = state.ledger.read_result(handle, job)
        if document is None and job.private:
            raise ApiError(
                404,
                "result_not_found",
                f"Job {job.id} is private: its result was read once and is no longer kept.",
            )
        if document is None:
            raise ApiError(404, "result_not_found", f"The result of job {job.id} is not kept.")
        return Response(document, media_type="application/json")
    if job.status in ("ERROR", "CANCELLED"):
        return PlainTextResponse(job.reason or f"job {job.status.lower()}")
    raise ApiError(409, "job_not_final", f"Job {job.id} is {job.status}; no results yet.")


async def _cancel_job(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    handle, job = _job(state, instance.crn, request.path_params["id"])
    if handle is None or job.final:
        raise ApiError(409, "job_not_cancellable", f"Job {job.id} has ended ({job.status}).")
    handle.cancel()
    return Response(status_code=204)


async def _delete_job(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    handle, job = _job(state, instance.crn, request.path_params["id"])
    if handle is not None and not job.final:
        handle.cancel()
    state.ledger.delete(job.id)
    return Response(status_code=204)


async def _put_tags(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    body = await state.body(request)
    handle, job = _job(state, instance.crn, request.path_params["id"])
    if "tags" not in body:
        raise ApiError(400, "invalid_tags", "The body must be {'tags': [...]}.")
    state.ledger.set_tags(handle, job, _tags(body["tags"]))
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
    if not value.isdigit() or len(value) > 9:
        raise ApiError(400, "invalid_query", f"{name} must be a whole number below 10⁹.")
    return int(value)


def _instant(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} must be an ISO-8601 date-time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


async def _list_jobs(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    query = request.query_params
    program = query.get("program")
    session_id = query.get("session_id")
    backend = query.get("backend")
    wanted = set(query.getlist("tags"))
    pending = _flag(query.get("pending"), "pending")
    after = _instant(query.get("created_after"), "created_after")
    before = _instant(query.get("created_before"), "created_before")
    offset = _count(query.get("offset"), "offset", 0)
    limit = _count(query.get("limit"), "limit", 200)
    found = [
        job
        for job in state.ledger.jobs(instance.crn)
        if (program is None or job.program == program)
        and (session_id is None or job.session_id == session_id)
        and (backend is None or job.backend == backend)
        and wanted.issubset(job.tags)
        and (pending is None or pending != job.final)
        and (after is None or job.created >= after)
        and (before is None or job.created <= before)
    ]
    if query.get("sort", "DESC").upper() != "ASC":
        found.reverse()
    page = found[offset : offset + limit]
    return JSONResponse(
        {"jobs": [_job_body(state, job, params=False) for job in page], "count": len(found)}
    )


async def _metrics(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    _handle, job = _job(state, instance.crn, request.path_params["id"])
    backend_jobs = (
        [
            state.ledger.record(other)
            for other in state.engine.jobs(backend=job.backend, pending=True)
        ]
        if job.status == "QUEUED"
        else []
    )
    return JSONResponse(job_metrics(job, backend_jobs, state.engine.clock.now()))


async def _logs(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    _handle, job = _job(state, instance.crn, request.path_params["id"])
    lines = [f"{iso_time(job.created)} job {job.id} created on {job.backend}"]
    if job.started is not None:
        lines.append(f"{iso_time(job.started)} running")
    if job.finished is not None:
        ending = _SERVER_STATUS[job.status].lower()
        lines.append(
            f"{iso_time(job.finished)} {ending}" + (f": {job.reason}" if job.reason else "")
        )
    return PlainTextResponse("\n".join(lines) + "\n")


def _limits(state: ServeState, crn: str) -> None:
    """429 when an injected submission rate or pending-job limit is reached."""
    if not state.faults:
        return
    for fault in state.faults.limits(crn):
        if fault.kind == "pending_limit":
            pending = len(state.engine.jobs(instance=crn, pending=True))
            if pending >= fault.limit:
                raise ApiError(
                    429,
                    "too_many_pending_jobs",
                    f"Instance {crn} has {pending} pending jobs, the most it may have.",
                )
            continue
        wait = state.faults.admit(fault, state.engine.clock.now())
        if wait is not None:
            raise ApiError(
                429,
                "rate_limit_exceeded",
                f"More than {fault.limit} jobs in {fault.window:g} s; try again later.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


def _usage_of(state: ServeState, crn: str, plan: str, limit: float | None) -> dict[str, object]:
    jobs = state.ledger.jobs(crn)
    return usage_document(crn, plan, jobs, state.ledger.spent(crn), limit)


async def _usage(request: Request) -> Response:
    state = serve_state(request)
    instance = state.instance_of(request)
    return JSONResponse(_usage_of(state, instance.crn, instance.plan, instance.usage_limit))


_API = "/api/v1"


ROUTES = [
    Route(f"{_API}/sessions", _open_session, methods=["POST"]),
    Route(f"{_API}/sessions/{{id}}", _get_session, methods=["GET"]),
    Route(f"{_API}/sessions/{{id}}", _patch_session, methods=["PATCH"]),
    Route(f"{_API}/sessions/{{id}}/close", _cancel_session, methods=["DELETE"]),
    Route(f"{_API}/jobs", _submit, methods=["POST"]),
    Route(f"{_API}/jobs", _list_jobs, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}", _get_job, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}", _delete_job, methods=["DELETE"]),
    Route(f"{_API}/jobs/{{id}}/results", _results, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}/cancel", _cancel_job, methods=["POST"]),
    Route(f"{_API}/jobs/{{id}}/tags", _put_tags, methods=["PUT"]),
    Route(f"{_API}/jobs/{{id}}/metrics", _metrics, methods=["GET"]),
    Route(f"{_API}/jobs/{{id}}/logs", _logs, methods=["GET"]),
    Route(f"{_API}/instances/usage", _usage, methods=["GET"]),
]
