"""The backends a ``qrun serve`` process offers, described as the Runtime API describes them.

``fake_<name>`` devices reuse the configuration and calibration files that ship with
``qiskit_ibm_runtime.fake_provider`` (renamed to the name they are served under, and never
marked as simulators: the client opens no session on a simulator). ``aer`` is an ideal,
all-to-all device with no calibration data. No backend is advertised as a simulator (IBM's
service offers none either): ``least_busy(simulator=False)`` may pick any of them.

Calibrations: each ``fake_*`` device has one, its calibration files; its id
(:meth:`Catalog.calibration_id`) is derived from their content and listed in ``GET
/backends``. The ideal ``aer`` device has none. A request naming any other calibration id is
refused (see :mod:`.runtime` and :mod:`.app`).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from itertools import permutations

from qrun.errors import BackendError

__all__ = ["AER_QUBITS", "Catalog"]

#: Width of the ideal ``aer`` device (kept modest so that the client's transpiler stays quick).
AER_QUBITS = 16
_AER_BASIS = ("cx", "id", "rz", "sx", "x")
_FAKE_PACKAGE = "qiskit_ibm_runtime.fake_provider.backends"


def _aer_configuration() -> dict[str, object]:
    pairs = [list(pair) for pair in permutations(range(AER_QUBITS), 2)]
    singles = [[qubit] for qubit in range(AER_QUBITS)]
    gates: list[dict[str, object]] = [
        {
            "name": gate,
            "parameters": ["theta"] if gate == "rz" else [],
            "qasm_def": "",
            "coupling_map": pairs if gate == "cx" else singles,
        }
        for gate in _AER_BASIS
    ]
    return {
        "backend_name": "aer",
        "backend_version": "0.18.0",
        "n_qubits": AER_QUBITS,
        "basis_gates": list(_AER_BASIS),
        "gates": gates,
        "supported_instructions": [*_AER_BASIS, "measure", "reset", "delay", "barrier"],
        "local": False,
        "simulator": False,
        "conditional": False,
        "open_pulse": False,
        "memory": True,
        "max_shots": 1_000_000,
        "max_experiments": 300,
        "coupling_map": pairs,
        "online_date": "2026-01-01T00:00:00Z",
        "description": "ideal simulator (qiskit-aer), all-to-all connectivity",
        "processor_type": {"family": "Aer", "revision": 1},
        "supported_features": ["qobj"],
    }


@cache
def _fake_file(name: str, kind: str) -> dict[str, object]:
    short = name.removeprefix("fake_")
    path = resources.files(_FAKE_PACKAGE).joinpath(short).joinpath(f"{kind}_{short}.json")
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    document["backend_name"] = name
    if kind == "conf":
        document["simulator"] = False
    return document


@cache
def _calibration(name: str) -> str:
    text = json.dumps(_fake_file(name, "props"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _fake_exists(name: str) -> bool:
    short = name.removeprefix("fake_")
    return (
        name.startswith("fake_")
        and short.isidentifier()
        and resources.files(_FAKE_PACKAGE).joinpath(short).joinpath(f"conf_{short}.json").is_file()
    )


class Catalog:
    """The served backends, by name, in the order configured."""

    def __init__(self, names: tuple[str, ...]) -> None:
        unknown = [name for name in names if name != "aer" and not _fake_exists(name)]
        if unknown:
            raise BackendError(
                f"unknown backends {unknown}: expected 'aer' or the name of a fake backend "
                "from qiskit_ibm_runtime.fake_provider, e.g. 'fake_manila'"
            )
        self.names = names
        self._aer = _aer_configuration()

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def configuration(self, name: str) -> dict[str, object]:
        """The ``QasmBackendConfiguration`` document of a served backend."""
        return self._aer if name == "aer" else _fake_file(name, "conf")

    def properties(self, name: str) -> dict[str, object]:
        """Calibration data (``BackendProperties``); ``{}`` for the ideal device."""
        return {} if name == "aer" else _fake_file(name, "props")

    def num_qubits(self, name: str) -> int:
        """How many qubits the backend has."""
        value = self.configuration(name)["n_qubits"]
        return value if isinstance(value, int) else 0

    def calibration_id(self, name: str) -> str | None:
        """The id of the backend's one calibration; None for the ideal device."""
        return None if name == "aer" else _calibration(name)

    def device(self, name: str, queue_length: int) -> dict[str, object]:
        """The entry of ``GET /backends``."""
        qubits = self.num_qubits(name)
        return {
            "name": name,
            "calibration_id": self.calibration_id(name),
            "status": {"name": "online", "reason": "available"},
            "qubits": qubits,
            "physical_qubits": qubits,
            "queue_length": queue_length,
            "processor_type": self.configuration(name).get("processor_type"),
        }

    def status(self, name: str, queue_length: int) -> dict[str, object]:
        """The ``GET /backends/{name}/status`` document."""
        return {
            "backend_name": name,
            "backend_version": self.configuration(name).get("backend_version", "0.0.0"),
            "state": True,
            "status": "active",
            "message": "",
            "length_queue": queue_length,
        }
