"""Engine overhead: 200 sequential small estimator jobs, qrun's engine vs. Aer directly.

Both sides run the same PUB (a two-qubit Bell circuit, ⟨ZZ⟩, precision 1/64) on
``qiskit_aer.primitives.EstimatorV2``; the engine adds its queue, job bookkeeping and a
worker thread, but skips the thread Aer's ``run()`` starts per call. A third row times the
bare computation (no job object, no thread), so the engine's own cost is visible too.
Rounds alternate so drift hits every side alike.

    python benchmarks/engine_overhead.py [--jobs 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING

from qiskit import QuantumCircuit
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2

from qrun.clock import SystemClock
from qrun.engine import Engine
from qrun.manifest.model import JobOptions

if TYPE_CHECKING:
    from collections.abc import Callable

PRECISION = 1 / 64


def bell_pub() -> tuple[QuantumCircuit, SparsePauliOp]:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit, SparsePauliOp("ZZ")


def time_jobs(run_one: Callable[[], float], jobs: int) -> list[float]:
    """Seconds each of ``jobs`` sequential calls takes."""
    times = []
    for _ in range(jobs):
        start = time.perf_counter()
        value = run_one()
        times.append(time.perf_counter() - start)
        assert abs(value - 1.0) < 0.1, value
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    pub = bell_pub()
    direct = EstimatorV2(options={"default_precision": PRECISION})
    engine = Engine(SystemClock())
    options = JobOptions(default_precision=PRECISION)

    def run_direct() -> float:
        return float(direct.run([pub]).result()[0].data.evs)

    def run_engine() -> float:
        job = engine.submit("estimator", [pub], backend="aer", options=options)
        return float(job.result()[0].data.evs)

    coerced = [EstimatorPub.coerce(pub, PRECISION)]

    def run_bare() -> float:
        return float(direct._run(coerced)[0].data.evs)

    for warm_up in (run_direct, run_engine, run_bare):  # imports, caches
        time_jobs(warm_up, 20)
    direct_times: list[float] = []
    engine_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(args.rounds):
        direct_times += time_jobs(run_direct, args.jobs)
        engine_times += time_jobs(run_engine, args.jobs)
        bare_times += time_jobs(run_bare, args.jobs)
    engine.shutdown()

    print(f"{args.rounds} rounds x {args.jobs} sequential estimator jobs (Bell, <ZZ>)")
    print(f"{'':24}{'mean ms':>10}{'median ms':>12}{'total s/round':>16}")
    rows = (
        ("aer EstimatorV2.run", direct_times),
        ("qrun engine (aer)", engine_times),
        ("aer computation only", bare_times),
    )
    for name, times in rows:
        print(
            f"{name:24}{1e3 * statistics.fmean(times):10.3f}"
            f"{1e3 * statistics.median(times):12.3f}{sum(times) / args.rounds:16.3f}"
        )
    ratio = statistics.fmean(engine_times) / statistics.fmean(direct_times)
    median_ratio = statistics.median(engine_times) / statistics.median(direct_times)
    print(f"ratio engine/direct: mean {ratio:.3f}, median {median_ratio:.3f}")
    print(f"overhead: {100 * (ratio - 1):+.1f}% (target < 10%)")
    bare = statistics.fmean(engine_times) / statistics.fmean(bare_times)
    print(f"ratio engine/bare computation: mean {bare:.3f}")


if __name__ == "__main__":
    main()
