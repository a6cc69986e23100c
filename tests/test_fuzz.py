"""Fuzzed manifests: ``validate`` and ``plan`` only ever answer with issues, in bounded
time and memory.

Manifests come from three sources: documents generated from the published schema (with
hostile leaves mixed in: huge integers, NaN and infinities, long strings, NUL bytes, path
traversals, sizes just under and far over the limits), the shipped examples with one
node replaced by such a value or dropped, and the examples' text cut, spliced or
garbled. Each is checked as ``qrun validate`` checks it and, when it is valid, planned as
``qrun plan`` plans it (on the local provider, in this process). A case fails on any
exception other than qrun's own errors (what the command line would report as exit 3),
on taking more CPU time than the per-case limit (CPU time, not wall time, so that a busy
machine does not fail a case; a hang is cut off by an alarm), and on growing the
process's peak memory by more than the per-case limit (its address space is capped
meanwhile, so that a blow-up fails the case instead of exhausting the machine).

Two profiles: ``ci`` (the default, a bounded run for every test run) and ``long``, for a
search of its own before a release::

    QRUN_FUZZ=long pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrun.errors import QrunError
from qrun.manifest.diagnostics import Issue, ManifestError
from qrun.manifest.load import check, load_manifest
from qrun.manifest.model import Manifest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from qrun.providers.local import LocalProvider

SPEC = resources.files("qrun.spec")
SCHEMA: dict[str, Any] = json.loads((SPEC / "manifest.schema.json").read_text("utf-8"))
EXAMPLES = Path(str(SPEC / "examples"))
TEXTS = {path.name: path.read_text("utf-8") for path in sorted(EXAMPLES.glob("*.yaml"))}

#: Per case: the CPU time a validate-and-plan may take, and how much it may grow the
#: process's peak memory.
CASE_SECONDS = 5.0
CASE_MEGABYTES = 500
#: A case still running after this long is stopped by an alarm and fails as a hang.
HANG_SECONDS = 30

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,  # the per-case limit is on CPU time (see _judge)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)
settings.register_profile(
    "long",
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
FUZZ = settings(settings.get_profile(os.environ.get("QRUN_FUZZ", "ci")))


# ---------------------------------------------------------------- the manifest's folder


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder with a circuit file and the traps a hostile manifest may name: a FIFO, a
    symlink out of the folder, one to a device, a directory and a file in the wrong
    encoding."""
    path = Path(tempfile.mkdtemp(prefix="qrun-fuzz-"))
    shutil.copy(EXAMPLES / "ghz.qasm", path / "ghz.qasm")
    os.mkfifo(path / "pipe.qasm")
    (path / "passwd.qasm").symlink_to("/etc/passwd")
    (path / "zero.qasm").symlink_to("/dev/zero")
    (path / "sub.qasm").mkdir()
    (path / "latin1.qasm").write_bytes(b"OPENQASM 2.0;\n// \xe9\n")
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    """One local provider for every plan, warmed up on the examples: a backend is built,
    and Qiskit's transpiler loaded, once, not in the first case that needs them."""
    from qrun.providers.local import LocalProvider

    chosen = LocalProvider()
    for name in ("bell.yaml", "fake-backend.yaml"):
        _plan(load_manifest(EXAMPLES / name), chosen)
    yield chosen
    chosen.shutdown()


# ------------------------------------------------------------------------- judging


class Hang(Exception):
    """A case ran longer than :data:`HANG_SECONDS`."""


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(_signal: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _peak_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _address_space() -> int:
    """The bytes of address space this process holds now."""
    pages = Path("/proc/self/statm").read_text(encoding="ascii").split()[0]
    return int(pages) * resource.getpagesize()


@contextmanager
def _memory_cap(megabytes: int) -> Iterator[None]:
    """Let the process grow by at most ``megabytes`` of address space meanwhile: past it an
    allocation fails here (MemoryError) instead of exhausting the machine."""
    previous = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, previous[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, previous)


def _judge(text: str, folder: Path, provider: LocalProvider) -> list[Issue]:
    """Check ``text`` as a manifest in ``folder`` and plan it when it is valid: only
    issues or qrun's own errors may come back, in bounded time and memory."""
    path = folder / "fuzzed.yaml"
    path.write_text(text, "utf-8")
    before = _peak_megabytes()
    started = time.process_time()
    with _alarm(HANG_SECONDS), _memory_cap(4 * CASE_MEGABYTES):
        issues = check(path)
        assert all(isinstance(issue, Issue) for issue in issues)
        try:
            manifest = load_manifest(path)
        except ManifestError as error:
            assert list(error.issues) == issues
            assert issues
        else:
            assert isinstance(manifest, Manifest)
            assert issues == []
            _plan(manifest, provider)
    spent = time.process_time() - started
    assert spent < CASE_SECONDS, f"the case took {spent:.1f} s of CPU time"
    grown = _peak_megabytes() - before
    assert grown < CASE_MEGABYTES, f"the peak memory grew by {grown:.0f} MB"
    return issues


def _plan(manifest: Manifest, provider: LocalProvider) -> None:
    """What ``qrun plan`` does after loading: plan, then describe and render the plan."""
    from qrun.run.plan import make_plan
    from qrun.run.review import describe_plan, render_plan

    try:
        render_plan(describe_plan(make_plan(manifest, provider)))
    except QrunError as error:
        assert str(error)


# --------------------------------------------------------------------- hostile values

HOSTILE_INTEGERS = [
    0,
    -1,
    2**31,
    2**63,
    2**70,
    10**18,
    10**99,
    10**200,
    1000,
    1024,
    1025,
    10**6,
    10**6 + 1,
    10**9,
]
HOSTILE_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1e-300]
HOSTILE_STRINGS = [
    "",
    "\0",
    "a\0b",
    "x" * 100_000,
    "../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "pipe.qasm",
    "passwd.qasm",
    "zero.qasm",
    "sub.qasm",
    "latin1.qasm",
    "ghz.qasm",
    "file:///etc/passwd",
    "~/.qiskit/qiskit-ibm.json",
    "1e999",
    "nan",
    "99999999999999999999999d",
    'OPENQASM 2.0;\ninclude "/etc/passwd";\nqreg q[1];\n',
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[100000000];\n',
    "OPENQASM 3.0;\nqubit[1000000000] q;\n",
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1000] q;\nh q;\n',
    "OPENQASM 3.0;\n" + "qubit q;\n" * 2000,
    "OPENQASM 2.0;\n" + "\u202e\ufeff\U0001f600",
    "Z" * 2000,
]


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


hostile_values = st.one_of(
    st.sampled_from(HOSTILE_INTEGERS),
    st.sampled_from(HOSTILE_FLOATS),
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from([_deep(60), _deep(70), {"a": _deep(63)}, [[1.0] * 2000] * 50]),
    st.builds(lambda n: list(range(n)), st.sampled_from([0, 1, 10_000])),
)


# ------------------------------------------------------- documents from the schema

#: Names every generated reference is drawn from, so that circuits, observables and
#: PUBs sometimes agree and the plan goes deep.
NAMES = ["bell", "zz", "ansatz", "hamiltonian"]
_DEFS: dict[str, Any] = SCHEMA["$defs"]
_MAX_DEPTH = 7


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target = _DEFS[schema["$ref"].rsplit("/", 1)[1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _merge(*schemas: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for schema in schemas:
        for key, value in _resolve(schema).items():
            if key == "required":
                merged[key] = [*merged.get(key, []), *value]
            elif key == "properties":
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
    return merged


def _without(schema: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in keys}


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[object]:
    """Documents the (sub)schema describes, now and then with a hostile leaf."""
    schema = _resolve(schema)
    if "if" in schema:
        rest = _without(schema, "if", "then", "else")
        then = _merge(rest, schema["if"], schema.get("then", {}))
        otherwise = _merge(rest, schema.get("else", {}))
        return st.one_of(from_schema(then, depth), from_schema(otherwise, depth))
    for key in ("oneOf", "anyOf"):
        if key in schema:
            rest = _without(schema, key)
            return st.one_of([from_schema(_merge(rest, alt), depth) for alt in schema[key]])
    generated = _typed(schema, depth)
    examples = schema.get("examples")
    if examples:
        generated = st.one_of(st.sampled_from(examples), generated)
    return generated


def _typed(schema: dict[str, Any], depth: int) -> st.SearchStrategy[object]:
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.sampled_from(["", "bogus", "GPU"])
    kinds = schema.get("type", ["null", "boolean", "integer", "number", "string"])
    if isinstance(kinds, list):
        return st.one_of([_typed({**schema, "type": kind}, depth) for kind in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**63)))
        high = schema.get("maximum", 2**63)
        return st.integers(low, high) | st.sampled_from(HOSTILE_INTEGERS)
    if kinds == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        finite = st.floats(min_value=low, max_value=schema.get("maximum"), allow_nan=False)
        return finite | st.integers(-10, 10) | st.sampled_from(HOSTILE_FLOATS)
    if kinds == "string":
        return _string(schema)
    if kinds == "array":
        if depth > _MAX_DEPTH:
            return st.just([])
        items = from_schema(schema.get("items", {}), depth + 1)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 3), 3)))
    if kinds == "object":
        return _object(schema, depth)
    raise AssertionError(f"a schema type the fuzzer does not know: {kinds!r}")


def _string(schema: dict[str, Any]) -> st.SearchStrategy[object]:
    pattern = schema.get("pattern")
    plain = (
        st.from_regex(pattern, fullmatch=True)
        if pattern
        else st.text(max_size=schema.get("maxLength", 20))
    )
    return st.one_of(st.sampled_from(NAMES), plain, st.sampled_from(HOSTILE_STRINGS))


def _object(schema: dict[str, Any], depth: int) -> st.SearchStrategy[object]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = [key for key in schema.get("required", []) if key in properties]
    if depth > _MAX_DEPTH:
        return st.fixed_dictionaries({key: st.none() for key in required})
    fixed = st.fixed_dictionaries(
        {key: from_schema(properties[key], depth + 1) for key in required},
        optional={
            key: from_schema(value, depth + 1)
            for key, value in properties.items()
            if key not in required
        },
    )
    extra = schema.get("additionalProperties", True)
    if extra is True or extra is False:
        return fixed
    names = from_schema(schema.get("propertyNames", {"type": "string"}), depth + 1)
    values = from_schema(extra, depth + 1)
    low = schema.get("minProperties", 0)
    more = st.dictionaries(names.filter(lambda key: isinstance(key, str)), values, max_size=2)
    return (
        st.tuples(fixed, more)
        .map(lambda pair: {**pair[1], **pair[0]})
        .filter(lambda document: len(document) >= low)
    )


MANIFESTS = from_schema(_without(SCHEMA, "$defs"))


def _dump(document: object) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1_000_000)


class TestFromTheSchema:
    """If a manifest is generated from the schema, validate and plan answer with issues
    only, in bounded time and memory."""

    @FUZZ
    @given(document=MANIFESTS)
    def test_generated(self, document: object, folder: Path, provider: LocalProvider) -> None:
        _judge(_dump(document), folder, provider)


# ---------------------------------------------------------- mutations of the examples


def _nodes(value: object, trail: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [trail]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*trail, index))
    return found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mutate(name: str, data: st.DataObject, values: st.SearchStrategy[object]) -> str:
    document = yaml.safe_load(TEXTS[name])
    trail = data.draw(st.sampled_from(_nodes(document)[1:]))
    parent = document
    for step in trail[:-1]:
        parent = parent[step]
    replacement = data.draw(st.none() | values)
    if replacement is None:
        del parent[trail[-1]]
    else:
        parent[trail[-1]] = replacement
    return _dump(document)


class TestStructuralMutations:
    """If a node of an example is dropped or replaced, by anything or by a hostile value,
    validate and plan answer with issues only."""

    @FUZZ
    @given(name=st.sampled_from(sorted(TEXTS)), data=st.data())
    def test_any_value(
        self, name: str, data: st.DataObject, folder: Path, provider: LocalProvider
    ) -> None:
        _judge(_mutate(name, data, json_values), folder, provider)

    @FUZZ
    @given(name=st.sampled_from(sorted(TEXTS)), data=st.data())
    def test_hostile_value(
        self, name: str, data: st.DataObject, folder: Path, provider: LocalProvider
    ) -> None:
        _judge(_mutate(name, data, hostile_values), folder, provider)


class TestTextSurgery:
    """If the text itself is cut, spliced or garbled, validate and plan answer with issues
    only."""

    @FUZZ
    @given(
        name=st.sampled_from(sorted(TEXTS)),
        cut=st.tuples(st.integers(min_value=0, max_value=2000), st.integers(0, 40)),
        insert=st.text(alphabet=" \n\t-:[]{}&*!|>'\"#,?%@`01abxyzZ\0\x85\u2028", max_size=12),
    )
    def test_spliced_text(
        self, name: str, cut: tuple[int, int], insert: str, folder: Path, provider: LocalProvider
    ) -> None:
        text = TEXTS[name]
        start = cut[0] % (len(text) + 1)
        _judge(text[:start] + insert + text[start + cut[1] :], folder, provider)

    @FUZZ
    @given(name=st.sampled_from(sorted(TEXTS)), line=st.integers(min_value=0, max_value=80))
    def test_duplicated_line(
        self, name: str, line: int, folder: Path, provider: LocalProvider
    ) -> None:
        lines = TEXTS[name].splitlines(keepends=True)
        line %= len(lines)
        _judge("".join([*lines[: line + 1], lines[line], *lines[line + 1 :]]), folder, provider)
