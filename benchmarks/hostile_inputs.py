"""``qrun validate`` and ``qrun plan`` on hostile and careless manifests, as whole processes.

Each input is written to a fresh temporary folder (with the files beside it that it
names: a FIFO, a symlink out of the folder, a file in a wrong encoding, …) and both
commands are run on it as subprocesses. Per input and command the table shows the exit
code, whether a traceback appeared, the wall time, the peak memory of the process (its
own ``ru_maxrss``, from ``os.wait4``) and the first line of the message. The project
expects, for every input: exit 1, no traceback, under 5 s and under 500 MB; the last
column says ``ok`` or what is wrong, and the script exits 1 if any row is wrong.

    python benchmarks/hostile_inputs.py [--only NAME-SUBSTRING] [--command validate|plan]

``tests/test_hostile_inputs.py`` runs the same inputs in process and asserts the exit code,
the absence of a traceback and the location of the message; time and memory are
measured here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "qrun: 1\nbackend: {name: aer}\n"
SAMPLE = "primitives:\n  - sampler:\n    name: counts\n    pubs: [{circuit: c}]\n"
ONE_QUBIT = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg b[1]; h q[0]; measure q -> b;'
PARAMETRIC = """circuits:
  c:
    qasm: |
      OPENQASM 3.0;
      include "stdgates.inc";
      input float theta;
      qubit[1] q;
      bit[1] b;
      rx(theta) q[0];
      b = measure q;
primitives:
  - sampler:
    name: counts
    pubs:
      - circuit: c
        parameter_values: {values}
"""
ESTIMATE = """circuits:
  c: {{qasm: 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0], q[1];'}}
observables:
  zz: {observable}
primitives:
  - estimator:
    name: energy
    pubs: [{{circuit: c, observables: zz}}]
"""

#: Ceilings every row must stay under.
MAX_SECONDS = 5.0
MAX_MEGABYTES = 500.0


@dataclass(frozen=True)
class Hostile:
    """One hostile manifest, the files beside it, and where its refusal must point.

    ``files`` maps a name beside the manifest to its bytes, or to ``"fifo"`` (a named
    pipe), or to ``"->TARGET"`` (a symlink to TARGET). ``where`` is the start of the
    message after the manifest's name (``line:col: $.path``); ``commands`` are those that
    must refuse it (a circuit that no PUB uses is valid, only the plan builds it).
    ``hidden`` is text that must never appear in the output (the content of a file that
    is refused).
    """

    name: str
    text: str | bytes
    where: str
    files: dict[str, bytes | str] = field(default_factory=dict)
    commands: tuple[str, ...] = ("validate", "plan")
    hidden: str | None = None


def _circuit(qasm: str) -> str:
    return HEADER + f"circuits:\n  c: {{qasm: '{qasm}'}}\n" + SAMPLE


def _file_circuit(reference: str) -> str:
    return HEADER + f"circuits:\n  c: {{file: {reference}}}\n" + SAMPLE


def _library(name: str, args: str) -> str:
    return HEADER + f"circuits:\n  c: {{library: {name}, args: {{{args}}}}}\n" + SAMPLE


def _with(extra: str) -> str:
    """A valid one-qubit manifest with ``extra`` (top-level YAML) appended."""
    return _circuit(ONE_QUBIT) + extra


SECRET = b"root:x:0:0:TOP-SECRET-CONTENT\n"

CASES: list[Hostile] = [
    # --- files it must not read ---
    Hostile(
        "qasm2-include-absolute",
        HEADER
        + "circuits:\n  c:\n    qasm: |\n      OPENQASM 2.0;\n"
        + '      include "/etc/passwd";\n      qreg q[1];\n'
        + SAMPLE,
        "7:7: $.circuits.c.qasm: include '/etc/passwd' is refused",
        hidden="root:",
    ),
    Hostile(
        "qasm2-include-parent",
        HEADER
        + "circuits:\n  c:\n    qasm: |\n      OPENQASM 2.0;\n"
        + '      include "../x";\n      qreg q[1];\n'
        + SAMPLE,
        "7:7: $.circuits.c.qasm: include '../x' is refused",
    ),
    Hostile(
        "qasm3-include-beside",
        HEADER
        + "circuits:\n  c:\n    qasm: |\n      OPENQASM 3.0;\n"
        + '      include "secret.inc";\n      qubit q;\n'
        + SAMPLE,
        "7:7: $.circuits.c.qasm: include 'secret.inc' is refused",
        files={"secret.inc": SECRET},
        hidden="TOP-SECRET",
    ),
    Hostile(
        "file-include-in-file",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: c.qasm:1:15: include 'secret.inc' is refused",
        files={"c.qasm": b'OPENQASM 2.0; include "secret.inc"; qreg q[1];\n', "secret.inc": SECRET},
        hidden="TOP-SECRET",
    ),
    Hostile(
        "file-nul-byte",
        _file_circuit('"c\\0.qasm"'),
        "4:13: $.circuits.c.file: a file name cannot contain a NUL character",
    ),
    Hostile(
        "file-absolute",
        _file_circuit("/etc/passwd"),
        "4:13: $.circuits.c.file: '/etc/passwd' is an absolute path",
        hidden="root:",
    ),
    Hostile(
        "file-traversal",
        _file_circuit("../../../../etc/passwd"),
        "4:13: $.circuits.c.file: '../../../../etc/passwd' leaves the manifest's folder",
        hidden="root:",
    ),
    Hostile(
        "file-symlink-out",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: 'c.qasm' leaves the manifest's folder",
        files={"c.qasm": "->/etc/passwd"},
        hidden="root:",
    ),
    Hostile(
        "file-symlink-to-device",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: 'c.qasm' leaves the manifest's folder",
        files={"c.qasm": "->/dev/zero"},
    ),
    Hostile(
        "file-fifo",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: 'c.qasm' is a named pipe (FIFO), not a regular file",
        files={"c.qasm": "fifo"},
    ),
    Hostile(
        "file-symlink-to-fifo",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: 'c.qasm' is a named pipe (FIFO), not a regular file",
        files={"c.qasm": "->pipe", "pipe": "fifo"},
    ),
    Hostile(
        "file-directory",
        _file_circuit("sub"),
        "4:13: $.circuits.c.file: 'sub' is a directory, not a regular file",
        files={"sub/x": b""},
    ),
    Hostile(
        "file-not-utf8",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: cannot read 'c.qasm': it is not UTF-8 text",
        files={"c.qasm": b"OPENQASM 2.0;\n\xff\xfeSECRET-BYTES"},
        hidden="SECRET-BYTES",
    ),
    Hostile(
        "file-not-qasm",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: OpenQASM must start with a version header",
        files={"c.qasm": SECRET},
        hidden="TOP-SECRET",
    ),
    Hostile(
        "file-huge",
        _file_circuit("c.qasm"),
        "4:13: $.circuits.c.file: 'c.qasm' is larger than 8 MiB",
        files={"c.qasm": b"OPENQASM 2.0;\n" + b"// padding\n" * 900_000},
    ),
    # --- YAML that is hostile as text ---
    Hostile(
        "integer-5000-digits",
        _with("metadata: {name: x, n: " + "9" * 5000 + "}\n"),
        "9:24: $.metadata.n: a number written with 5,000 characters",
    ),
    Hostile(
        "key-1mb",
        _with("metadata:\n  labels:\n    ? " + "k" * 1_000_000 + "\n    : v\n"),
        "11:7: $.metadata.labels: a key of 1,000,000 characters",
    ),
    Hostile(
        "syntax-error-long-line",
        _with("metadata: {name: [" + "1, " * 400_000 + "}\n"),
        "9:",
    ),
    Hostile("nesting-deep-flow", _with("metadata: " + "[" * 100_000 + "\n"), "9:"),
    Hostile(
        "nesting-deep-block",
        _with("metadata:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200))),
        "",
    ),
    Hostile(
        "alias-bomb",
        _with(
            "metadata:\n  labels:\n    a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"    {chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
                for i in range(8)
            )
        ),
        "",
    ),
    Hostile("manifest-huge", _with("# " + "x" * (9 * 1024 * 1024) + "\n"), "1:1: $: the file is"),
    Hostile("not-utf8", _with("metadata: {name: x}\n").encode() + b"\xff\xfe\n", "10:1: $:"),
    # --- numbers that are not finite or not in range ---
    Hostile(
        "max-time-nan",
        _with("execution: {max_time: .nan}\n"),
        "9:23: $.execution.max_time: numbers must be finite",
    ),
    Hostile(
        "max-time-inf",
        _with("execution: {max_time: .inf}\n"),
        "9:23: $.execution.max_time: numbers must be finite",
    ),
    Hostile(
        "max-time-1e999",
        _with("execution: {max_time: 1.0e+999}\n"),
        "9:23: $.execution.max_time: numbers must be finite",
    ),
    Hostile(
        "max-time-huge-digits",
        _with("execution: {max_time: " + "9" * 90 + "}\n"),
        "9:23: $.execution.max_time",
    ),
    Hostile(
        "max-time-huge-text",
        _with("execution: {max_time: '" + "9" * 60 + "d'}\n"),
        "9:23: $.execution.max_time",
    ),
    Hostile(
        "coefficient-nan",
        HEADER + ESTIMATE.format(observable="{ZZ: .nan}"),
        "6:12: $.observables.zz.ZZ: numbers must be finite",
    ),
    Hostile(
        "coefficient-1e999-pair",
        HEADER + ESTIMATE.format(observable="[[ZZ, -1.0e+999]]"),
        "6:13: $.observables.zz[0][1]: numbers must be finite",
    ),
    Hostile(
        "parameter-nan",
        HEADER + PARAMETRIC.format(values="[[.nan]]"),
        "18:29: $.primitives[0].pubs[0].parameter_values[0][0]: numbers must be finite",
    ),
    Hostile(
        "linspace-inf",
        HEADER + PARAMETRIC.format(values="{linspace: {start: 0, stop: .inf, num: 3}}"),
        "18:55: $.primitives[0].pubs[0].parameter_values.linspace.stop: numbers must be finite",
    ),
    Hostile(
        "transpile-seed-2-70",
        _with("transpile: {seed: 1180591620717411303424}\n"),
        "9:19: $.transpile.seed",
    ),
    Hostile(
        "shots-huge",
        _with("").replace(
            "name: counts", "name: counts\n    options: {default_shots: 10000000000000}"
        ),
        "8:30: $.primitives[0].options.default_shots: 10,000,000,000,000 shots",
    ),
    Hostile(
        "seed-simulator-huge",
        _with("").replace(
            "name: counts",
            "name: counts\n    options: {seed_simulator: 1000000000000000000000000000000}",
        ),
        "8:31: $.primitives[0].options.seed_simulator",
    ),
    Hostile(
        "precision-zero",
        HEADER
        + ESTIMATE.format(observable="{ZZ: 1}").replace(
            "name: energy", "name: energy\n    options: {default_precision: 0}"
        ),
        "10:34: $.primitives[0].options.default_precision",
    ),
    Hostile(
        "precision-1e-200",
        HEADER
        + ESTIMATE.format(observable="{ZZ: 1}").replace(
            "name: energy", "name: energy\n    options: {default_precision: 1.0e-200}"
        ),
        "10:34: $.primitives[0].options.default_precision: precision 1e-200 needs",
    ),
    Hostile(
        "random-range-huge",
        HEADER
        + PARAMETRIC.format(
            values="{random: {seed: 1, low: -1.0e+308, high: 1.0e+308, shape: [2]}}"
        ),
        "18:36: $.primitives[0].pubs[0].parameter_values.random: high - low",
    ),
    # --- sizes ---
    Hostile(
        "linspace-1e9",
        HEADER + PARAMETRIC.format(values="{linspace: {start: 0, stop: 1, num: 1000000000}}"),
        "18:63: $.primitives[0].pubs[0].parameter_values.linspace.num",
    ),
    Hostile(
        "random-shape-1e10",
        HEADER
        + PARAMETRIC.format(values="{random: {seed: 1, low: 0, high: 1, shape: [100000, 100000]}}"),
        "18:70: $.primitives[0].pubs[0].parameter_values.random.shape",
    ),
    Hostile(
        "random-shape-float",
        HEADER
        + PARAMETRIC.format(values="{random: {seed: 1, low: 0, high: 1, shape: [555662339.0]}}"),
        "18:70: $.primitives[0].pubs[0].parameter_values.random.shape: 555,662,339 parameter",
    ),
    Hostile(
        "parameter-values-40-deep",
        HEADER + PARAMETRIC.format(values="[" * 40 + "1" + "]" * 40),
        "18:27: $.primitives[0].pubs[0].parameter_values: parameter values nest 40 lists deep",
    ),
    Hostile(
        "qasm2-register-1e8",
        _circuit('OPENQASM 2.0; include "qelib1.inc"; qreg q[100000000];'),
        "4:13: $.circuits.c.qasm: the program declares 100,000,000 qubits or bits",
    ),
    Hostile(
        "qasm3-register-1e9",
        _circuit("OPENQASM 3.0; qubit[1000000000] q;"),
        "4:13: $.circuits.c.qasm: the program declares 1,000,000,000 qubits or bits",
    ),
    Hostile(
        "qasm3-register-digits",
        _circuit("OPENQASM 3.0; qubit[" + "9" * 4000 + "] q;"),
        "4:13: $.circuits.c.qasm",
    ),
    Hostile(
        "qasm3-many-registers",
        _circuit("OPENQASM 3.0; " + "".join(f"qubit[1000] q{i}; " for i in range(200))),
        "4:13: $.circuits.c.qasm: the program declares 200,000 qubits or bits",
    ),
    Hostile(
        "quantum-volume-huge",
        _library("quantum_volume", "num_qubits: 100000000"),
        "4:51: $.circuits.c.args.num_qubits",
    ),
    Hostile(
        "efficient-su2-huge",
        _library("efficient_su2", "num_qubits: 100000"),
        "4:50: $.circuits.c.args.num_qubits",
    ),
    Hostile(
        "efficient-su2-reps-huge",
        _library("efficient_su2", "num_qubits: 2, reps: 100000000"),
        "4:59: $.circuits.c.args.reps",
    ),
    Hostile(
        "efficient-su2-wide-and-deep",
        _library("efficient_su2", "num_qubits: 1000, reps: 1000"),
        "4:37: $.circuits.c.args: 1,000,000 qubits × layers",
    ),
    Hostile(
        "random-circuit-wide-and-deep",
        _library("random_circuit", "num_qubits: 1000, depth: 1000, seed: 1"),
        "4:38: $.circuits.c.args: 1,000,000 qubits × layers",
    ),
    Hostile(
        "pub-shots-huge",
        _with("").replace("{circuit: c}", "{circuit: c, shots: 100000000000}"),
        "8:32: $.primitives[0].pubs[0].shots: 100,000,000,000 shots",
    ),
    Hostile(
        "observable-wide",
        HEADER + ESTIMATE.format(observable="[[" + "Z" * 100_000 + ", 1]]"),
        "6:8: $.observables.zz[0]: the observable acts on 100,000 qubits",
    ),
    Hostile(
        "metadata-name-300",
        _with("metadata: {name: " + "b" * 300 + "}\n"),
        "9:18: $.metadata.name: expected at most 100 characters",
    ),
    # --- options checked, not ignored ---
    Hostile(
        "aer-method-unknown",
        _with("").replace("{name: aer}", "{name: aer, options: {method: bogus_method}}"),
        "2:40: $.backend.options.method",
    ),
    Hostile(
        "aer-device-unknown",
        _with("").replace("{name: aer}", "{name: aer, options: {device: TPU}}"),
        "2:40: $.backend.options.device",
    ),
    # --- valid until built ---
    Hostile(
        "unused-circuit-does-not-parse",
        _with("").replace("circuits:\n", "circuits:\n  spare: {qasm: 'OPENQASM 2.0; nope;'}\n"),
        "4:17: $.circuits.spare.qasm: OpenQASM 2 does not parse",
        commands=("plan",),
    ),
]


def materialise(case: Hostile, folder: Path) -> Path:
    """Write ``case`` into ``folder``; the manifest's path."""
    for name, content in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if content == "fifo":
            os.mkfifo(target)
        elif isinstance(content, str) and content.startswith("->"):
            target.symlink_to(content[2:])
        elif isinstance(content, bytes):
            target.write_bytes(content)
    manifest = folder / "m.yaml"
    if isinstance(case.text, bytes):
        manifest.write_bytes(case.text)
    else:
        manifest.write_text(case.text, encoding="utf-8")
    return manifest


@dataclass(frozen=True)
class Row:
    """What one command did on one input."""

    case: str
    command: str
    code: int
    traceback: bool
    seconds: float
    megabytes: float
    first_line: str
    located: bool
    leaked: bool

    def verdict(self) -> str:
        wrong = []
        if self.code != 1:
            wrong.append(f"exit {self.code}")
        if self.traceback:
            wrong.append("traceback")
        if self.seconds >= MAX_SECONDS:
            wrong.append("slow")
        if self.megabytes >= MAX_MEGABYTES:
            wrong.append("memory")
        if not self.located:
            wrong.append("location")
        if self.leaked:
            wrong.append("echoes a refused file")
        return ", ".join(wrong) or "ok"


def measure(case: Hostile, command: str, timeout: float) -> Row:
    """Run ``qrun COMMAND`` on ``case`` in a fresh folder, as its own process."""
    with tempfile.TemporaryDirectory(prefix="qrun-hostile-") as tmp:
        manifest = materialise(case, Path(tmp))
        argv = [sys.executable, "-m", "qrun", command, str(manifest)]
        started = time.perf_counter()
        with (
            tempfile.TemporaryFile() as out,
            subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL) as process,
        ):
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    process.kill()
                    pid, status, usage = os.wait4(process.pid, 0)
                    break
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
    shown = text.replace(f"{manifest}:", "")
    lines = [line for line in shown.splitlines() if line.strip()]
    first = next((line for line in lines if not line.startswith(("qrun: ", "1 file"))), "")
    first = first or (lines[0] if lines else "")
    located = any(line.startswith(case.where) for line in shown.splitlines()) or any(
        line.startswith("qrun: " + case.where) for line in shown.splitlines()
    )
    return Row(
        case=case.name,
        command=command,
        code=process.returncode,
        traceback="Traceback (most recent call last)" in text,
        seconds=seconds,
        megabytes=usage.ru_maxrss / 1024,  # kilobytes on Linux
        first_line=first,
        located=located,
        leaked=case.hidden is not None and case.hidden in text,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the inputs whose name contains this")
    parser.add_argument("--command", choices=("validate", "plan"), action="append")
    parser.add_argument("--timeout", type=float, default=60.0, help="kill a command after this")
    args = parser.parse_args()
    commands = args.command or ["validate", "plan"]
    rows = []
    print(f"{'input':<32} {'command':<8} {'exit':>4} {'tb':>3} {'time s':>7} {'MB':>6}  verdict")
    for case in CASES:
        if args.only not in case.name:
            continue
        for command in commands:
            if command not in case.commands:
                continue
            row = measure(case, command, args.timeout)
            rows.append(row)
            print(
                f"{row.case:<32} {row.command:<8} {row.code:>4} "
                f"{'yes' if row.traceback else 'no':>3} {row.seconds:>7.2f} "
                f"{row.megabytes:>6.0f}  {row.verdict()}"
            )
            print(f"    {row.first_line[:150]}")
    wrong = [row for row in rows if row.verdict() != "ok"]
    slowest = max(rows, key=lambda row: row.seconds)
    largest = max(rows, key=lambda row: row.megabytes)
    print(
        f"\n{len(rows)} rows, {len(wrong)} wrong; slowest {slowest.seconds:.2f} s "
        f"({slowest.case} {slowest.command}); largest {largest.megabytes:.0f} MB "
        f"({largest.case} {largest.command})"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
