"""How the local provider computes a job: Aer with the manifest's options, on the qubits
each circuit touches, with those qubits' noise.

:class:`LocalSimulation` travels with every job the local provider submits (it is the
engine's :class:`~qrun.engine.work.Simulation`), into worker and workload processes
alike. For each PUB it reduces the ISA circuit to its touched qubits
(:mod:`qrun.providers.reduction`), chooses the method
(:func:`~qrun.providers.memory.choose_method`), and runs Aer's primitive on a simulator
built with the manifest's options and, for a fake backend, the device noise of those
qubits. Results keep the shape and bit order the whole device would have given.

Reductions are cached per circuit and observables object (a job's circuits are usually
the very objects of the job before), and simulators per qubit set and method: the noise
model of a few qubits is built from the device's target restricted to them, in a
fraction of the time the whole device's takes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, Generic, TypeVar

from qrun.engine.estimates import shot_estimates
from qrun.engine.work import Outcome
from qrun.providers.memory import choose_method, machine_budget
from qrun.providers.reduction import (
    ReducedObservables,
    reduce_circuit,
    reduce_noise,
    reduce_observables,
)
from qrun.providers.simulator import METHODS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np
    from numpy.typing import NDArray
    from qiskit.circuit import QuantumCircuit
    from qiskit.primitives import PrimitiveResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit.primitives.containers.observables_array import ObservablesArray
    from qiskit.primitives.containers.sampler_pub import SamplerPub
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    from qrun.engine.work import Work
    from qrun.providers.reduction import Reduced
    from qrun.providers.simulator import SimulatorSettings

__all__ = ["LocalSimulation"]

Key = TypeVar("Key")
Value = TypeVar("Value")

#: Reductions kept per process (circuits and observables of the jobs of a run).
_CACHED = 256


class _ByObject(Generic[Key, Value]):
    """Values computed from objects, found again by the object's identity while it lives."""

    def __init__(self, compute: Callable[[Key], Value]) -> None:
        self._compute = compute
        self._entries: OrderedDict[int, tuple[weakref.ref[Key], Value]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, key: Key) -> Value:
        with self._lock:
            entry = self._entries.get(id(key))
            if entry is not None and entry[0]() is key:
                self._entries.move_to_end(id(key))
                return entry[1]
        value = self._compute(key)
        with self._lock:
            self._entries[id(key)] = (weakref.ref(key), value)
            while len(self._entries) > _CACHED:
                self._entries.popitem(last=False)
        return value


_reduced: _ByObject[QuantumCircuit, Reduced] = _ByObject(reduce_circuit)


@dataclass(frozen=True)
class LocalSimulation:
    """The simulation of one backend's jobs with the manifest's simulator settings."""

    backend: str
    settings: SimulatorSettings
    noisy: bool  # a device's noise applies: a fake backend's own, or aer's noise_model
    noise_from: str | None = None  # the fake device whose noise applies (None: backend)

    @property
    def noise_device(self) -> str:
        """The backend whose noise model applies, when noisy."""
        return self.noise_from or self.backend

    def run(self, work: Work) -> Outcome:
        """Compute ``work``; a failure inside the simulator becomes the job's error."""
        if work.program == "executor":
            from qrun.engine.simulation import run_work

            return run_work(replace(work, simulation=None))
        try:
            return Outcome(result=self._compute(work))
        except Exception as error:  # noqa: BLE001 - any simulator failure fails the job
            return Outcome(error=f"{type(error).__name__}: {error}")

    @property
    def aer_device(self) -> str:
        """Where Aer runs this simulation: ``CPU``, ``GPU`` or ``Thrust``."""
        return self.settings.device

    def prime(self) -> None:
        """Build what jobs need now, before processes fork: the device's snapshot, or the
        ideal simulator (a noisy one depends on the qubits a circuit touches)."""
        if self.noisy:
            from qrun.engine.backends import backend_spec

            _ = backend_spec(self.noise_device).fake
        elif self.settings.method in METHODS:
            _simulator(self.noise_device, self.settings, (), self.settings.method, False)

    def _compute(self, work: Work) -> PrimitiveResult[object]:
        from qiskit.primitives import PrimitiveResult
        from qiskit.primitives.containers.estimator_pub import EstimatorPub
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        budget = cache(partial(machine_budget, self.settings))  # asked once, if at all
        zeros: dict[int, NDArray[np.bool_]] = {}  # observables that reduce to zero, by PUB
        groups: dict[tuple[tuple[int, ...], str], list[tuple[int, SamplerPub | EstimatorPub]]] = {}
        for index, pub in enumerate(work.pubs):
            assert isinstance(pub, SamplerPub | EstimatorPub)
            reduced = _reduced(pub.circuit)
            choice = choose_method(self.settings, reduced.circuit, noisy=self.noisy, budget=budget)
            small: SamplerPub | EstimatorPub
            if isinstance(pub, SamplerPub):
                small = SamplerPub(reduced.circuit, pub.parameter_values, pub.shots, validate=False)
            else:
                observables = _observables(pub.observables, reduced)
                small = EstimatorPub(
                    reduced.circuit,
                    observables.observables,
                    pub.parameter_values,
                    pub.precision,
                    validate=False,
                )
                if observables.zero is not None:
                    zeros[index] = observables.zero
            qubits = reduced.qubits if self.noisy else ()
            groups.setdefault((qubits, choice.method), []).append((index, small))
        results: list[object] = [None] * len(work.pubs)
        for group, ((qubits, method), members) in enumerate(groups.items()):
            primitive = _primitive(
                work.program, self.noise_device, self.settings, qubits, method, work.seed
            )
            pubs = [pub for _, pub in members]
            found: Sequence[object]
            if work.program == "estimator":  # from shots, as a QPU estimates (estimates.py)
                seed = None if work.seed is None else work.seed + group
                found = list(shot_estimates(primitive, pubs, seed))
            else:
                compute = getattr(primitive, "_run", None)
                found = compute(pubs) if callable(compute) else primitive.run(pubs).result()
            for (index, _), result in zip(members, found, strict=True):
                if index in zeros:
                    _zero(result, zeros[index])
                results[index] = result
        return PrimitiveResult(results, metadata={"version": 2})


def _zero(result: object, zero: NDArray[np.bool_]) -> None:
    """Set the expectation values of observables that reduced to zero to 0."""
    import numpy as np

    evs = getattr(getattr(result, "data", None), "evs", None)
    if isinstance(evs, np.ndarray):
        evs[np.broadcast_to(zero, evs.shape)] = 0.0


def _observables(observables: ObservablesArray, reduced: Reduced) -> ReducedObservables:
    if reduced.whole:
        return ReducedObservables(observables, None)
    return _reduced_observables(observables)(reduced)


def _reduce_for(observables: ObservablesArray) -> Callable[[Reduced], ReducedObservables]:
    seen: dict[tuple[int, ...], ReducedObservables] = {}

    def reduce(reduced: Reduced) -> ReducedObservables:
        found = seen.get(reduced.qubits)
        if found is None:
            found = seen[reduced.qubits] = reduce_observables(
                observables, reduced.qubits, reduced.num_qubits
            )
        return found

    return reduce


_reduced_observables: _ByObject[ObservablesArray, Callable[[Reduced], ReducedObservables]] = (
    _ByObject(_reduce_for)
)


@lru_cache(maxsize=64)
def _simulator(
    device: str, settings: SimulatorSettings, qubits: tuple[int, ...], method: str, noisy: bool
) -> AerSimulator:
    from qiskit_aer import AerSimulator

    from qrun.engine.backends import backend_spec

    options = settings.aer_options(method)
    fake = backend_spec(device).fake if noisy else None
    if fake is None:
        return AerSimulator(**options)
    return AerSimulator(noise_model=reduce_noise(fake.target, qubits), **options)


@lru_cache(maxsize=64)
def _primitive(  # noqa: PLR0917 - a cache key: every argument is one
    program: str,
    device: str,
    settings: SimulatorSettings,
    qubits: tuple[int, ...],
    method: str,
    seed: int | None,
) -> SamplerV2 | EstimatorV2:
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    simulator = _simulator(device, settings, qubits, method, bool(qubits))
    if program == "sampler":
        return SamplerV2.from_backend(simulator, seed=seed)
    run_options = {} if seed is None else {"seed_simulator": seed}
    return EstimatorV2.from_backend(simulator, options={"run_options": run_options})
