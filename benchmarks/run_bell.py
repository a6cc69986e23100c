"""Whole processes side by side: ``qrun bell.yaml`` against the same work written by hand.

(a) a script on ``qiskit_aer.primitives`` (QASM 3 load, preset pass manager, SamplerV2,
print counts), (a0) the same without a pass manager (the floor), and (b) a script on
qiskit-ibm-runtime's local mode (SamplerV2 on AerSimulator inside a ``Session``). Each is
run N times; the best wall time counts.

    python benchmarks/run_bell.py [N]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELL = ROOT / "spec" / "examples" / "bell.yaml"

QASM = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""

AER_SCRIPT = f"""
from qiskit import qasm3
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2

circuit = qasm3.loads({QASM!r})
backend = AerSimulator()
isa = generate_preset_pass_manager(1, backend=backend, seed_transpiler=7).run(circuit)
sampler = SamplerV2(seed=1234, default_shots=4096)
print(sampler.run([isa]).result()[0].data.c.get_counts())
"""

# The floor: no pass manager at all (Aer runs h, cx and measure as they are). Hand-written
# code that transpiles pays for every installed transpiler plugin, qiskit_ibm_runtime's
# included, which qrun avoids; this line shows what is left when nobody pays it.
AER_NO_TRANSPILE_SCRIPT = f"""
from qiskit import qasm3
from qiskit_aer.primitives import SamplerV2

circuit = qasm3.loads({QASM!r})
sampler = SamplerV2(seed=1234, default_shots=4096)
print(sampler.run([circuit]).result()[0].data.c.get_counts())
"""

RUNTIME_LOCAL_SCRIPT = f"""
from qiskit import qasm3
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime import SamplerV2, Session

circuit = qasm3.loads({QASM!r})
backend = AerSimulator()
isa = generate_preset_pass_manager(1, backend=backend, seed_transpiler=7).run(circuit)
with Session(backend=backend) as session:
    sampler = SamplerV2(mode=session)
    sampler.options.default_shots = 4096
    sampler.options.simulator.seed_simulator = 1234
    print(sampler.run([isa]).result()[0].data.c.get_counts())
"""


def best_of(command: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as folder:
        # the record folder is the same each time; qrun overwrites its files
        qrun = [sys.executable, "-m", "qrun", str(BELL), "-o", str(Path(folder) / "run")]
        times = {
            "qrun bell.yaml": best_of(qrun, runs),
            "(a) qiskit_aer.primitives script": best_of([sys.executable, "-c", AER_SCRIPT], runs),
            "(a0) the same, without transpiling": best_of(
                [sys.executable, "-c", AER_NO_TRANSPILE_SCRIPT], runs
            ),
            "(b) qiskit-ibm-runtime local mode script": best_of(
                [sys.executable, "-c", RUNTIME_LOCAL_SCRIPT], runs
            ),
        }
    reference = times["(a) qiskit_aer.primitives script"]
    print(f"best of {runs} whole-process runs")
    for name, seconds in times.items():
        print(f"  {name:<42} {seconds:6.3f} s   ratio to (a): {seconds / reference:5.2f}")


if __name__ == "__main__":
    main()
