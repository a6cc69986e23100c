"""Schemathesis drives every operation of the shipped description: no 5xx, ever."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from qrun.clock import VirtualClock
from qrun.serve import create_app
from tests.serve_support import ADMIN_KEY, CONFIG, PREMIUM

if TYPE_CHECKING:
    from schemathesis import Case

APP = create_app(CONFIG, clock=VirtualClock())


TOKEN = str(APP.state.serve.tokens.issue("key")["access_token"])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=list(schemathesis.GenerationMode))


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Case) -> None:
    """If any request the description allows (or almost allows) arrives, the answer is no 5xx."""
    key = ADMIN_KEY if case.path.startswith("/admin/") else TOKEN
    headers = {"Authorization": f"Bearer {key}", "Service-CRN": PREMIUM}
    response = case.call(headers=headers)
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
