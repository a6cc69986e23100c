"""A utility-scale local run: circuits transpiled for a 127-qubit fake backend, three ways.

(q)   ``qrun run`` of a manifest on ``fake_sherbrooke``: the ISA circuit is simulated on
      the qubits it touches, with their noise, by the method qrun picks.
(full) a hand-written script that simulates the same transpiled circuit on the whole
      device: ``AerSimulator.from_backend(fake_sherbrooke)`` and Aer's ``SamplerV2``.
(act) the same script on the active qubits only: the circuit reduced by hand and a noise
      model built for those qubits (the floor of what qrun does).

Workloads: a 10-qubit GHZ, a 10-qubit kicked Ising chain (4 steps of RX kicks and RZZ
bonds), both with 1,000 shots, and a 40-qubit GHZ with 100 shots, which a state vector
cannot hold (16 TiB): there the whole-device script is expected to fail, and qrun
simulates a matrix product state.

Every side is a whole process (imports, fake backend, transpiling, simulating, printing
counts), bounded by a timeout and an address-space cap; each runs once untimed, then all
take turns N times. The median wall time counts; ratios are against (q).

    python benchmarks/utility_local.py [N] [--timeout SECONDS] [--memory-gib GIB]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QRUN = [str(Path(sys.executable).with_name("qrun"))]
BACKEND = "fake_sherbrooke"


def _ghz(width: int) -> str:
    lines = ["h q[0];"] + [f"cx q[{i}], q[{i + 1}];" for i in range(width - 1)]
    return "\n".join(lines)


def _kicked_ising(width: int, steps: int) -> str:
    lines = ["gate rzz(t) a, b { cx a, b; rz(t) b; cx a, b; }"]  # not in stdgates.inc
    for _ in range(steps):
        lines += [f"rx(0.7) q[{i}];" for i in range(width)]
        lines += [f"rzz(-1.5707963267948966) q[{i}], q[{i + 1}];" for i in range(0, width - 1, 2)]
        lines += [f"rzz(-1.5707963267948966) q[{i}], q[{i + 1}];" for i in range(1, width - 1, 2)]
    return "\n".join(lines)


#: name -> (qubits, OpenQASM body, shots)
WORKLOADS = {
    "ghz-10": (10, _ghz(10), 1000),
    "kicked-ising-10": (10, _kicked_ising(10, 4), 1000),
    "ghz-40": (40, _ghz(40), 100),
}


def _qasm(width: int, body: str) -> str:
    return f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[{width}] q;\n{body}\n'


def _manifest(name: str, width: int, body: str, shots: int) -> str:
    block = "\n".join("      " + line for line in _qasm(width, body).splitlines())
    return f"""qrun: 1
metadata: {{name: {name}}}
backend: {{name: {BACKEND}}}
transpile: {{optimization_level: 1, seed: 7}}
circuits:
  main:
    qasm: |
{block}
    measure_all: true
primitives:
  - sampler:
    name: counts
    options: {{default_shots: {shots}, seed_simulator: 11}}
    pubs:
      - circuit: main
"""


_PREAMBLE = """
import warnings
warnings.simplefilter("ignore")
from qiskit import qasm3
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2

fake = FakeProviderForBackendV2().backend({backend!r})
circuit = qasm3.loads({qasm!r})
circuit.measure_all()
isa = generate_preset_pass_manager(1, backend=fake, seed_transpiler=7).run(circuit)
"""

FULL_SCRIPT = (
    _PREAMBLE
    + """
simulator = AerSimulator.from_backend(fake)
result = SamplerV2.from_backend(simulator, seed=11).run([isa], shots={shots}).result()
print(len(result[0].data.meas.get_counts()), "outcomes")
"""
)

ACTIVE_SCRIPT = (
    _PREAMBLE
    + """
from types import SimpleNamespace
from qiskit.circuit import QuantumCircuit
from qiskit.transpiler import Target
from qiskit_aer.noise import NoiseModel

active = sorted({{isa.find_bit(q).index for i in isa.data if i.operation.name != "barrier"
                  for q in i.qubits}})
where = {{old: new for new, old in enumerate(active)}}
small = QuantumCircuit(len(active))
for creg in isa.cregs:
    small.add_register(creg)
for i in isa.data:
    kept = [small.qubits[where[isa.find_bit(q).index]] for q in i.qubits
            if isa.find_bit(q).index in where]
    if kept:
        small.append(i.operation if len(kept) == len(i.qubits) else type(i.operation)(len(kept)),
                     kept, i.clbits)
full = fake.target
sub = Target(num_qubits=len(active), dt=full.dt,
             qubit_properties=[full.qubit_properties[q] for q in active])
for name in full.operation_names:
    entries = full[name]
    if entries is None or None in entries:
        sub.add_instruction(full.operation_from_name(name), name=name)
        continue
    kept = {{tuple(where[q] for q in qargs): p for qargs, p in entries.items()
            if all(q in where for q in qargs)}}
    if kept:
        sub.add_instruction(full.operation_from_name(name), kept, name=name)
device = SimpleNamespace(version=2, target=sub, operation_names=list(sub.operation_names),
                         dt=full.dt)
method = "automatic" if len(active) <= 28 else "matrix_product_state"
simulator = AerSimulator(noise_model=NoiseModel.from_backend(device), method=method)
result = SamplerV2.from_backend(simulator, seed=11).run([small], shots={shots}).result()
print(len(result[0].data.meas.get_counts()), "outcomes")
"""
)


def _limit(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _time(command: list[str], timeout: float, memory: int) -> tuple[float | None, str]:
    """Wall seconds of one run (None if it failed or timed out) and what it said."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=lambda: _limit(memory),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or [""]
        return None, f"exit {done.returncode}: {lines[-1][:140]}"
    return elapsed, done.stdout.strip().splitlines()[-1][:80] if done.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--memory-gib", type=float, default=8.0)
    parser.add_argument("--only", choices=sorted(WORKLOADS))
    args = parser.parse_args()
    memory = int(args.memory_gib * 2**30)
    print(
        f"backend {BACKEND}; {args.repeats} repeats after one untimed run; timeout "
        f"{args.timeout:.0f} s and {args.memory_gib:g} GiB address space per process"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name, (width, body, shots) in WORKLOADS.items():
            if args.only and name != args.only:
                continue
            manifest = folder / f"{name}.yaml"
            manifest.write_text(_manifest(name, width, body, shots))
            fill = {"backend": BACKEND, "qasm": _qasm(width, body), "shots": shots}
            sides = {
                "qrun": [*QRUN, "run", str(manifest), "-o", str(folder / "record")],
                "full device": [sys.executable, "-c", FULL_SCRIPT.format(**fill)],
                "active qubits": [sys.executable, "-c", ACTIVE_SCRIPT.format(**fill)],
            }
            times: dict[str, list[float]] = {side: [] for side in sides}
            failures: dict[str, str] = {}
            for turn in range(args.repeats + 1):
                for side, command in sides.items():
                    if side in failures:
                        continue
                    if side == "qrun":
                        subprocess.run(["rm", "-rf", str(folder / "record")], check=False)
                    elapsed, said = _time(command, args.timeout, memory)
                    if elapsed is None:
                        failures[side] = said
                    elif turn > 0:
                        times[side].append(elapsed)
            print(f"\n{name}: {width} logical qubits, {shots} shots")
            base = statistics.median(times["qrun"]) if times["qrun"] else None
            for side in sides:
                if side in failures:
                    print(f"  {side:14s} failed: {failures[side]}")
                    continue
                median = statistics.median(times[side])
                ratio = f"{median / base:6.2f}x qrun" if base else ""
                spread = f"{min(times[side]):.2f}-{max(times[side]):.2f}"
                print(f"  {side:14s} median {median:7.2f} s  (range {spread} s)  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
