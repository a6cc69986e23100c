"""The admin API's faults: list, add and clear the faults a service injects (:mod:`.faults`).

- ``GET /admin/v1/faults`` → 200 ``{"faults": [fault, …]}`` (each with the count it has left);
- ``POST /admin/v1/faults`` with one fault mapping → 200 the fault as added; 400 naming the
  key that is wrong;
- ``DELETE /admin/v1/faults`` → 204, every fault removed.

Like the rest of the admin API, these exist on a virtual clock only and need the admin key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qrun.serve.admin import ADMIN_PREFIX, authorised
from qrun.serve.errors import ApiError
from qrun.serve.faults import FaultError, parse_fault

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["ROUTES"]


async def _list(request: Request) -> Response:
    state, _control = authorised(request)
    return JSONResponse({"faults": [fault.describe() for fault in state.faults.all()]})


async def _add(request: Request) -> Response:
    state, _control = authorised(request)
    try:
        fault = parse_fault(await state.body(request))
    except FaultError as error:
        raise ApiError(400, "invalid_fault", str(error)) from None
    state.faults.add(fault)
    return JSONResponse(fault.describe())


async def _clear(request: Request) -> Response:
    state, _control = authorised(request)
    state.faults.clear()
    return Response(status_code=204)


ROUTES = [
    Route(f"{ADMIN_PREFIX}/faults", _list, methods=["GET"]),
    Route(f"{ADMIN_PREFIX}/faults", _add, methods=["POST"]),
    Route(f"{ADMIN_PREFIX}/faults", _clear, methods=["DELETE"]),
]
