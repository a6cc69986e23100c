"""How fast ``qrun fmt --check`` is over many manifests, next to ruamel.yaml alone.

Writes ``--files`` manifests (the examples of ``spec/examples/``, each copied with its own
name, seed and shots, and ``ghz.qasm`` beside them) into a temporary folder, then times,
taking turns, the median of ``--repeat`` runs of:

* ``qrun fmt --check`` over all of them as one whole process (start-up, imports,
  validation, layout, comparison; one worker process per core);
* the same check with ruamel.yaml alone in one process: load each file with the round-trip
  loader, dump it and compare with the text (no validation, no key order);
* ruamel.yaml alone on every core: the files split evenly over one such process per core,
  started together: the floor for any formatter built on its round trip.

Prints the medians, the time per 100 files and the ratios. The project's target:
``qrun fmt --check`` ≤ 0.5 s per 100 files on 2 cores.

    python benchmarks/fmt_check.py [--files 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "spec" / "examples"
QRUN = Path(sys.executable).with_name("qrun")

RUAMEL_ALONE = """
import io, sys
from ruamel.yaml import YAML
yaml = YAML()
yaml.indent(mapping=2, sequence=4, offset=2)
yaml.width = 4096
changed = 0
for name in sys.argv[1:]:
    with open(name, encoding="utf-8") as stream:
        text = stream.read()
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    changed += out.getvalue() != text
print(changed)
"""


def write_manifests(folder: Path, count: int) -> list[str]:
    """``count`` valid manifests in ``folder``, cycling through the examples."""
    examples = sorted(path for path in EXAMPLES.glob("*.yaml"))
    shutil.copy(EXAMPLES / "ghz.qasm", folder / "ghz.qasm")
    files = []
    for index in range(count):
        source = examples[index % len(examples)]
        text = source.read_text(encoding="utf-8").replace(
            "$schema=../manifest.schema.json", f"$schema={ROOT / 'spec' / 'manifest.schema.json'}"
        )
        text = text.replace("seed_simulator: ", f"seed_simulator: {index + 1}")
        target = folder / f"{index:04d}-{source.name}"
        target.write_text(text, encoding="utf-8")
        files.append(str(target))
    return files


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def timed_together(commands: list[list[str]]) -> float:
    """Seconds until every one of ``commands``, started at once, has ended."""
    start = time.perf_counter()
    running = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    for process in running:
        process.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = write_manifests(Path(scratch), args.files)
        qrun_command = [str(QRUN), "fmt", "--check", *files]
        ruamel_command = [sys.executable, "-c", RUAMEL_ALONE, *files]
        first = subprocess.run(qrun_command, capture_output=True, text=True, check=False)
        if first.returncode != 0:
            raise SystemExit(f"the generated manifests are not canonical:\n{first.stderr}")
        cores = os.cpu_count() or 1
        slices = [files[index::cores] for index in range(cores)]
        split = [[sys.executable, "-c", RUAMEL_ALONE, *part] for part in slices]
        qrun_times, ruamel_times, floor_times = [], [], []
        for _ in range(args.repeat):
            qrun_times.append(timed(qrun_command))
            ruamel_times.append(timed(ruamel_command))
            floor_times.append(timed_together(split))
    qrun_median = statistics.median(qrun_times)
    ruamel_median = statistics.median(ruamel_times)
    floor_median = statistics.median(floor_times)
    per_100 = qrun_median / args.files * 100
    print(f"{args.files} manifests, median of {args.repeat} whole-process runs, taking turns")
    print(f"  qrun fmt --check           {qrun_median:7.2f} s   ({per_100:.3f} s per 100 files)")
    print(f"  ruamel.yaml load+dump+cmp  {ruamel_median:7.2f} s")
    print(
        f"  ruamel.yaml on {cores} cores     {floor_median:7.2f} s   "
        f"({floor_median / args.files * 100:.3f} s per 100 files)"
    )
    print(f"  ratio qrun / ruamel alone  {qrun_median / ruamel_median:.2f}x")
    print(f"  ratio qrun / ruamel on {cores} cores {qrun_median / floor_median:.2f}x")
    print(f"  target <= 0.5 s per 100 files: {'met' if per_100 <= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
