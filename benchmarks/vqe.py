"""The guide's VQE: a hand-written loop on raw Aer against qrun, and two optimisers
one after another against side by side.

Part 1, per-iteration cost: the guide's loop (``qiskit_aer.primitives.EstimatorV2`` +
``scipy.optimize.minimize`` COBYLA, 10,000 shots, the same seeded start and simulator
seed) against ``qrun`` running ``spec/examples/vqe.yaml``; time per cost evaluation
for both, over the optimisation itself (imports, transpilation and planning excluded
from both), best of N.

Part 2, concurrency: two equal COBYLA workloads (different starting points, own job
tags) in one session through qrun, ``execution.workloads: sequential`` against
``concurrent``; each timed as the whole run (``run_manifest``: plan, session, record)
and as the optimisation phase alone; every repeat is printed. For comparison, the
guide's thread pattern on raw Aer (the same two optimisations one after another, then
on a ``ThreadPoolExecutor``), and the same two raw-Aer loops in two processes of their
own: what this machine gives two independent processes, the ceiling for qrun.
Also the example ``vqe-two-optimizers.yaml`` (COBYLA with Nelder-Mead, unequal work).

How qrun runs concurrent workloads on the local provider: the channel's hosting
(``qrun.providers.forked``) forks a process for each optimiser, and the engine places each
workload's jobs in its process (``Work.place``). On ``aer``, which runs jobs side by side,
a process computes each job as soon as it has asked for it, while the parent submits it
and the engine schedules it; the parent only sends a short "started" token when the
engine starts the job, and the process answers its optimiser then. The parent ends and
records every job in the session (one reader thread per workload does that work as the
messages arrive), and reaps the ended processes when the provider shuts down, after the
record is written. What separates the ratio from 2x: two cores shared by three processes
(the parent's share of each evaluation still takes CPU time the workloads need, though
no longer on their path), the parts of a run that do not overlap (planning, forking,
writing the record), and whatever else runs on the machine. Each concurrent repeat
prints the CPU time of the parent and of the workload processes.

Every repeat is printed, then the ratio of the medians and of the best of each: the
machine may be shared, and a single repeat says little.

    python benchmarks/vqe.py [N]
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import numpy as np
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2
from scipy.optimize import minimize

from qrun.manifest.load import load_manifest
from qrun.run.pipeline import run_manifest

EXAMPLES = Path(str(files("qrun.spec") / "examples"))
HAMILTONIAN = [("YZ", 0.3980), ("ZI", -0.3980), ("ZZ", -0.0113), ("XX", 0.1810)]
SHOTS = 10_000
SEED_X0, SEED_SIMULATOR = 42, 42
SECOND_X0 = 7

TWO_COBYLA = """\
    qrun: 1
    metadata: {{name: two-cobyla}}
    backend: {{name: aer}}
    execution: {{mode: session, workloads: {schedule}}}
    transpile: {{optimization_level: 3}}
    circuits:
      ansatz: {{library: efficient_su2, args: {{num_qubits: 2}}}}
    observables:
      hamiltonian: {{YZ: 0.3980, ZI: -0.3980, ZZ: -0.0113, XX: 0.1810}}
    workloads:
      - name: first
        minimize: {{circuit: ansatz, observable: hamiltonian}}
        method: cobyla
        x0: {{random: {{seed: {first}, low: 0, high: 6.283185307179586}}}}
        maxiter: 200
        options: {{default_shots: 10000, seed_simulator: 1, environment: {{job_tags: [first]}}}}
      - name: second
        minimize: {{circuit: ansatz, observable: hamiltonian}}
        method: cobyla
        x0: {{random: {{seed: {second}, low: 0, high: 6.283185307179586}}}}
        maxiter: 200
        options: {{default_shots: 10000, seed_simulator: 2, environment: {{job_tags: [second]}}}}
"""


# ----------------------------------------------------------------- the guide, raw Aer


def guide_problem() -> tuple[object, SparsePauliOp]:
    hamiltonian = SparsePauliOp.from_list(HAMILTONIAN)
    manager = generate_preset_pass_manager(backend=AerSimulator(), optimization_level=3)
    ansatz = manager.run(efficient_su2(hamiltonian.num_qubits))
    return ansatz, hamiltonian.apply_layout(ansatz.layout)


def guide_minimize(
    ansatz: object, observable: SparsePauliOp, x0_seed: int, simulator_seed: int, method: str
) -> tuple[float, int, float]:
    """The guide's loop: (final cost, evaluations, seconds)."""
    estimator = EstimatorV2(
        options={
            "default_precision": 1 / np.sqrt(SHOTS),
            "run_options": {"seed_simulator": simulator_seed},
        }
    )

    def cost(params: np.ndarray) -> float:
        return float(estimator.run([(ansatz, observable, params)]).result()[0].data.evs)

    count = ansatz.num_parameters  # type: ignore[attr-defined]
    x0 = np.random.default_rng(x0_seed).uniform(0, 2 * np.pi, count)
    start = time.perf_counter()
    found = minimize(cost, x0, method=method, options={"maxiter": 200})
    return float(found.fun), int(found.nfev), time.perf_counter() - start


# ------------------------------------------------------------------------------- qrun


#: CPU seconds of this process and of its ended child processes, for the last qrun_run.
LAST_CPU: list[float] = [0.0, 0.0]


def _cpu() -> tuple[float, float]:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def qrun_run(path: Path, folder: Path) -> tuple[float, float, dict[str, tuple[float, int]]]:
    """(whole run seconds, optimisation-phase seconds, {workload: (final cost, jobs)})."""
    manifest = load_manifest(path)
    own, children = _cpu()
    start = time.perf_counter()
    report = run_manifest(manifest, output=folder)
    whole = time.perf_counter() - start
    own_after, children_after = _cpu()
    LAST_CPU[:] = [own_after - own, children_after - children]
    results = report.outcome.workload_results
    assert all(result.status == "DONE" for result in results.values()), results
    first = min(result.history[0].submitted for result in results.values())
    last = max(
        result.history[-1].submitted + result.history[-1].wall_time for result in results.values()
    )
    finals = {
        name: (float(result.energy or 0.0), len(result.history)) for name, result in results.items()
    }
    return whole, last - first, finals


def two_cobyla(folder: Path, schedule: str) -> Path:
    text = TWO_COBYLA.format(schedule=schedule, first=SEED_X0, second=SECOND_X0)
    file = folder / f"two-cobyla-{schedule}.yaml"
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"{os.cpu_count()} CPUs, best of {repeats}")
    ansatz, observable = guide_problem()
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        runs = iter(range(10_000))

        def record() -> Path:
            return scratch / f"run{next(runs)}"

        # Warm up both paths (imports, simulator caches, the worker fork server).
        guide_minimize(ansatz, observable, SEED_X0, SEED_SIMULATOR, "cobyla")
        qrun_run(EXAMPLES / "vqe.yaml", record())
        qrun_run(two_cobyla(scratch, "concurrent"), record())

        print("\n1. The guide's VQE (COBYLA, 10,000 shots, seeded start), per cost evaluation")
        raw = [guide_minimize(ansatz, observable, SEED_X0, SEED_SIMULATOR, "cobyla")]
        raw += [
            guide_minimize(ansatz, observable, SEED_X0, SEED_SIMULATOR, "cobyla")
            for _ in range(repeats - 1)
        ]
        raw_fun, raw_nfev, raw_seconds = min(raw, key=lambda item: item[2])
        ours = [qrun_run(EXAMPLES / "vqe.yaml", record()) for _ in range(repeats)]
        whole, phase, finals = min(ours, key=lambda item: item[1])
        (qrun_fun, qrun_jobs) = finals["vqe"]
        raw_each = raw_seconds / raw_nfev * 1e3
        qrun_each = phase / qrun_jobs * 1e3
        print(
            f"   hand-written loop on raw Aer: {raw_each:6.3f} ms/evaluation "
            f"({raw_nfev} evaluations, final {raw_fun:.5f})"
        )
        print(
            f"   qrun (one job per evaluation, in a session): {qrun_each:6.3f} ms/evaluation "
            f"({qrun_jobs} jobs, final {qrun_fun:.5f}; whole run {whole:.2f} s)"
        )
        print(
            f"   qrun per-evaluation overhead: {qrun_each - raw_each:+.3f} ms "
            f"({(qrun_each / raw_each - 1) * 100:+.1f} %), ratio raw/qrun "
            f"{raw_each / qrun_each:.2f}x"
        )

        print("\n2. Two equal COBYLA optimisations in one session")
        pairs = []
        cpu = []
        for _ in range(repeats):
            alone = qrun_run(two_cobyla(scratch, "sequential"), record())
            sequential_cpu = LAST_CPU[0]
            pairs.append((alone, qrun_run(two_cobyla(scratch, "concurrent"), record())))
            cpu.append((sequential_cpu, *LAST_CPU))
        for number, (sequential, concurrent) in enumerate(pairs, start=1):
            jobs = sum(jobs for _, jobs in concurrent[2].values())
            alone_cpu, parent_cpu, workers_cpu = cpu[number - 1]
            print(
                f"   repeat {number}: sequential {sequential[0]:.3f} s (optimisation "
                f"{sequential[1]:.3f} s), concurrent {concurrent[0]:.3f} s (optimisation "
                f"{concurrent[1]:.3f} s, {jobs} jobs): ratio whole run "
                f"{sequential[0] / concurrent[0]:.2f}x, optimisation phase "
                f"{sequential[1] / concurrent[1]:.2f}x; CPU sequential {alone_cpu:.2f} s, "
                f"concurrent {parent_cpu:.2f} s parent + {workers_cpu:.2f} s workload processes"
            )
        sequential = min((pair[0] for pair in pairs), key=lambda item: item[0])
        concurrent = min((pair[1] for pair in pairs), key=lambda item: item[0])
        print(
            f"   qrun concurrency ratio, best of each (sequential/concurrent): whole run "
            f"{sequential[0] / concurrent[0]:.2f}x, optimisation phase "
            f"{sequential[1] / concurrent[1]:.2f}x"
        )

        def median(side: int, part: int) -> float:
            return statistics.median(pair[side][part] for pair in pairs)

        print(
            f"   qrun concurrency ratio, medians (sequential {median(0, 0):.3f} s / "
            f"concurrent {median(1, 0):.3f} s): whole run {median(0, 0) / median(1, 0):.2f}x, "
            f"optimisation phase {median(0, 1) / median(1, 1):.2f}x"
        )

        def one_after_another() -> float:
            start = time.perf_counter()
            guide_minimize(ansatz, observable, SEED_X0, 1, "cobyla")
            guide_minimize(ansatz, observable, SECOND_X0, 2, "cobyla")
            return time.perf_counter() - start

        def threads() -> float:
            start = time.perf_counter()
            with ThreadPoolExecutor() as pool:
                first = pool.submit(guide_minimize, ansatz, observable, SEED_X0, 1, "cobyla")
                second = pool.submit(guide_minimize, ansatz, observable, SECOND_X0, 2, "cobyla")
                first.result(), second.result()
            return time.perf_counter() - start

        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(2, mp_context=context) as processes:

            def two_processes() -> float:
                start = time.perf_counter()
                first = processes.submit(guide_minimize, ansatz, observable, SEED_X0, 1, "cobyla")
                second = processes.submit(
                    guide_minimize, ansatz, observable, SECOND_X0, 2, "cobyla"
                )
                first.result(), second.result()
                return time.perf_counter() - start

            two_processes()  # start both processes and warm them up
            raw_processes = min(two_processes() for _ in range(repeats))
        raw_sequential = min(one_after_another() for _ in range(repeats))
        raw_threads = min(threads() for _ in range(repeats))
        print(
            f"   guide's thread pattern on raw Aer: one after another {raw_sequential:.3f} s, "
            f"threads {raw_threads:.3f} s, ratio {raw_sequential / raw_threads:.2f}x"
        )
        print(
            f"   raw Aer loops in two processes (no session, the machine's ceiling): "
            f"{raw_processes:.3f} s, ratio {raw_sequential / raw_processes:.2f}x"
        )

        print("\n3. vqe-two-optimizers.yaml (COBYLA and Nelder-Mead: unequal work)")
        example = EXAMPLES / "vqe-two-optimizers.yaml"
        concurrent_example = min(
            (qrun_run(example, record()) for _ in range(repeats)), key=lambda item: item[0]
        )
        sequential_text = example.read_text("utf-8").replace(
            "workloads: concurrent", "workloads: sequential"
        )
        sequential_file = scratch / "vqe-two-optimizers-sequential.yaml"
        sequential_file.write_text(sequential_text, encoding="utf-8")
        sequential_example = min(
            (qrun_run(sequential_file, record()) for _ in range(repeats)),
            key=lambda item: item[0],
        )
        for name, (final, jobs) in concurrent_example[2].items():
            print(f"   {name}: {jobs} jobs, final {final:.5f}")
        print(
            f"   sequential {sequential_example[0]:.3f} s, concurrent "
            f"{concurrent_example[0]:.3f} s, ratio "
            f"{sequential_example[0] / concurrent_example[0]:.2f}x (bounded by the longer "
            "optimiser's share of the jobs)"
        )


if __name__ == "__main__":
    main()
