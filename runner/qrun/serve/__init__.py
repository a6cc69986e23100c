"""``qrun serve``: a local service that speaks the Qiskit Runtime REST API.

Unmodified ``qiskit_ibm_runtime`` code pointed at it runs offline on Aer, its sessions
governed by qrun's lifecycle engine. :func:`qrun.client` builds a client for it.
"""

from __future__ import annotations

from qrun.serve.app import create_app
from qrun.serve.config import DEFAULT_API_KEY, DEFAULT_CONFIG, ServeConfig, load_config
from qrun.serve.server import Server
from qrun.serve.state import ServeState

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CONFIG",
    "ServeConfig",
    "ServeState",
    "Server",
    "create_app",
    "load_config",
]
