"""What the compute tests share: a generated sweep of sampler jobs, results compared
without what may differ between two runs of one manifest (job ids, simulator timings),
and a real Ray head on loopback for the tests that need one.

The Ray tests skip, with the reason shown, where Ray is not installed, unless
``QRUN_REQUIRE_RAY`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["REQUIRE_RAY", "comparable", "ray_head", "sweep_manifest"]

#: Set (to anything but empty or 0) where Ray tests must run, not skip.
REQUIRE_RAY = "QRUN_REQUIRE_RAY"


def sweep_manifest(folder: Path, jobs: int, *, shots: int = 256, qubits: int = 3) -> Path:
    """A batch of ``jobs`` sampler jobs on ``aer``, each with its own seed and parameter
    values, written as ``sweep.yaml`` in ``folder``."""
    rng = random.Random(5)
    lines = [
        "qrun: 1",
        "metadata: {name: sweep}",
        "backend: {name: aer}",
        "execution: {mode: batch, max_time: 1h}",
        "circuits:",
        "  rotations:",
        "    library: real_amplitudes",
        f"    args: {{num_qubits: {qubits}, reps: 1}}",
        "    measure_all: true",
        "primitives:",
    ]
    for index in range(jobs):
        values = ", ".join(f"{rng.uniform(0, 3.14159):.6f}" for _ in range(2 * qubits))
        lines += [
            "  - sampler:",
            f"    name: job-{index:03d}",
            f"    options: {{default_shots: {shots}, seed_simulator: {1000 + index}}}",
            "    pubs:",
            f"      - {{circuit: rotations, parameter_values: [{values}]}}",
        ]
    path = folder / "sweep.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def comparable(results_file: Path) -> object:
    """``results.json`` without job ids and the simulator's own timings."""
    document = json.loads(results_file.read_text(encoding="utf-8"))
    for primitive in document["primitives"]:
        primitive.pop("job_id", None)
        for pub in primitive["pubs"]:
            pub.get("metadata", {}).pop("simulator_metadata", None)
    return document


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_RAY, "") not in ("", "0"):
        pytest.fail(f"{reason}, and {REQUIRE_RAY} says Ray tests must run")
    pytest.skip(reason)


#: The head's process: starts a head, prints its address, and stops it when its input ends.
_HEAD = """
import sys
from qrun.compute.cluster import local_head
with local_head(cpus=2) as address:
    print(address, flush=True)
    sys.stdin.read()
"""


@pytest.fixture(scope="session")
def ray_head() -> Iterator[str]:
    """A Ray head on loopback (2 CPUs, dashboard off) in a process of its own, stopped
    after the session; its address. The test process connects only while a test computes
    on it (an executor disconnects when it shuts down), so the many tests that fork
    processes never fork one that holds Ray's threads."""
    # Only looked for: Ray is imported by the connection, which sets how it is imported.
    if importlib.util.find_spec("ray") is None:
        _unavailable("ray is not installed (pip install 'qiskit-qrun[ray]')")
    head = subprocess.Popen(
        [sys.executable, "-c", _HEAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert head.stdout is not None
        address = head.stdout.readline().strip()
        if not address:
            pytest.fail(f"the Ray head did not start (exit code {head.wait(timeout=60)})")
        yield address
    finally:
        assert head.stdin is not None
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
