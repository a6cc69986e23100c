"""Ray, imported only when chosen: the install hint without it, a local head, a connection.

Nothing in qrun imports Ray unless ``--compute ray`` (or ``compute: ray``) asks for it;
without Ray installed that choice is an error that says how to install it.

A head started here (:func:`local_head`) listens on the loopback interface only, with
Ray's dashboard off and its usage statistics off, and offers this machine's CPUs; it
lives in the process that started it and ends with :func:`local_head`'s block. Ray on
Linux binds a node's routable address unless told it runs no multi-machine cluster
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), which is read when Ray is imported, so it is
set first. Other processes of the same user reach the head at the address it yields
(Ray's token authentication, on by default for a local head, reads the user's token).

Workers of a connection run Aer with as many threads as a job's task has CPUs: every job
asks for one CPU, and the connection sets ``OMP_NUM_THREADS`` (which Aer honours) to match
in its workers, so jobs side by side never oversubscribe a node's cores.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.errors import QrunError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

__all__ = [
    "CPUS_PER_JOB",
    "INSTALL_HINT",
    "ComputeError",
    "connect",
    "disconnect",
    "import_ray",
    "local_head",
]

INSTALL_HINT = "pip install 'qiskit-qrun[ray]'"
#: Seconds to wait for a Ray cluster's address to answer.
CONNECT_TIMEOUT = 10.0
#: CPUs each job's task asks for (and Aer's threads in it).
CPUS_PER_JOB = 1

_lock = threading.Lock()
_connected: list[str] = []  # the address this process is connected to, if any
_users = 0  # executors and heads using the connection


class ComputeError(QrunError):
    """Where jobs should compute cannot be had: Ray is not installed, or a Ray cluster
    cannot be reached."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or a :class:`ComputeError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ComputeError(
            f"--compute ray needs Ray, which is not installed here: {INSTALL_HINT}"
        ) from None
    return ray


def _loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rsplit(":", 1)[0].strip("[]")
    return host in {"localhost", "::1"} or host.startswith("127.")


def _single_machine() -> None:
    """Keep Ray on the loopback interface: a head started here binds it, and a connection
    to a loopback address is not redirected to this machine's routable address (which a
    head on loopback does not listen on). Ray reads these when it is imported."""
    if "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # A head started on this machine uses Ray's token authentication (its default for a
    # new local cluster), with the user's token; a process connecting to it uses it too.
    if Path.home().joinpath(".ray", "auth_token").is_file() or "RAY_AUTH_TOKEN" in os.environ:
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def _init_options() -> dict[str, object]:
    return {
        "configure_logging": True,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "runtime_env": {"env_vars": {"OMP_NUM_THREADS": str(CPUS_PER_JOB)}},
    }


def _reachable(address: str) -> None:
    """Fail at once, not after Ray's minutes of retries, where nothing listens at
    ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``; ``auto`` is left to Ray)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ComputeError(
            f"cannot connect to the Ray cluster at {address}: {error.strerror or error}"
        ) from None


def connect(address: str) -> None:
    """Connect this process to the Ray cluster at ``address`` (once; later calls for the
    same address share the connection until each has called :func:`disconnect`)."""
    global _users  # noqa: PLW0603 - one Ray connection per process
    if _loopback(address):
        _single_machine()
    ray = import_ray()
    with _lock:
        if _connected:
            if _connected[0] != address:
                raise ComputeError(
                    f"this process computes on the Ray cluster at {_connected[0]}; "
                    f"it cannot also use {address}"
                )
            _users += 1
            return
        _reachable(address)
        try:
            ray.init(address=address, **_init_options())
        except Exception as error:  # noqa: BLE001 - Ray raises several kinds; all mean "unreachable"
            raise ComputeError(
                f"cannot connect to the Ray cluster at {address}: {type(error).__name__}: {error}"
            ) from None
        _connected.append(address)
        _users = 1


def disconnect() -> None:
    """One user of the connection fewer; the last one disconnects."""
    global _users  # noqa: PLW0603 - one Ray connection per process
    with _lock:
        if not _connected:
            return
        _users -= 1
        if _users > 0:
            return
        _connected.clear()
    import_ray().shutdown()


@contextlib.contextmanager
def local_head(cpus: int | None = None) -> Iterator[str]:
    """Start a Ray head in this process for the block's duration and yield its address."""
    global _users  # noqa: PLW0603 - one Ray connection per process
    _single_machine()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = import_ray()
    with _lock:
        if _connected:
            raise ComputeError(f"this process already computes on the Ray cluster {_connected[0]}")
        try:
            ray.init(
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                **_init_options(),
            )
        except Exception as error:  # noqa: BLE001 - Ray raises several kinds
            raise ComputeError(
                f"cannot start a local Ray head: {type(error).__name__}: {error}"
            ) from None
        address = str(ray.get_runtime_context().gcs_address)
        _connected.append(address)
        _users = 1
    try:
        yield address
    finally:
        with _lock:
            _connected.clear()
            _users = 0
        ray.shutdown()  # the head ends with the block, whoever still uses it
