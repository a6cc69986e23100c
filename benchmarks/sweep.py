"""An estimator parameter sweep through qrun's execution path against Aer directly.

1,000 parameter sets of ``efficient_su2`` (4 and 12 qubits, one Z-string observable),
run (a) through qrun: plan, session on the local engine, job, results, and (b) with
``qiskit_aer.primitives.EstimatorV2`` on the same ISA circuit and values. Imports and
transpilation are outside the timed part of both; best of N.

    python benchmarks/sweep.py [N]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

from qrun.manifest.diagnostics import Issue
from qrun.manifest.model import (
    Backend,
    Circuit,
    EstimatorPub,
    LibrarySource,
    Manifest,
    Observable,
    Primitive,
    PrimitiveOptions,
    RandomValues,
    Transpile,
)
from qrun.providers.local import LocalProvider
from qrun.run.execute import execute
from qrun.run.plan import make_plan

SETS = 1000


class _Positions:
    def __init__(self, file: str) -> None:
        self.file = file

    def position(self, path: str) -> tuple[int, int]:
        return (1, 1)

    def issue(self, path: str, message: str) -> Issue:
        return Issue(self.file, 1, 1, path, message)


def sweep_manifest(qubits: int, folder: Path) -> Manifest:
    file = folder / f"sweep{qubits}.yaml"
    text = f"# efficient_su2 sweep on {qubits} qubits\n"
    file.write_text(text)
    pub = EstimatorPub(
        circuit="ansatz",
        observables="z",
        path="$.primitives[0].pubs[0]",
        parameter_values=RandomValues(seed=5, low=0, high=3.14, shape=(SETS,), path="$.pv"),
    )
    return Manifest(
        version=1,
        file=file,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        source=_Positions(str(file)),
        backend=Backend(kind="aer", name="aer", path="$.backend"),
        transpile=Transpile(optimization_level=1, seed=3),
        circuits={
            "ansatz": Circuit(
                "ansatz",
                LibrarySource("efficient_su2", {"num_qubits": qubits, "reps": 1}),
                "$.circuits.ansatz",
            )
        },
        observables={"z": Observable("z", (("Z" * qubits, 1.0),), "$.observables.z")},
        primitives=(
            Primitive(
                "estimator",
                "sweep",
                (pub,),
                "$.primitives[0]",
                PrimitiveOptions(default_precision=0.01, seed_simulator=9),
            ),
        ),
    )


def best_of(action: object, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    from qiskit_aer.primitives import EstimatorV2

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"estimator sweep, {SETS} parameter sets, best of {runs}")
    with tempfile.TemporaryDirectory() as folder:
        for qubits in (4, 12):
            manifest = sweep_manifest(qubits, Path(folder))
            provider = LocalProvider()
            plan = make_plan(manifest, provider)
            pub = plan.primitives[0].pubs[0].pub

            def through_qrun(plan: object = plan, provider: LocalProvider = provider) -> None:
                execute(plan, provider, clock=provider.clock)  # type: ignore[arg-type]

            estimator = EstimatorV2(
                options={"default_precision": 0.01, "run_options": {"seed_simulator": 9}}
            )

            def direct(pub: object = pub, estimator: EstimatorV2 = estimator) -> None:
                estimator.run([pub]).result()

            through_qrun()  # warm both paths (simulator construction, caches)
            direct()
            qrun_time = best_of(through_qrun, runs)
            aer_time = best_of(direct, runs)
            provider.shutdown()
            print(
                f"  {qubits:>2} qubits: qrun {SETS / qrun_time:8.0f} sets/s   "
                f"aer {SETS / aer_time:8.0f} sets/s   ratio {aer_time / qrun_time:5.2f}"
            )


if __name__ == "__main__":
    main()
