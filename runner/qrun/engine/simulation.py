"""How a job's PUBs are computed: ``qiskit_aer.primitives`` on the backend's simulator.

Primitives are cached per (program, backend, seed) and share the backend's one simulator,
so a job costs the simulation and nothing more. Aer's public ``run()`` wraps each call in a
``PrimitiveJob`` that starts a thread of its own; an executor already runs off the caller's
thread and hands over PUBs the engine has coerced and validated, so the computation is
called directly (through ``run()`` if a future Aer drops that method). Expectation values
are estimated from shots, as a QPU estimates them (:mod:`qrun.engine.estimates`).

An ``executor`` job's quantum program is run by qiskit-ibm-runtime's own local runner for
quantum programs (the one its local testing mode uses), on the same backend simulator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from qrun.engine.backends import backend_spec
from qrun.engine.estimates import shot_estimates
from qrun.engine.work import Outcome

if TYPE_CHECKING:
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    from qrun.engine.work import Program, Work

__all__ = ["run_work"]


def run_work(work: Work) -> Outcome:
    """Compute ``work``; a failure inside the simulator becomes the job's error reason."""
    if work.simulation is not None:
        return work.simulation.run(work)
    if work.program == "executor":
        return _run_program(work)
    try:
        primitive = _primitive(work.program, work.backend, work.seed)
        compute = getattr(primitive, "_run", None)
        pubs = list(work.pubs)
        if work.program == "estimator":  # from shots, as a QPU estimates (see estimates.py)
            result = shot_estimates(primitive, pubs, work.seed)
        else:
            result = compute(pubs) if callable(compute) else primitive.run(pubs).result()
    except Exception as error:  # noqa: BLE001 - any simulator failure fails the job, not qrun
        return Outcome(error=f"{type(error).__name__}: {error}")
    return Outcome(result=result)


def _run_program(work: Work) -> Outcome:
    from qiskit_ibm_runtime.fake_provider.executor.run_quantum_program import (
        run_quantum_program,
    )
    from qiskit_ibm_runtime.options_models.simulator import SimulatorOptions

    simulator = backend_spec(work.backend, custom=True).simulator
    try:
        (program,) = work.pubs
        result = run_quantum_program(simulator, program, SimulatorOptions(seed_simulator=work.seed))
    except Exception as error:  # noqa: BLE001 - any simulator failure fails the job, not qrun
        return Outcome(error=f"{type(error).__name__}: {error}")
    return Outcome(program_result=result)


@lru_cache(maxsize=64)
def _primitive(program: Program, backend: str, seed: int | None) -> SamplerV2 | EstimatorV2:
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    simulator = backend_spec(backend, custom=True).simulator
    if program == "sampler":
        return SamplerV2.from_backend(simulator, seed=seed)
    run_options = {} if seed is None else {"seed_simulator": seed}
    return EstimatorV2.from_backend(simulator, options={"run_options": run_options})
