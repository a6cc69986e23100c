"""Aer under libgomp's default spin against the short spin ``qrun`` sets (``GOMP_SPINCOUNT``).

The OpenMP library reads its environment once, when it loads, so each measurement runs
in a fresh process: the default (no ``GOMP_SPINCOUNT``, no ``OMP_WAIT_POLICY``) and
``GOMP_SPINCOUNT=10000`` take turns, ``--repeats`` times each, and the summary gives
medians of wall time and of the process's CPU time, and their ratios (short ÷ default).

Three workloads, each on ``AerSimulator`` with two threads, written by hand:

- ``small``: 60 noisy one-qubit jobs of 16 shots on ``fake_manila``'s noise, one after
  another (what a service worker computes for small jobs);
- ``gates16``: a 16-qubit random circuit of depth 200, ideal, 100 shots (many short
  gate-parallel sections back to back);
- ``gates20``: a 20-qubit random circuit of depth 40, ideal, 100 shots.

    python benchmarks/openmp_spin.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

SHORT_SPIN = "10000"
KEYS = ("wall", "cpu")

#: Run in a fresh interpreter: prints {"wall": s, "cpu": s} for one workload.
_CHILD = r"""
import json, sys, time
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.random import random_circuit
from qiskit_aer import AerSimulator

name = sys.argv[1]
if name == "small":
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    simulator = AerSimulator.from_backend(FakeManilaV2(), max_parallel_threads=2)
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    circuit = transpile(circuit, simulator, initial_layout=[0], optimization_level=0)
    runs, shots = 60, 16
else:
    simulator = AerSimulator(method="statevector", max_parallel_threads=2)
    qubits, depth = (16, 200) if name == "gates16" else (20, 40)
    circuit = transpile(
        random_circuit(qubits, depth, measure=True, seed=3), simulator, optimization_level=0
    )
    runs, shots = 1, 100
simulator.run(circuit, shots=shots, seed_simulator=1).result()  # warm up
wall, cpu = time.perf_counter(), time.process_time()
for _ in range(runs):
    simulator.run(circuit, shots=shots, seed_simulator=1).result()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def measure(workload: str, spin: str | None) -> dict[str, float]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    if spin is not None:
        environment["GOMP_SPINCOUNT"] = spin
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, workload],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("workload | default wall / CPU s | short spin wall / CPU s | wall ratio | CPU ratio")
    for workload in ("small", "gates16", "gates20"):
        runs: dict[str | None, list[dict[str, float]]] = {None: [], SHORT_SPIN: []}
        for _ in range(args.repeats):  # taking turns, so a slow spell hits both
            for spin, found in runs.items():
                found.append(measure(workload, spin))
        default = {key: statistics.median(run[key] for run in runs[None]) for key in KEYS}
        short = {key: statistics.median(run[key] for run in runs[SHORT_SPIN]) for key in KEYS}
        print(
            f"{workload} | {default['wall']:.3f} / {default['cpu']:.3f} | "
            f"{short['wall']:.3f} / {short['cpu']:.3f} | "
            f"{short['wall'] / default['wall']:.2f}x | {short['cpu'] / default['cpu']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
