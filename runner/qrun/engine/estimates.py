"""Local expectation values estimated as a QPU estimates them: from a finite number of shots.

Aer's estimator computes each Pauli term's expectation value exactly on the (noisy)
simulated state, and then, for a target precision ``p``, adds Gaussian noise of width
``p`` to the total and reports ``p`` as its standard error, whatever the observable: a
single Pauli can come back as 1.2, and a precision of 1e-12 "costs" nothing. A QPU
instead measures: each Pauli term ``P`` is read ``n = ceil(1/p²)`` times (the shots IBM
Quantum's estimator spends for that precision), each reading is ±1 with probability
``(1 ± ⟨P⟩)/2``, and the standard error follows from the readings.

:func:`shot_estimates` does exactly that on top of the exact values: for every parameter
set and every distinct Pauli term, ``n`` readings drawn from the binomial distribution
the term's exact expectation value fixes, so a Pauli's estimate always lies in [-1, 1],
terms shared by several observables share their readings, and

* ``evs`` = Σ cⱼ·(2kⱼ/n − 1) (kⱼ readings of +1 among n),
* ``stds`` = sqrt(Σ cⱼ²·4p̃ⱼ(1 − p̃ⱼ)/n), the standard error of that estimate, with
  ``p̃ⱼ = (kⱼ + 1)/(n + 2)`` (so readings that all agreed still carry an error of about
  1/n, not 0),

with ``metadata`` giving ``shots`` and ``target_precision`` as IBM Quantum's results do.
Terms are drawn independently (a QPU measures qubit-wise commuting terms from the same
shots, which correlates them); identity terms are exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.manifest.model import shots_for_precision

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from qiskit.primitives import PrimitiveResult
    from qiskit.primitives.containers import PubResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub
    from qiskit_aer.primitives import EstimatorV2

__all__ = ["shot_estimates"]

#: Beyond this many shots a binomial draw is replaced by its normal approximation
#: (NumPy's binomial takes a 64-bit count; the two agree to far below the error bar).
_BINOMIAL_LIMIT = 2**62


def shot_estimates(
    estimator: EstimatorV2, pubs: list[EstimatorPub], seed: int | None
) -> PrimitiveResult[PubResult]:
    """``pubs`` estimated from shots (see the module docstring), the exact values from
    ``estimator``; ``seed`` makes the readings reproducible."""
    import numpy as np
    from qiskit.primitives import PrimitiveResult

    generator = np.random.default_rng(seed)
    return PrimitiveResult(
        [_estimate(estimator, pub, generator) for pub in pubs], metadata={"version": 2}
    )


def _estimate(
    estimator: EstimatorV2, pub: EstimatorPub, generator: np.random.Generator
) -> PubResult:
    import numpy as np
    from qiskit.primitives.containers import DataBin, PubResult
    from qiskit.primitives.containers.estimator_pub import EstimatorPub as Pub
    from qiskit.primitives.containers.observables_array import ObservablesArray

    observables = pub.observables
    bindings = pub.parameter_values
    terms = sorted({pauli for observable in observables.ravel() for pauli in observable})
    measured = [pauli for pauli in terms if set(pauli) != {"I"}]
    exact: dict[str, NDArray[np.float64]] = {}  # each Pauli's exact value per parameter set
    if measured:
        # every distinct term at every parameter set: observables along a new last axis
        every = ObservablesArray([{pauli: 1.0} for pauli in measured])
        shaped = every.reshape(*((1,) * bindings.ndim), len(measured))
        run = Pub(pub.circuit, shaped, bindings.reshape(*bindings.shape, 1), 0.0)
        (found,) = estimator.run([run]).result()
        values = np.asarray(found.data.evs, dtype=float)
        exact = {pauli: values[..., index] for index, pauli in enumerate(measured)}
    shots = shots_for_precision(pub.precision) if pub.precision > 0 else 0
    readings = {
        pauli: _readings(np.clip(value, -1.0, 1.0), shots, generator)
        for pauli, value in exact.items()
    }
    shape = np.broadcast_shapes(bindings.shape, observables.shape)
    evs = np.zeros(shape)
    variances = np.zeros(shape)
    # which parameter set each result comes from, as a flat index into the bindings
    sets = np.broadcast_to(np.arange(bindings.size).reshape(bindings.shape), shape)
    each = np.empty(observables.size, dtype=object)
    each[:] = list(observables.ravel())
    spread = np.broadcast_to(each.reshape(observables.shape), shape)
    flat = {pauli: np.ravel(value) for pauli, value in readings.items()}
    for index in np.ndindex(*shape):
        for pauli, coefficient in spread[index].items():
            if pauli not in flat:  # the identity: exactly 1
                evs[index] += coefficient
                continue
            estimate = float(flat[pauli][sets[index]])
            evs[index] += coefficient * estimate
            if shots:
                variances[index] += coefficient**2 * _variance(estimate, shots)
    return PubResult(
        DataBin(evs=evs, stds=np.sqrt(variances), shape=shape),
        metadata={
            "target_precision": pub.precision,
            "shots": shots,
            "circuit_metadata": pub.circuit.metadata,
        },
    )


def _readings(
    exact: NDArray[np.float64], shots: int, generator: np.random.Generator
) -> NDArray[np.float64]:
    """The mean of ``shots`` ±1 readings of a Pauli whose exact values are ``exact``
    (``shots`` of 0: the exact values themselves)."""
    import numpy as np

    if shots == 0:
        return exact
    if shots < _BINOMIAL_LIMIT:
        plus = generator.binomial(shots, (1.0 + exact) / 2.0)
        return np.asarray(2.0 * plus / shots - 1.0, dtype=float)
    spread = np.sqrt(np.maximum(0.0, 1.0 - exact**2) / shots)
    return np.asarray(np.clip(generator.normal(exact, spread), -1.0, 1.0), dtype=float)


def _variance(estimate: float, shots: int) -> float:
    """The squared standard error of a Pauli's mean reading ``estimate`` over ``shots``:
    ``4·p̃(1 − p̃)/n`` with ``p̃ = (k + 1)/(n + 2)`` (k readings of +1), so that readings
    that all agreed still leave the uncertainty n shots cannot remove."""
    plus = (1.0 + estimate) / 2.0 * shots
    smoothed = (plus + 1.0) / (shots + 2.0)
    return 4.0 * smoothed * (1.0 - smoothed) / shots
