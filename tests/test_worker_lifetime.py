"""Worker processes never outlive the process that started them."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"),
    reason="parent-death signals and pidfds are Linux features",
)

PARENT = textwrap.dedent(
    """
    import multiprocessing, signal, sys
    from qiskit import QuantumCircuit
    from qrun.engine import Engine, {executor}
    from qrun.manifest.model import JobOptions

    # A server (uvicorn) handles SIGTERM itself; forked workers inherit that handler.
    signal.signal(signal.SIGTERM, lambda *_: None)
    engine = Engine(executor={executor}(1))
    circuit = QuantumCircuit(1)
    circuit.x(0)
    circuit.measure_all()
    engine.submit("sampler", [circuit], backend="aer", options=JobOptions(default_shots=8)).result()
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    sys.stdin.read()  # wait to be killed
    """
)


class TestWorkersEndWithTheirParent:
    """If the process running the engine is killed outright, its workers end too."""

    @pytest.mark.parametrize("executor", ["ProcessExecutor", "WorkerExecutor"])
    def test_sigkill_of_the_parent_ends_its_workers(self, executor: str) -> None:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT.format(executor=executor)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers, "the engine started no worker process"
        handles = [os.pidfd_open(pid) for pid in workers]
        try:
            parent.send_signal(signal.SIGKILL)
            parent.wait(timeout=30)
            ended: set[int] = set()
            while len(ended) < len(handles):  # a pidfd turns readable when its process ends
                ready, _, _ = select.select(handles, [], [], 30)
                assert ready, f"worker(s) still running after their parent was killed: {workers}"
                ended.update(ready)
        finally:
            for handle in handles:
                os.close(handle)
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
