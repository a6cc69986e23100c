"""``qrun serve`` as a process, with the unmodified client: connections that idle past the
server's keep-alive, and many clients at once, are all answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import SamplerV2

from qrun.client import service

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qiskit_ibm_runtime import QiskitRuntimeService

#: The tests drive the client's SamplerV2 on purpose, as its users do with 0.51.
pytestmark = pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated")

KEEP_ALIVE = 1  # seconds; the server closes a connection idle for longer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config: Path = tmp_path_factory.mktemp("serve") / "serve.yaml"
    config.write_text(f"keep_alive: {KEEP_ALIVE}\nbackends: [aer]\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "qrun", "serve", "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if "url=" in line:
            url = line.split("url=")[1].split(",")[0].strip("'\" ")
            break
    try:
        assert url.startswith("http://127.0.0.1:"), "qrun serve printed no URL"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def _sample(client: QiskitRuntimeService, shots: int = 16) -> int:
    backend = client.backend("aer")
    isa = generate_preset_pass_manager(backend=backend, optimization_level=0).run(_bell())
    job = SamplerV2(mode=backend).run([isa], shots=shots)
    result = job.result(timeout=60)
    return sum(result[0].data.meas.get_counts().values())


class TestIdleConnections:
    """If the client idles past the server's keep-alive between jobs (a worker process
    was forked meanwhile), its next request is still answered."""

    def test_second_job_after_idling(self, served: str) -> None:
        client = service(served)
        assert _sample(client) == 16  # the first job forks the worker process
        time.sleep(KEEP_ALIVE + 1.5)  # a real network timer: the server closes idle links
        answers: list[int] = []
        second = threading.Thread(target=lambda: answers.append(_sample(client)), daemon=True)
        second.start()
        second.join(timeout=60)  # a connection held by a worker is never answered
        assert answers == [16]


class TestManyClients:
    """If 20 threads submit at once, every job is answered."""

    def test_twenty_threads(self, served: str) -> None:
        client = service(served)
        counts: list[int] = []
        errors: list[BaseException] = []

        def submit() -> None:
            try:
                counts.append(_sample(client, shots=8))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion
                errors.append(error)

        threads = [threading.Thread(target=submit) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert counts == [8] * 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_answers_are_not_held_for_the_clients_acknowledgement() -> None:
    """Every connection the server accepts sends at once (TCP_NODELAY): with Nagle's
    algorithm on, the body of an answer written after its headers waits for the client's
    delayed acknowledgement, some 40 ms on each request."""
    from qrun.serve.server import Server

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        raise AssertionError("no request is sent")

    with Server(app) as server:  # type: ignore[arg-type]
        client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        try:
            until = time.monotonic() + 5
            while not (served := _server_side(client.getsockname())):
                assert time.monotonic() < until, "the server's side of the connection not found"
                time.sleep(0.01)  # the server accepts on its own thread
            assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            served.close()
        finally:
            client.close()


def _server_side(peer: tuple[str, int]) -> socket.socket | None:
    """This process's socket whose peer is ``peer`` (a duplicate of it), if any."""
    for entry in Path("/proc/self/fd").iterdir():
        try:
            candidate = socket.socket(fileno=os.dup(int(entry.name)))
        except (OSError, ValueError):
            continue
        try:
            if candidate.getpeername() == peer:
                return candidate
        except OSError:
            pass
        candidate.close()
    return None


def test_a_client_may_connect_as_soon_as_the_url_is_printed() -> None:
    """Scripts start ``qrun serve`` and connect the moment its URL appears: the service is
    listening by then, so the first request is answered, never refused."""
    import http.client
    import re

    process = subprocess.Popen(
        [sys.executable, "-m", "qrun", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        found = re.search(r"on (http://127\.0\.0\.1:(\d+))", process.stdout.readline())
        assert found, "qrun serve printed no URL first"
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(2)), timeout=60)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
