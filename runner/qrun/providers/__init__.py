"""Providers: where a manifest runs. A protocol plus a registry dict.

``local`` runs ``aer`` and ``fake_*`` backends on qrun's embedded lifecycle engine;
``runtime`` runs ``ibm_*`` and ``least_busy`` through ``qiskit_ibm_runtime`` against IBM
Quantum or any Runtime-compatible URL. Provider modules are imported only when chosen,
so a local run never imports ``qiskit_ibm_runtime``.

The service settings can override the backend's kind (:func:`provider_name`): a service
URL sends every backend, ``fake_*`` and ``aer`` included, to the ``runtime`` provider —
that is how a manifest runs on the backends a Runtime-compatible service such as
``qrun serve`` offers under those names — and the channel ``local`` keeps everything on
the embedded engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from qrun.manifest.model import ExecutionMode, Service
from qrun.providers.base import Channel, Job, Provider, ResolvedBackend

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.manifest.model import BackendKind

__all__ = [
    "PROVIDERS",
    "PROVIDER_FOR_KIND",
    "Channel",
    "ExecutionMode",
    "Job",
    "Provider",
    "ResolvedBackend",
    "Service",
    "provider_for",
    "provider_name",
]

#: provider name -> "module:factory"; the factory takes :class:`Service`.
PROVIDERS: dict[str, str] = {
    "local": "qrun.providers.local:LocalProvider",
    "runtime": "qrun.providers.runtime:RuntimeProvider",
}

#: the manifest's backend kind -> the provider that runs it.
PROVIDER_FOR_KIND: dict[BackendKind, str] = {
    "aer": "local",
    "fake": "local",
    "ibm": "runtime",
    "least_busy": "runtime",
}


def provider_name(kind: BackendKind, settings: Service | None = None) -> str:
    """Which provider runs a backend of ``kind`` with these service settings."""
    if settings is not None and settings.channel == "local":
        return "local"
    if settings is not None and settings.url:
        return "runtime"
    return PROVIDER_FOR_KIND[kind]


def provider_for(kind: BackendKind, settings: Service | None = None) -> Provider:
    """A new provider for backends of ``kind`` (see :func:`provider_name`)."""
    module_name, _, factory_name = PROVIDERS[provider_name(kind, settings)].partition(":")
    factory = cast(
        "Callable[[Service], Provider]",
        getattr(importlib.import_module(module_name), factory_name),
    )
    return factory(settings or Service())
