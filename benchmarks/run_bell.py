"""Whole processes side by side: ``qrun bell.yaml`` against the same work written by hand.

(a) a script on ``qiskit_aer.primitives`` (QASM 3 load, preset pass manager, SamplerV2,
print counts), (a0) the same without a pass manager (the floor), and (b) a script on
qiskit-ibm-runtime's local mode (SamplerV2 on AerSimulator inside a ``Session``).

Each command runs once untimed (so every side starts with its bytecode compiled, as after
``pip install``), then all of them take turns N times, so that a busy moment of the
machine falls on every side alike. The median wall time counts; CPU time (user + system)
is shown beside it. qrun's target is at most 1.25x the floor (a0).

    python benchmarks/run_bell.py [N]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELL = ROOT / "spec" / "examples" / "bell.yaml"
TARGET = 1.25  # qrun bell.yaml against the floor (a0)

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

QRUN = "qrun bell.yaml"
AER = "(a) qiskit_aer.primitives script"
FLOOR = "(a0) the same, without transpiling"
RUNTIME = "(b) qiskit-ibm-runtime local mode script"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    # Bytecode is written as an installed package has it; the first run of each is untimed.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as folder:
        # the record folder is the same each time; qrun overwrites its files
        commands = {
            QRUN: [sys.executable, "-m", "qrun", str(BELL), "-o", str(Path(folder) / "run")],
            AER: [sys.executable, "-c", AER_SCRIPT],
            FLOOR: [sys.executable, "-c", AER_NO_TRANSPILE_SCRIPT],
            RUNTIME: [sys.executable, "-c", RUNTIME_LOCAL_SCRIPT],
        }
        for command in commands.values():
            timed(command, environment)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                wall, cpu = timed(command, environment)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"median of {runs} whole-process runs each, taking turns")
    print(f"  {'':<42} {'wall':>8} {'CPU':>8}   {'÷ (a)':>6} {'÷ (a0)':>7}")
    for name in commands:
        print(
            f"  {name:<42} {wall[name]:6.3f} s {cpu[name]:6.3f} s   "
            f"{wall[name] / wall[AER]:6.2f} {wall[name] / wall[FLOOR]:7.2f}"
        )
    ratio = wall[QRUN] / wall[FLOOR]
    verdict = "within" if ratio <= TARGET else "above"
    print(f"qrun ÷ (a0): {ratio:.2f}x wall ({verdict} the {TARGET}x target), ", end="")
    print(f"{cpu[QRUN] / cpu[FLOOR]:.2f}x CPU")


if __name__ == "__main__":
    main()
