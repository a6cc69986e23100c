"""Client code: a ``QiskitRuntimeService`` pointed at a ``qrun serve`` process.

The client's defaults aim at IBM Cloud: it derives the Runtime, IAM and instance-lookup
addresses from the host name and drops the port. :func:`service` passes a URL resolver for
the Runtime API and sets ``IAM_URL``, ``GLOBAL_SEARCH_URL`` and ``GLOBAL_CATALOG_URL`` while
the client is built (it reads them only then), so the same unmodified client code runs
against the local service. :func:`client_environment` gives those variables for code that
builds the client itself.

This module is the client's side of the service and never imports :mod:`qrun.serve`
(whose web stack is an optional extra): the defaults both sides share are defined here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qiskit_ibm_runtime import QiskitRuntimeService

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_INSTANCE",
    "DEFAULT_OPEN_INSTANCE",
    "client_environment",
    "runtime_url",
    "service",
]

#: The API key of the default ``qrun serve`` configuration.
DEFAULT_API_KEY = "qrun-local"
_CRN_PREFIX = "crn:v1:bluemix:public:quantum-computing:us-east:a/qrun-local:"
#: The premium instance of the default ``qrun serve`` configuration.
DEFAULT_INSTANCE = _CRN_PREFIX + "premium::"
#: The Open Plan instance of the default ``qrun serve`` configuration.
DEFAULT_OPEN_INSTANCE = _CRN_PREFIX + "open::"


def client_environment(url: str) -> dict[str, str]:
    """The environment variables that route the client's IAM and instance lookup to ``url``."""
    base = url.rstrip("/")
    return {
        "IAM_URL": base,
        "GLOBAL_SEARCH_URL": f"{base}/search",
        "GLOBAL_CATALOG_URL": f"{base}/catalog",
    }


def runtime_url(
    url: str, _instance: str = "", _private: bool | None = False, _channel: str = ""
) -> str:
    """The client's ``url_resolver``: the Runtime API lives under ``/api/v1``."""
    return url.rstrip("/") + "/api/v1"


def service(
    url: str, *, token: str = DEFAULT_API_KEY, instance: str = DEFAULT_INSTANCE
) -> QiskitRuntimeService:
    """A ``QiskitRuntimeService`` for the ``qrun serve`` process at ``url``."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    overrides = client_environment(url)
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        return QiskitRuntimeService(
            channel="ibm_quantum_platform",
            token=token,
            instance=instance,
            url=url.rstrip("/"),
            url_resolver=runtime_url,
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
