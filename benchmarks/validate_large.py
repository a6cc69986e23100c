"""How fast ``qrun validate`` is, next to check-jsonschema and the bare C YAML parser.

Generates a manifest with 10,000 PUBs in a temporary folder and times, best of a few
runs each: qrun's ``check()`` in process, ``qrun validate`` as a whole process,
``check-jsonschema --schemafile`` on the same file, and the floor every YAML tool pays,
``yaml.load(text, Loader=yaml.CSafeLoader)``. Also ``qrun validate bell.yaml`` as a
whole process. Prints a table and the ratios the project targets:
qrun in process ≤ 1.3× the floor, ≥ 5× faster than check-jsonschema, small file < 0.2 s.

    python benchmarks/validate_large.py [--pubs 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from qrun.manifest.load import check

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "spec" / "manifest.schema.json"
BELL = ROOT / "spec" / "examples" / "bell.yaml"


def manifest_text(pubs: int) -> str:
    """A valid manifest: two circuits, two observables, ``pubs`` PUBs over two primitives."""
    head = """\
# yaml-language-server: $schema=manifest.schema.json
qrun: 1
metadata:
  name: large
backend:
  name: aer
execution:
  mode: batch
  max_time: 2h
circuits:
  bell:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      qubit[2] q;
      h q[0];
      cx q[0], q[1];
  rotation:
    library: real_amplitudes
    args: {num_qubits: 2, reps: 1}
observables:
  zz: {ZZ: 1.0}
  xx: [[XX, 1.0]]
primitives:
  - sampler:
    name: counts
    options:
      default_shots: 1024
    pubs:
"""
    sampler_pub = (
        "      - circuit: rotation\n"
        "        parameter_values: [{a}.5, 0.25, 1.0, 2.0]\n"
        "        shots: {shots}\n"
    )
    estimator_pub = (
        "      - circuit: rotation\n"
        "        observables: [zz, xx]\n"
        "        parameter_values: [0.{a}, 0.5, 1.5, 2.5]\n"
        "        precision: 0.02\n"
    )
    lines = [head]
    half = pubs // 2
    lines += [sampler_pub.format(a=i % 7, shots=100 + i % 50) for i in range(half)]
    lines.append("  - estimator:\n    name: energies\n    pubs:\n")
    lines += [estimator_pub.format(a=i % 10) for i in range(pubs - half)]
    return "".join(lines)


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def process(*argv: str) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(argv, capture_output=True, check=False)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    bindir = Path(sys.executable).parent
    qrun = str(bindir / "qrun")
    check_jsonschema = shutil.which("check-jsonschema", path=str(bindir)) or "check-jsonschema"

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.yaml"
        text = manifest_text(options.pubs)
        path.write_text(text, "utf-8")
        issues = check(path)
        if issues:
            print("\n".join(map(str, issues[:5])))
            return 1
        reference = subprocess.run(
            [check_jsonschema, "--schemafile", str(SCHEMA), str(path)],
            capture_output=True,
            check=False,
        )
        if reference.returncode != 0:
            print(reference.stdout.decode(), reference.stderr.decode())
            return 1

        rows = {
            "yaml.load CSafeLoader (floor)": best(
                lambda: yaml.load(text, Loader=yaml.CSafeLoader), options.repeat
            ),
            "qrun check() in process": best(lambda: check(path), options.repeat),
            "qrun validate (process)": best(process(qrun, "validate", str(path)), options.repeat),
            "check-jsonschema (process)": best(
                process(check_jsonschema, "--schemafile", str(SCHEMA), str(path)),
                max(2, options.repeat // 2),
            ),
            "qrun validate bell.yaml (process)": best(
                process(qrun, "validate", str(BELL)), options.repeat
            ),
            "python -c pass (process floor)": best(
                process(sys.executable, "-c", "pass"), options.repeat
            ),
        }
    size = len(text.encode()) / 1024
    print(f"manifest: {options.pubs} PUBs, {size:.0f} KiB; best of {options.repeat}\n")
    width = max(map(len, rows))
    for name, seconds in rows.items():
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")
    floor = rows["yaml.load CSafeLoader (floor)"]
    ours = rows["qrun check() in process"]
    versus = rows["check-jsonschema (process)"] / rows["qrun validate (process)"]
    small = rows["qrun validate bell.yaml (process)"] * 1000
    print()
    print(f"  qrun in process / C-parser floor        {ours / floor:5.2f}x  (target <= 1.3x)")
    print(f"  check-jsonschema / qrun validate        {versus:5.2f}x  (target >= 5x)")
    print(f"  qrun validate bell.yaml, whole process  {small:5.0f} ms (target < 200 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
