"""Many manifests side by side: ``qrun run DIR -j P`` against the same runs started by hand.

Twenty small seeded Bell manifests (the example with 32 shots) in a folder, run

(q) by ``qrun run DIR --max-parallel P -o OUT`` (one ``qrun run`` process per manifest,
    the summary at the end), and
(h) by hand: ``P`` threads each starting ``python -m qrun run FILE -o OUT/NAME`` processes
    one after another, as ``xargs -P P -n 1 qrun run`` would (no summary, no signal
    handling),

for P = 1 and 2. Every command runs once untimed, then they take turns N times so that a
busy moment of the machine falls on every side alike; the median wall time counts. The
target: (q) within 1.05x of (h), the parent's own cost (its start, finding the
manifests, the summary) being small beside twenty runs.

    python benchmarks/many.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELL = ROOT / "spec" / "examples" / "bell.yaml"
MANIFESTS = 20
TARGET = 1.05


def _manifests(folder: Path) -> list[Path]:
    text = BELL.read_text(encoding="utf-8")
    paths = []
    for number in range(MANIFESTS):
        path = folder / f"bell-{number:02}.yaml"
        path.write_text(
            text.replace("name: bell", f"name: bell-{number:02}", 1)
            .replace("default_shots: 4096", "default_shots: 32")
            .replace("seed_simulator: 1234", f"seed_simulator: {number}"),
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def _qrun(folder: Path, out: Path, parallel: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "qrun", "run", str(folder), "-j", str(parallel), "-o", str(out)],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _by_hand(manifests: list[Path], out: Path, parallel: int) -> None:
    def one(manifest: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "qrun", "run", str(manifest), "-o", str(out / manifest.stem)],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, manifests))


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "studies"
        folder.mkdir()
        manifests = _manifests(folder)
        sides = {}
        for parallel in (1, 2):
            sides[f"qrun run DIR -j {parallel}"] = lambda out, p=parallel: _qrun(folder, out, p)
            sides[f"by hand, {parallel} at once"] = lambda out, p=parallel: _by_hand(
                manifests, out, p
            )
        times: dict[str, list[float]] = {name: [] for name in sides}
        for turn in range(repeats + 1):
            for name, side in sides.items():
                out = Path(scratch) / "out"
                started = time.perf_counter()
                side(out)
                took = time.perf_counter() - started
                records = len(list(out.glob("*/run.json")))
                assert records == MANIFESTS, f"{name}: {records} records"
                shutil.rmtree(out)
                if turn:  # the first turn is untimed
                    times[name].append(took)
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{MANIFESTS} Bell manifests, median of {repeats}:")
        for name, median in medians.items():
            print(f"  {name:<24} {median:6.2f} s  ({median / MANIFESTS * 1000:.0f} ms/manifest)")
        for parallel in (1, 2):
            ratio = medians[f"qrun run DIR -j {parallel}"] / medians[f"by hand, {parallel} at once"]
            verdict = "ok" if ratio <= TARGET else f"over the {TARGET}x target"
            print(f"  ratio at {parallel} at once: {ratio:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
