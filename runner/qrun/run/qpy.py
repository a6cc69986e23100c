"""Loading a circuit from a QPY file that the manifest's checks have read and bounded.

The reference checks read the file through the manifest's folder (so nothing outside it
is read), bound its size and checked its header; this module hands the bytes to
``qiskit.qpy.load``, which trusts its input: every failure it can raise (Python
exceptions and panics of Qiskit's compiled extension alike) becomes one message, and the
circuit it returns is held against the qubit limit before anything uses it.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from qrun.manifest.limits import Limits

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.model import QpySource

__all__ = ["load_qpy"]


def _fails(error: BaseException) -> bool:
    """A failure of the loader, not a request to stop the program."""
    return not isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit))


def load_qpy(
    source: QpySource, limits: Limits | None = None
) -> tuple[QuantumCircuit | None, str | None]:
    """The circuit ``source`` chooses as ``(circuit, None)``, or ``(None, why not)``."""
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    name = source.file.name
    try:
        with warnings.catch_warnings():  # e.g. "written by a newer Qiskit": judged below
            warnings.simplefilter("ignore")
            programs = qpy.load(io.BytesIO(source.data))
    except BaseException as error:
        if not _fails(error):
            raise
        detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        return None, (
            f"{name} is not a QPY file this Qiskit can load ({type(error).__name__}"
            f"{': ' + detail if detail else ''})"
        )
    if source.index >= len(programs):
        return None, f"{name} holds {len(programs)} circuits; there is no index {source.index}"
    circuit = programs[source.index]
    if not isinstance(circuit, QuantumCircuit):
        return None, f"program {source.index} of {name} is not a circuit"
    too_wide = (limits or Limits.from_environment()).exceeded(
        "qubits", max(circuit.num_qubits, circuit.num_clbits)
    )
    if too_wide:
        return None, f"circuit {source.index} of {name} has {too_wide}"
    return circuit, None
