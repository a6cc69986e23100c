"""What a provider offers the runner: backends, and a channel (session, batch or plain
jobs) to submit primitive jobs through.

Both providers, the embedded ``local`` one and the ``runtime`` one over
``qiskit_ibm_runtime``, expose this same surface, so the executor never knows which
one it drives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from qiskit.primitives import PrimitiveResult
    from qiskit.providers import BackendV2
    from qiskit.transpiler import Target

    from qrun.clock import Clock
    from qrun.manifest.model import Backend, ExecutionMode, PrimitiveKind, PrimitiveOptions

__all__ = [
    "Channel",
    "Job",
    "Provider",
    "ResolvedBackend",
]


@dataclass(frozen=True)
class ResolvedBackend:
    """The backend a manifest runs on, as found by its provider."""

    name: str
    kind: str  # the manifest's backend kind: aer, fake, ibm, least_busy
    provider: str
    transpile_for: BackendV2 | Target  # what circuits are transpiled for
    chosen_by: str | None = None  # "least_busy" when the service picked it
    num_qubits: int | None = None


class Job(Protocol):
    """A submitted primitive job (``RuntimeJobV2`` and the local engine's handle)."""

    def job_id(self) -> str: ...

    def status(self) -> str: ...

    def result(self, timeout: float | None = None) -> PrimitiveResult: ...

    def cancel(self) -> None: ...


class Channel(Protocol):
    """A session, a batch, or plain jobs on one backend."""

    @property
    def mode(self) -> ExecutionMode: ...

    @property
    def session_id(self) -> str | None: ...

    def status(self) -> str | None: ...

    def details(self) -> Mapping[str, object] | None: ...

    def state(self) -> str | None:
        """``details()["state"]`` (open, active, inactive or closed); None in job mode."""
        ...

    def submit(
        self, kind: PrimitiveKind, pubs: Sequence[object], options: PrimitiveOptions
    ) -> Job: ...

    def close(self) -> None: ...

    def cancel(self) -> None: ...

    def job_ids(self, tags: Sequence[str]) -> list[str]:
        """Ids of the jobs carrying every one of ``tags``: within this session or batch,
        or every job the instance lists in job mode."""
        ...


class Provider(Protocol):
    """Where a manifest runs."""

    @property
    def name(self) -> str: ...

    @property
    def clock(self) -> Clock:
        """The clock runs are timed with."""
        ...

    def resolve(self, backend: Backend) -> ResolvedBackend: ...

    def open(
        self, backend: ResolvedBackend, mode: ExecutionMode, max_time: float | None
    ) -> Channel: ...

    def shutdown(self) -> None: ...
