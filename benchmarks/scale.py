"""Where jobs compute: a 200-job noisy sweep in process, on a process pool and on Ray.

One generated batch-mode manifest of ``--jobs`` sampler jobs on ``aer`` with a fake
device's noise (``backend.options.noise_model``), each job with its own seed and
parameter values, is run by ``run_manifest`` with ``--compute local``, ``processes`` and
``ray`` (a Ray head started once on this machine, its start not timed), taking turns,
``--repeat`` times; the median is printed. For each: the whole run (plan, session, jobs,
record), the jobs' span (first submission to last job's end, from ``run.json``), jobs per
second over that span, and overhead per job: the span less the same jobs hand-written on
the same compute, divided by the jobs. The hand-written code runs the same transpiled
circuit, noise model, parameter values, shots and seeds with ``qiskit_aer`` directly: a
thread pool, a process pool (circuit and noise model sent once per process), and Ray
tasks (circuit and noise model put into the object store once and read once per worker,
a simulator cached per worker). The target: qrun on Ray within 1.2x of the hand-written Ray code.

    python benchmarks/scale.py [--jobs 200] [--repeat 3] [--shots 1024] [--device fake_manila]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qrun.compute import Compute
from qrun.compute.cluster import local_head
from qrun.manifest.load import load_manifest
from qrun.run.pipeline import run_manifest

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from qiskit import QuantumCircuit
    from qiskit_aer.noise import NoiseModel

Job = tuple[list[float], int]  # parameter values, seed


def sweep(folder: Path, jobs: int, shots: int, device: str) -> tuple[Path, list[Job]]:
    rng = random.Random(5)
    lines = [
        "qrun: 1",
        "metadata: {name: scale}",
        f"backend: {{name: aer, options: {{noise_model: {device}}}}}",
        "execution: {mode: batch, max_time: 1h}",
        "transpile: {optimization_level: 1, seed: 7}",
        "circuits:",
        "  rotations:",
        "    {library: real_amplitudes, args: {num_qubits: 4, reps: 2}, measure_all: true}",
        "primitives:",
    ]
    work: list[Job] = []
    for index in range(jobs):
        values = [round(rng.uniform(0, 3.14159), 6) for _ in range(12)]
        work.append((values, 1000 + index))
        lines += [
            "  - sampler:",
            f"    name: job-{index:03d}",
            f"    options: {{default_shots: {shots}, seed_simulator: {1000 + index}}}",
            f"    pubs: [{{circuit: rotations, parameter_values: {values}}}]",
        ]
    path = folder / "scale.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, work


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def time_qrun(manifest: Path, compute: Compute, output: Path) -> tuple[float, float]:
    """(whole run, jobs' span) in seconds."""
    loaded = load_manifest(manifest)
    start = time.perf_counter()
    report = run_manifest(loaded, output=output, compute=compute)
    whole = time.perf_counter() - start
    assert not report.outcome.failed, report.outcome.failed[:1]
    run = json.loads((output / "run.json").read_text())
    submitted = min(_seconds(job["submitted_at"]) for job in run["jobs"])
    finished = max(_seconds(job["finished_at"]) for job in run["jobs"])
    return whole, finished - submitted


# ----------------------------------------------------------------- the hand-written code

_simulators: dict[int, tuple[object, object]] = {}
_shared: dict[str, object] = {}


def _simulator(noise: NoiseModel) -> object:
    """One simulator per noise model per process (kept alive with it)."""
    from qiskit_aer import AerSimulator

    found = _simulators.get(id(noise))
    if found is None or found[0] is not noise:
        found = _simulators[id(noise)] = (noise, AerSimulator(noise_model=noise))
    return found[1]


def aer_job(circuit: QuantumCircuit, noise: NoiseModel, job: Job, shots: int) -> int:
    from qiskit_aer.primitives import SamplerV2

    values, seed = job
    sampler = SamplerV2.from_backend(_simulator(noise), seed=seed)
    result = sampler.run([(circuit, values, shots)]).result()
    return sum(result[0].data.meas.get_counts().values())


def _process_start(circuit: QuantumCircuit, noise: NoiseModel) -> None:
    _shared["circuit"], _shared["noise"] = circuit, noise


def _process_job(job: Job, shots: int) -> int:
    return aer_job(_shared["circuit"], _shared["noise"], job, shots)  # type: ignore[arg-type]


def prepared(device: str) -> tuple[QuantumCircuit, NoiseModel]:
    from qiskit import transpile
    from qiskit.circuit.library import real_amplitudes
    from qiskit_aer.noise import NoiseModel

    backend = _fake(device)
    circuit = real_amplitudes(4, reps=2)
    circuit.measure_all()
    isa = transpile(circuit, backend=backend, optimization_level=1, seed_transpiler=7)
    return isa, NoiseModel.from_backend(backend)


def _fake(device: str) -> object:
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    return FakeProviderForBackendV2().backend(device)


def hand_threads(
    circuit: QuantumCircuit, noise: NoiseModel, work: Sequence[Job], shots: int
) -> float:
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor() as pool:
        list(pool.map(lambda job: aer_job(circuit, noise, job, shots), work))
    return time.perf_counter() - start


def hand_processes(
    circuit: QuantumCircuit, noise: NoiseModel, work: Sequence[Job], shots: int
) -> float:
    with concurrent.futures.ProcessPoolExecutor(
        os.cpu_count(), initializer=_process_start, initargs=(circuit, noise)
    ) as pool:
        list(pool.map(int, range(os.cpu_count() or 1)))  # processes started, not timed
        start = time.perf_counter()
        list(pool.map(_process_job, work, [shots] * len(work)))
        return time.perf_counter() - start


def _ray_job(shared: list[object], job: Job, shots: int) -> int:
    """A Ray task: the circuit and noise model read from the store once per worker."""
    import ray

    key = shared[0].hex()  # type: ignore[attr-defined]
    if key not in _shared:
        _shared[key] = ray.get(shared)
    circuit, noise = _shared[key]  # type: ignore[misc]
    return aer_job(circuit, noise, job, shots)


def hand_ray(circuit: QuantumCircuit, noise: NoiseModel, work: Sequence[Job], shots: int) -> float:
    import ray

    task = ray.remote(num_cpus=1)(_ray_job)
    start = time.perf_counter()
    shared = [ray.put(circuit), ray.put(noise)]  # nested in a list: not resolved per task
    ray.get([task.remote(shared, job, shots) for job in work])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--device", default="fake_manila")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="qrun-scale-"))
    manifest, work = sweep(folder, args.jobs, args.shots, args.device)
    circuit, noise = prepared(args.device)
    started = time.perf_counter()
    with local_head() as address:
        head = time.perf_counter() - started
        print(f"Ray head on {address} started in {head:.1f} s ({os.cpu_count()} CPUs); ")
        print(f"{args.jobs} jobs of {args.shots} shots with {args.device}'s noise on aer")
        computes = [Compute("local"), Compute("processes"), Compute("ray", address)]
        hand: dict[str, Callable[[QuantumCircuit, NoiseModel, Sequence[Job], int], float]] = {
            "local": hand_threads,
            "processes": hand_processes,
            "ray": hand_ray,
        }
        hand_ray(circuit, noise, work[:4], args.shots)  # Ray workers started, not timed
        qrun: dict[str, list[tuple[float, float]]] = {compute.kind: [] for compute in computes}
        written: dict[str, list[float]] = {compute.kind: [] for compute in computes}
        for repeat in range(args.repeat):
            for compute in computes:
                output = folder / f"{compute.kind}-{repeat}"
                qrun[compute.kind].append(time_qrun(manifest, compute, output))
                written[compute.kind].append(hand[compute.kind](circuit, noise, work, args.shots))
                whole, span = qrun[compute.kind][-1]
                hand_span = written[compute.kind][-1]
                print(
                    f"  repeat {repeat + 1} {compute.kind:<9}: run {whole:6.2f} s, "
                    f"jobs {span:6.2f} s; hand-written {hand_span:6.2f} s"
                )
    print()
    print(
        f"{'compute':<10} {'run (s)':>8} {'jobs (s)':>9} {'jobs/s':>7} "
        f"{'hand (s)':>9} {'overhead/job':>13} {'ratio':>6}"
    )
    for kind, times in qrun.items():
        whole = statistics.median(t[0] for t in times)
        span = statistics.median(t[1] for t in times)
        hand_span = statistics.median(written[kind])
        overhead = (span - hand_span) / args.jobs * 1000
        print(
            f"{kind:<10} {whole:8.2f} {span:9.2f} {args.jobs / span:7.1f} "
            f"{hand_span:9.2f} {overhead:10.2f} ms {span / hand_span:5.2f}x"
        )


if __name__ == "__main__":
    main()
