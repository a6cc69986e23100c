"""The local simulator's settings: the Aer options a manifest may set under ``backend.options``.

:data:`AER_OPTIONS` lists every option qrun passes to ``qiskit_aer.AerSimulator``, and the
schema's ``backend.options`` accepts exactly these names (a test keeps the two equal), so
an option is either applied or refused at its place, never ignored. What only the
installed Aer can judge (a GPU device on a CPU-only build, a method it was built
without) is checked by :func:`unavailable` when a run is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qrun.manifest.model import JSON

__all__ = [
    "AER_OPTIONS",
    "GPU_ONLY",
    "METHODS",
    "SimulatorSettings",
    "available",
    "method_operations",
    "unavailable",
]

#: Every option of ``backend.options`` -> what it sets; all are ``AerSimulator`` options.
AER_OPTIONS: dict[str, str] = {
    "method": "the simulation method ('automatic': qrun and Aer choose by size and gates)",
    "device": "where Aer simulates: CPU, or GPU / Thrust on a GPU build of qiskit-aer",
    "precision": "double or single precision floating point for state amplitudes",
    "max_parallel_threads": "threads Aer may use (0: every CPU)",
    "max_parallel_experiments": "circuits Aer simulates at once (0: as many as fit)",
    "max_parallel_shots": "shots Aer simulates at once (0: as many as fit)",
    "max_memory_mb": "memory Aer may use, in MB (0: Aer's default, half the system's)",
    "fusion_enable": "whether Aer fuses gates into larger ones",
    "fusion_threshold": "qubits from which Aer fuses gates",
    "fusion_max_qubit": "largest gate fusion may build, in qubits",
    "statevector_parallel_threshold": "qubits from which Aer parallelises one state",
    "matrix_product_state_max_bond_dimension": "bond dimension at which MPS truncates",
    "matrix_product_state_truncation_threshold": "Schmidt coefficients MPS drops below",
    "mps_sample_measure_algorithm": "how MPS samples measurements",
    "blocking_enable": "split the state into chunks (GPUs, MPI processes, caches)",
    "blocking_qubits": "qubits per chunk when blocking",
    "chunk_swap_buffer_qubits": "qubits of the buffer that swaps chunks",
    "accept_distributed_results": "under MPI: each process returns only its share",
    "shot_branching_enable": "share the state across shots until they differ",
    "shot_branching_sampling_enable": "sample noise once per branch",
    "mps_parallel_threshold": "qubits from which MPS parallelises",
    "mps_omp_threads": "OpenMP threads of the MPS method",
    "mps_lapack": "whether MPS uses LAPACK's SVD",
    "mps_swap_direction": "which way MPS swaps qubits together",
    "batched_shots_gpu": "GPU only: run shots of a noisy simulation in batches",
    "batched_shots_gpu_max_qubits": "GPU only: widest circuit whose shots are batched",
    "num_threads_per_device": "GPU only: host threads per GPU",
    "cuStateVec_enable": "GPU only: NVIDIA cuStateVec for the state vector",
    "noise_model": "aer only: the noise model of a fake device (given by name), whose target "
    "circuits are then transpiled for",
}

#: Options Aer honours only when it simulates on a GPU (a CPU simulation ignores them).
GPU_ONLY = frozenset(
    {
        "batched_shots_gpu",
        "batched_shots_gpu_max_qubits",
        "num_threads_per_device",
        "cuStateVec_enable",
    }
)

#: Simulation methods that qrun can estimate and run (``AerSimulator``'s, less the ones
#: that cannot sample or estimate: ``unitary`` and ``superop`` compute operators).
METHODS = (
    "automatic",
    "statevector",
    "density_matrix",
    "stabilizer",
    "matrix_product_state",
    "extended_stabilizer",
    "tensor_network",
)

Value = bool | int | float | str

#: Options :class:`SimulatorSettings` keeps in fields of their own.
_OWN = frozenset({"method", "device", "precision", "noise_model"})


@dataclass(frozen=True)
class SimulatorSettings:
    """What a manifest asks of the local simulator; picklable, hashable."""

    method: str = "automatic"
    device: str = "CPU"
    precision: str = "double"
    #: ``aer`` only: the fake device whose noise model and target apply (None: ideal).
    noise_model: str | None = None
    #: The other options of :data:`AER_OPTIONS`, by name, in manifest order.
    others: tuple[tuple[str, Value], ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, JSON]) -> SimulatorSettings:
        """Settings from ``backend.options`` (checked against the schema already)."""
        others = tuple(
            (name, value)
            for name, value in options.items()
            if name not in _OWN and isinstance(value, bool | int | float | str)
        )
        noise = options.get("noise_model")
        return cls(
            method=str(options.get("method", "automatic")),
            device=str(options.get("device", "CPU")),
            precision=str(options.get("precision", "double")),
            noise_model=noise if isinstance(noise, str) else None,
            others=others,
        )

    def option(self, name: str) -> Value | None:
        """The value of one of the other options, None when not set."""
        return next((value for key, value in self.others if key == name), None)

    def aer_options(self, method: str) -> dict[str, Value]:
        """``AerSimulator`` keyword arguments, with ``method`` the one resolved (the noise
        model, a device's name here, is built by the simulation)."""
        chosen: dict[str, Value] = {"method": method, "device": self.device}
        if self.precision != "double":
            chosen["precision"] = self.precision
        chosen.update(self.others)
        return chosen

    def applied(self) -> dict[str, Value]:
        """Every option as it is applied, defaults included (for the run record)."""
        return {
            "method": self.method,
            "device": self.device,
            "precision": self.precision,
            **({} if self.noise_model is None else {"noise_model": self.noise_model}),
            **dict(self.others),
        }


@cache
def available() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The methods and devices the installed Aer offers on this machine."""
    from qiskit_aer import AerSimulator

    simulator = AerSimulator()
    return tuple(simulator.available_methods()), tuple(simulator.available_devices())


def unavailable(settings: SimulatorSettings) -> list[tuple[str, str]]:
    """(option, why) for each setting the installed Aer cannot honour here."""
    methods, devices = available()
    problems: list[tuple[str, str]] = []
    if settings.device not in devices:
        problems.append(
            (
                "device",
                f"device {settings.device!r} is not available: the installed qiskit-aer "
                f"simulates on {', '.join(devices)} only (a GPU needs qiskit-aer-gpu and a "
                "GPU); remove the option or set device: CPU",
            )
        )
    if settings.device == "CPU":
        problems.extend(
            (name, f"{name} applies only to a GPU simulation; set device: GPU or remove it")
            for name, _ in settings.others
            if name in GPU_ONLY
        )
    if settings.method not in METHODS:
        problems.append(
            (
                "method",
                f"method {settings.method!r} computes operators, not samples or expectation "
                f"values; use one of {', '.join(METHODS)}",
            )
        )
    elif settings.method != "automatic" and settings.method not in methods:
        problems.append(
            (
                "method",
                f"method {settings.method!r} is not available in the installed qiskit-aer "
                f"(available: {', '.join(methods)})",
            )
        )
    return problems


#: Operations every method runs besides its basis gates.
_ALWAYS = frozenset({"measure", "barrier", "reset", "delay", "store"})


@cache
def method_operations(method: str) -> frozenset[str]:
    """Names of the operations Aer's ``method`` simulates."""
    from qiskit_aer import AerSimulator

    return frozenset(AerSimulator(method=method).configuration().basis_gates) | _ALWAYS
