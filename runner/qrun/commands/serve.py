"""``qrun serve``: run the local Runtime-compatible service until interrupted."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.compute.choice import add_compute_option, shared_compute

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from qrun.serve.config import ServeConfig

__all__ = ["OPENMP_SPIN_COUNT", "configure", "main", "recipe", "short_openmp_waits"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port``, ``--config``, ``--data-dir``, ``--virtual-clock`` and the
    ``--workers``, ``--queue-latency``, ``--min-duration`` and ``--compute`` overrides of
    the config."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML file: instances, API keys, backends"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep sessions, jobs and results in DIR/serve.sqlite3 across restarts",
    )
    parser.add_argument(
        "--virtual-clock",
        action="store_true",
        help="time moves only through the admin API (/admin/v1); jobs take modelled QPU time",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="backends computing at once (default: all)"
    )
    parser.add_argument(
        "--queue-latency", type=float, default=None, help="seconds a started job shows queued"
    )
    parser.add_argument(
        "--min-duration", type=float, default=None, help="seconds a job runs at least"
    )
    add_compute_option(parser, default=None)


def recipe(url: str, config: ServeConfig, admin_key: str | None = None) -> str:
    """How to point unmodified Qiskit code at the service at ``url`` (and, on a virtual
    clock, how to reach the admin API with ``admin_key``)."""
    from qrun.client import client_environment

    keys = ", ".join(sorted(config.api_keys)) or "(none configured)"
    instances = "\n".join(
        f"    {item.crn}  ({item.plan}{', no sessions' if not item.allows_sessions else ''})"
        for item in config.instances
    )
    exports = "\n".join(
        f"  export {name}={value}" for name, value in client_environment(url).items()
    )
    return (
        f"qrun serve: Qiskit Runtime API on {url}  (Ctrl-C stops)\n"
        f"  API keys: {keys}\n  instances:\n{instances}\n"
        f"  backends: {', '.join(config.backends)}\n"
        f"  jobs compute on: {config.compute}\n\n"
        "From Python:\n"
        f"  from qrun.client import service\n"
        f"  runtime = service({url!r}, token=<API key>, instance=<CRN>)\n\n"
        "Or with the client alone, after\n"
        f"{exports}\n"
        "  QiskitRuntimeService(channel='ibm_quantum_platform', token=<API key>,\n"
        f"      instance=<CRN>, url={url!r},\n"
        "      url_resolver=lambda url, *_: url + '/api/v1')\n"
    ) + _admin_recipe(url, admin_key)


def _admin_recipe(url: str, admin_key: str | None) -> str:
    if admin_key is None:
        return ""
    return (
        "\nVirtual clock: time moves only when told, through the admin API:\n"
        f"  admin key: {admin_key}\n"
        f"  curl -H 'Authorization: Bearer <admin key>' -d '{{\"seconds\": 60}}' "
        f"{url}/admin/v1/clock/advance\n"
    )


@contextmanager
def _requests_logged_to_stderr() -> Iterator[None]:
    """One line per request on stderr while the service serves; the handler is removed
    after, so a service started in a process that goes on (tests, embedders) leaves no
    handler writing to a stream that may be closed by then."""
    import logging

    from qrun.serve.requestlog import LOGGER

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level, propagate = LOGGER.level, LOGGER.propagate
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
        LOGGER.propagate = propagate


#: How long an idle OpenMP thread of Aer spins before it sleeps (libgomp's spin count). At
#: libgomp's default, 300,000, each finished parallel section keeps its threads busy for
#: milliseconds: for a small job that doubles its CPU, taken from the jobs, workers and
#: requests beside it (benchmarks/openmp_spin.py).
OPENMP_SPIN_COUNT = "10000"


def short_openmp_waits() -> None:
    """Give Aer's OpenMP threads :data:`OPENMP_SPIN_COUNT` unless the user chose how they
    wait (``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``). The OpenMP library reads this once,
    when it loads, so it is set before anything imports Aer; the service's workers inherit
    it. Only the service does this: it computes many small jobs side by side, while a
    single large simulation (``qrun run``) keeps libgomp's longer spin."""
    if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = OPENMP_SPIN_COUNT


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    short_openmp_waits()
    from qrun.errors import UsageError
    from qrun.serve import load_config
    from qrun.serve.timing import RealTiming
    from qrun.serve.workers import with_overrides

    config = load_config(args.config)
    for flag, value, least in (
        ("--queue-latency", args.queue_latency, 0),
        ("--min-duration", args.min_duration, 0),
        ("--workers", args.workers, 1),
    ):
        if value is not None and not least <= value <= 1e6:
            raise UsageError(f"{flag}: expected a number from {least}, got {value}")
    timing = None
    if args.queue_latency is not None or args.min_duration is not None:
        timing = RealTiming(
            config.timing.queue_latency if args.queue_latency is None else args.queue_latency,
            config.timing.min_duration if args.min_duration is None else args.min_duration,
        )
    config = with_overrides(config, workers=args.workers, timing=timing)
    if args.compute is not None:
        config = replace(config, compute=args.compute)
    with shared_compute(config.compute) as compute:
        return _serve(args, replace(config, compute=compute))


def _serve(args: argparse.Namespace, config: ServeConfig) -> int:
    from qrun.clock import VirtualClock
    from qrun.engine import Engine
    from qrun.serve import Server, create_app
    from qrun.serve.workers import serve_executor

    clock = VirtualClock() if args.virtual_clock else None
    engine = Engine(clock=clock, executor=serve_executor(config, modelled=clock is not None))
    app = create_app(config, engine=engine, data_dir=args.data_dir)
    try:
        server = Server(app, args.host, args.port, keep_alive=config.keep_alive)
    except OSError as error:
        from qrun.errors import QrunError

        raise QrunError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    admin_key = app.state.serve.admin_key
    shown = admin_key
    if admin_key is not None and admin_key == config.admin_key:
        shown = "(admin_key from the configuration)"  # a configured secret is not echoed
    sys.stdout.write(recipe(server.url, config, shown))
    sys.stdout.flush()
    try:
        with _requests_logged_to_stderr():
            server.serve_forever()
    finally:
        engine.shutdown()
        store = app.state.serve.store
        if store is not None:
            store.close()
    return 0
