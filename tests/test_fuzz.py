"""Mutated manifests: the loader and validator only ever answer with issues."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from importlib import resources
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrun.manifest.diagnostics import Issue, ManifestError
from qrun.manifest.load import check, load_manifest
from qrun.manifest.model import Manifest

EXAMPLES = Path(str(resources.files("qrun.spec") / "examples"))
TEXTS = {path.name: path.read_text("utf-8") for path in sorted(EXAMPLES.glob("*.yaml"))}
WORKDIR = Path(tempfile.mkdtemp(prefix="qrun-fuzz-"))
shutil.copy(EXAMPLES / "ghz.qasm", WORKDIR / "ghz.qasm")

FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _judge(text: str) -> list[Issue]:
    """Check ``text`` as a manifest; load it too and make sure the two agree."""
    path = WORKDIR / "fuzzed.yaml"
    path.write_text(text, "utf-8")
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
    return issues


def _nodes(value: object, trail: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [trail]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*trail, index))
    return found


class TestStructuralMutations:
    """If keys are dropped or values swapped for anything, only issues come back."""

    @FUZZ
    @given(name=st.sampled_from(sorted(TEXTS)), data=st.data(), drop=st.booleans())
    def test_mutated_document(self, name: str, data: st.DataObject, drop: bool) -> None:
        document = yaml.safe_load(TEXTS[name])
        trail = data.draw(st.sampled_from(_nodes(document)[1:]))
        parent = document
        for step in trail[:-1]:
            parent = parent[step]
        if drop:
            del parent[trail[-1]]
        else:
            parent[trail[-1]] = data.draw(json_values)
        _judge(yaml.safe_dump(document, allow_unicode=True))


class TestTextSurgery:
    """If the text itself is cut, spliced or garbled, only issues come back."""

    @FUZZ
    @given(
        name=st.sampled_from(sorted(TEXTS)),
        start=st.integers(min_value=0, max_value=2000),
        length=st.integers(min_value=0, max_value=40),
        insert=st.text(alphabet=" \n\t-:[]{}&*!|>'\"#,?%@`01abxyzZ", max_size=12),
    )
    def test_spliced_text(self, name: str, start: int, length: int, insert: str) -> None:
        text = TEXTS[name]
        start %= len(text) + 1
        _judge(text[:start] + insert + text[start + length :])

    @FUZZ
    @given(name=st.sampled_from(sorted(TEXTS)), line=st.integers(min_value=0, max_value=80))
    def test_duplicated_line(self, name: str, line: int) -> None:
        lines = TEXTS[name].splitlines(keepends=True)
        line %= len(lines)
        _judge("".join([*lines[: line + 1], lines[line], *lines[line + 1 :]]))
