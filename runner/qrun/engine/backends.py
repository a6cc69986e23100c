"""What the engine knows about a backend: capacity, target, noise and timing constants.

``aer`` is an ideal simulator that runs as many jobs at once as there are CPUs. ``fake_*``
names are the snapshots in ``qiskit_ibm_runtime.fake_provider`` (imported lazily): a QPU,
so one job at a time, simulated with the snapshot's noise model. Any other name added with
:meth:`qrun.engine.Engine.add_backend` behaves as an ideal simulator.

Specs are cached per process, so a worker process builds each simulator once.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from qrun.errors import BackendError

if TYPE_CHECKING:
    from qiskit.providers import BackendV2
    from qiskit.transpiler import Target
    from qiskit_aer import AerSimulator

__all__ = [
    "AER_GATE_1Q",
    "AER_GATE_2Q",
    "AER_MEASURE",
    "AER_REP_DELAY",
    "BackendSpec",
    "backend_spec",
    "default_capacity",
    "fake_backend_names",
]

#: Timing used to model QPU time on backends that publish none (``aer``): seconds per
#: one-qubit gate, two-qubit gate, measurement or reset, and the delay between shots.
AER_GATE_1Q = 50e-9
AER_GATE_2Q = 300e-9
AER_MEASURE = 1e-6
AER_REP_DELAY = 250e-6

_lock = threading.Lock()
_specs: dict[str, BackendSpec] = {}
_fake_names: tuple[str, ...] | None = None


@dataclass(eq=False)
class BackendSpec:
    """A backend as the engine sees it; heavy parts are built on first use."""

    name: str
    noisy: bool

    @cached_property
    def fake(self) -> BackendV2 | None:
        """The fake backend snapshot behind a ``fake_*`` name (None otherwise)."""
        if not self.noisy:
            return None
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend: BackendV2 = FakeProviderForBackendV2().backend(self.name)
        return backend

    @cached_property
    def simulator(self) -> AerSimulator:
        """The simulator jobs run on: ideal, or with the fake backend's noise model."""
        from qiskit_aer import AerSimulator

        fake = self.fake
        return AerSimulator() if fake is None else AerSimulator.from_backend(fake)

    @cached_property
    def target(self) -> Target:
        """What circuits are transpiled to: the fake backend's target or a generous ideal one."""
        fake = self.fake
        return self.simulator.target if fake is None else fake.target

    @cached_property
    def rep_delay(self) -> float:
        """Seconds between shots: the backend's default, or ``AER_REP_DELAY``."""
        fake = self.fake
        delay = getattr(fake, "default_rep_delay", None) if fake is not None else None
        return float(delay) if delay else AER_REP_DELAY


def fake_backend_names() -> tuple[str, ...]:
    """Names of every fake backend snapshot the installed client ships."""
    global _fake_names  # noqa: PLW0603 - a process-wide cache, filled once
    if _fake_names is None:
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _fake_names = tuple(sorted(b.name for b in FakeProviderForBackendV2().backends()))
    return _fake_names


def default_capacity(name: str) -> int:
    """How many jobs a backend runs at once: every CPU for ``aer``, one for a QPU."""
    return (os.cpu_count() or 1) if name == "aer" else 1


def backend_spec(name: str, *, custom: bool = False) -> BackendSpec:
    """The spec for ``name``; ``custom`` allows a name that is neither ``aer`` nor ``fake_*``."""
    with _lock:
        spec = _specs.get(name)
        if spec is not None:
            return spec
        if name.startswith("fake_"):
            if name not in fake_backend_names():
                raise BackendError(
                    f"unknown backend {name!r}; fake backends are {', '.join(fake_backend_names())}"
                )
            spec = BackendSpec(name, noisy=True)
        elif name == "aer" or (custom and name):
            spec = BackendSpec(name, noisy=False)
        else:
            raise BackendError(
                f"unknown backend {name!r}; use 'aer' or a fake backend such as 'fake_manila'"
            )
        _specs[name] = spec
        return spec
