"""The sizes a manifest may ask for, checked before anything large is built.

A manifest is reviewed before it runs, and may come from anyone: the reference checks
hold every size it declares (circuit widths, generated parameter sets) against these
limits, so ``validate``, ``plan`` and ``run`` refuse oversized work in moments instead of
exhausting the machine. Each limit has a default generous for real experiments and can
be raised (or lowered) with an environment variable ``QRUN_LIMIT_<NAME>``.

Limits of the YAML text itself (file size, nesting, aliases, key and number lengths) are
fixed; they are in :mod:`qrun.manifest.source`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from qrun.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENVIRONMENT_PREFIX", "Limits"]

ENVIRONMENT_PREFIX = "QRUN_LIMIT_"

#: limit -> (what it counts, where)
_WHAT = {
    "qubits": ("qubits or bits", "for one circuit"),
    "parameter_sets": ("parameter sets", "for one PUB"),
    "shots": ("shots", "for one parameter set and measurement setting of a PUB"),
    "library_area": ("qubits × layers (width times depth or reps)", "for one library circuit"),
    "operations": ("operations (estimated)", "for one library circuit"),
}


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one manifest may ask for."""

    #: Qubits or bits a circuit declares, and the size arguments of a library circuit
    #: (any argument whose name has ``qubit`` in it, and ``width``, ``depth``, ``reps``).
    qubits: int = 1024
    #: Parameter sets one PUB binds (a ``linspace``'s ``num``, a ``random`` shape).
    parameter_sets: int = 1_000_000
    #: Shots one PUB takes per parameter set and measurement setting: a sampler's shots,
    #: an estimator's ``default_shots`` or the ``ceil(1/precision²)`` its precision needs.
    shots: int = 10_000_000
    #: A library circuit's width times its layers (the product of its ``depth`` and
    #: ``reps`` arguments): what building and transpiling it costs grows with both.
    library_area: int = 2_000
    #: Operations a library circuit is estimated to hold, judged from its arguments
    #: before it is built (``quantum_volume`` of width 1,000 holds half a million).
    operations: int = 250_000

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, with any ``QRUN_LIMIT_<NAME>`` of the environment applied."""
        values = os.environ if environ is None else environ
        chosen: dict[str, int] = {}
        for item in fields(cls):
            name = ENVIRONMENT_PREFIX + item.name.upper()
            raw = values.get(name)
            if raw is None:
                continue
            try:
                chosen[item.name] = int(raw)
            except ValueError:
                raise UsageError(f"{name} must be a whole number, got {raw!r}") from None
            if chosen[item.name] < 1:
                raise UsageError(f"{name} must be at least 1, got {raw!r}")
        return cls(**chosen)

    def exceeded(self, name: str, found: int) -> str | None:
        """Why ``found`` is too large for limit ``name``; None when it fits."""
        limit: int = getattr(self, name)
        if found <= limit:
            return None
        noun, scope = _WHAT[name]
        return (
            f"{found:,} {noun}, more than the limit of {limit:,} {scope}; set "
            f"{ENVIRONMENT_PREFIX}{name.upper()} to raise it"
        )
