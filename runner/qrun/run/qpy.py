"""Loading a circuit from a QPY file that the manifest's checks have read and bounded.

The reference checks read the file through the manifest's folder (so nothing outside it
is read), bound its size and checked its header. ``qiskit.qpy.load`` trusts the rest: a
circuit header that declares a billion qubits makes it try to allocate them, and a
malformed body can raise anything, including panics of Qiskit's compiled extension. So
the bytes are loaded in a child process with bounded memory and time: it loads them,
holds the chosen circuit against the qubit limit, and writes that one circuit back as
QPY, which this process then loads. Every failure becomes one message.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from typing import TYPE_CHECKING

from qrun.manifest.limits import Limits

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qrun.manifest.model import QpySource

__all__ = ["LOAD_MEMORY", "LOAD_SECONDS", "load_qpy"]

#: Memory (bytes of data segment) and time the child loading a QPY file may use.
LOAD_MEMORY = 2 * 1024**3
LOAD_SECONDS = 60.0

_REFUSED = 3  # the child's exit code when it refuses the file (its reason on stderr)


def load_qpy(
    source: QpySource, limits: Limits | None = None
) -> tuple[QuantumCircuit | None, str | None]:
    """The circuit ``source`` chooses as ``(circuit, None)``, or ``(None, why not)``."""
    from qiskit import qpy

    name = source.file.name
    chosen = limits or Limits.from_environment()
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "qrun.run.qpy", str(source.index), str(chosen.qubits)]
    try:
        child = subprocess.run(  # this interpreter, this module, fixed arguments
            command,
            input=source.data,
            capture_output=True,
            timeout=LOAD_SECONDS,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"loading {name} took longer than {LOAD_SECONDS:.0f} s; it was stopped"
    reason = child.stderr.decode("utf-8", "replace").strip().splitlines()
    if child.returncode == _REFUSED and reason:
        return None, reason[-1].replace("<file>", name)
    if child.returncode != 0:
        return None, (
            f"{name} is not a QPY file this Qiskit can load (loading it "
            f"{'ran out of memory or ' if child.returncode < 0 else ''}failed)"
        )
    programs = qpy.load(io.BytesIO(child.stdout))  # written just now by Qiskit itself
    return programs[0], None


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    detail = text.splitlines()[0][:300].strip() if text else ""
    return f"{type(error).__name__}{': ' + detail if detail else ''}"


def _child(index: int, max_qubits: int) -> int:
    """Load QPY bytes from stdin, write circuit ``index`` to stdout; exit 3 with the
    reason on stderr when refused."""
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (LOAD_MEMORY, LOAD_MEMORY))
    data = sys.stdin.buffer.read()
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    def refuse(message: str) -> int:
        sys.stderr.write(message + "\n")
        return _REFUSED

    try:
        with warnings.catch_warnings():  # e.g. "written by a newer Qiskit": judged below
            warnings.simplefilter("ignore")
            programs = qpy.load(io.BytesIO(data))
    except BaseException as error:  # panics of the extension included
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        return refuse(f"<file> is not a QPY file this Qiskit can load ({_reason(error)})")
    if index >= len(programs):
        return refuse(f"<file> holds {len(programs)} circuits; there is no index {index}")
    circuit = programs[index]
    if not isinstance(circuit, QuantumCircuit):
        return refuse(f"program {index} of <file> is not a circuit")
    too_wide = Limits(qubits=max_qubits).exceeded(
        "qubits", max(circuit.num_qubits, circuit.num_clbits)
    )
    if too_wide:
        return refuse(f"circuit {index} of <file> has {too_wide}")
    output = io.BytesIO()
    qpy.dump(circuit, output)
    sys.stdout.buffer.write(output.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1]), int(sys.argv[2])))
