"""Reading YAML safely: values, positions, YAML 1.1 traps and hostile input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qrun.manifest import jsonpath
from qrun.manifest.diagnostics import ManifestError
from qrun.manifest.source import (
    MAX_ALIAS_NODES,
    MAX_BYTES,
    MAX_KEY_CHARS,
    MAX_NUMBER_CHARS,
    load_document,
    parse_document,
)

if TYPE_CHECKING:
    from pathlib import Path


def _refusal(text: str) -> str:
    with pytest.raises(ManifestError) as raised:
        parse_document("m.yaml", text)
    (issue,) = raised.value.issues
    return f"{issue.line}:{issue.column} {issue.message}"


class TestValues:
    """If YAML is read, the values are plain JSON-like Python values."""

    def test_core_types(self) -> None:
        text = "s: text\ni: 12\nf: 1.5\nb: true\nn: null\nl: [1, 2]\nm: {k: v}\nd: 2024-01-02\n"
        assert parse_document("m.yaml", text).data == {
            "s": "text",
            "i": 12,
            "f": 1.5,
            "b": True,
            "n": None,
            "l": [1, 2],
            "m": {"k": "v"},
            "d": "2024-01-02",
        }

    def test_merge_keys_expand_and_own_keys_win(self) -> None:
        text = "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n"
        document = parse_document("m.yaml", text)
        assert document.data == {"base": {"x": 1, "y": 2}, "item": {"x": 1, "y": 3}}
        assert document.issues == []

    def test_empty_file_has_no_values(self) -> None:
        assert parse_document("m.yaml", "").data is None


class TestPositions:
    """If an issue names a JSON path, the source map finds where it was written."""

    def test_nested_value_and_key(self) -> None:
        document = parse_document("m.yaml", "a:\n  - x: 1\n    y: [5, 6]\n")
        assert document.source.position("$.a[0].y[1]") == (3, 12)
        assert document.source.key_position("$.a[0].y") == (3, 5)

    def test_missing_node_falls_back_to_the_nearest_ancestor(self) -> None:
        document = parse_document("m.yaml", "a:\n  b: 1\n")
        assert document.source.position("$.a.nope[3]") == (2, 3)

    def test_quoted_keys_round_trip(self) -> None:
        document = parse_document("m.yaml", "labels:\n  'a b': 1\n  \"it's\": 2\n")
        path = jsonpath.child("$.labels", "it's")
        assert jsonpath.parse(path) == ["labels", "it's"]
        assert document.source.position(path) == (3, 11)


class TestRejectedStructure:
    """If the YAML is legal but not a plain manifest document, an issue says why."""

    def test_duplicate_key_names_both_places(self) -> None:
        (issue,) = parse_document("m.yaml", "a: 1\nb: 2\na: 3\n").issues
        assert (issue.line, issue.column, issue.path) == (3, 1, "$.a")
        assert issue.message == "duplicate key 'a' (first at 1:1)"

    def test_non_string_key(self) -> None:
        (issue,) = parse_document("m.yaml", "labels:\n  1: one\n").issues
        assert issue.path == "$.labels['1']"
        assert issue.message == 'keys must be strings, this one is an integer; write "1"'

    def test_unsupported_tag(self) -> None:
        (issue,) = parse_document("m.yaml", "a: !!binary aGk=\n").issues
        assert "the tag !!binary is not supported" in issue.message

    def test_custom_tag_on_a_mapping(self) -> None:
        (issue,) = parse_document("m.yaml", "a: !thing {x: 1}\n").issues
        assert "the tag !thing is not supported" in issue.message

    def test_two_documents(self) -> None:
        assert _refusal("a: 1\n---\nb: 2\n").startswith("2:1 a manifest is one YAML document")

    def test_malformed_yaml_is_one_issue_at_the_parser_mark(self) -> None:
        assert _refusal("a: [1, 2\nb: 3\n").startswith("2:2 invalid YAML:")


class TestYaml11Traps:
    """If YAML 1.1 reads a scalar surprisingly, the issue says so in the author's words."""

    @pytest.mark.parametrize(
        "raw,value,message",
        [
            ("0777", 511, "unquoted `0777` is a YAML 1.1 octal number (511)"),
            ("-010", -8, "unquoted `-010` is a YAML 1.1 octal number (-8)"),
            ("1:30", 90, "unquoted `1:30` is a YAML 1.1 base-60 number (90)"),
            ("1:30.5", 90.5, "unquoted `1:30.5` is a YAML 1.1 base-60 number (90.5)"),
        ],
    )
    def test_octal_and_base_60_are_reported_even_where_numbers_are_fine(
        self, raw: str, value: float, message: str
    ) -> None:
        document = parse_document("m.yaml", f"seed: {raw}\n")
        assert document.data == {"seed": value}
        (issue,) = document.issues
        assert (issue.path, issue.line, issue.column) == ("$.seed", 1, 7)
        assert issue.message.startswith(message)

    def test_quoted_and_ordinary_numbers_are_not_traps(self) -> None:
        document = parse_document("m.yaml", "a: '0777'\nb: 0\nc: 0x1F\nd: 10\n")
        assert document.data == {"a": "0777", "b": 0, "c": 31, "d": 10}
        assert document.issues == []

    def test_yes_no_on_off_are_booleans(self) -> None:
        data = parse_document("m.yaml", "a: no\nb: On\nc: YES\nd: off\n").data
        assert data == {"a": False, "b": True, "c": True, "d": False}


class TestHostileInput:
    """If the input would cost unbounded time or memory, it is refused quickly."""

    def test_billion_laughs(self) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
        message = _refusal("\n".join(lines) + "\n")
        assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in message

    def test_self_referencing_alias(self) -> None:
        assert "an alias refers to the node that contains it" in _refusal("a: &a [*a]\n")

    def test_deep_flow_nesting_never_reaches_the_composer(self) -> None:
        assert "nest deeper than" in _refusal("[" * 200_000 + "]" * 200_000)

    def test_deep_block_nesting(self) -> None:
        text = "".join(f"{'  ' * depth}k:\n" for depth in range(100)) + "  " * 100 + "v\n"
        assert "nest deeper than" in _refusal(text)

    def test_oversize_file(self, tmp_path: Path) -> None:
        path = tmp_path / "big.yaml"
        path.write_bytes(b"#" * (MAX_BYTES + 1))
        with pytest.raises(ManifestError, match="larger than"):
            load_document(path)

    def test_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "latin.yaml"
        path.write_bytes(b"a: 1\nb: caf\xe9\n")
        with pytest.raises(ManifestError) as raised:
            load_document(path)
        (issue,) = raised.value.issues
        assert (issue.line, issue.column, issue.message) == (2, 7, "the file is not UTF-8 text")

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ManifestError, match="no such file"):
            load_document(tmp_path / "absent.yaml")


class TestBoundedValues:
    """If a value is too long or not finite, it is an issue at its place, never a crash."""

    def test_very_long_integer(self) -> None:
        (issue,) = parse_document("m.yaml", "seed: " + "9" * 5000 + "\n").issues
        assert (issue.line, issue.column, issue.path) == (1, 7, "$.seed")
        assert issue.message == (
            f"a number written with 5,000 characters; qrun reads numbers of at most "
            f"{MAX_NUMBER_CHARS}"
        )

    def test_very_long_key(self) -> None:
        text = "labels:\n  ? " + "k" * 1_000_000 + "\n  : v\n"  # YAML's explicit key form
        document = parse_document("m.yaml", text)
        (issue,) = document.issues
        assert (issue.line, issue.column, issue.path) == (2, 5, "$.labels")
        assert issue.message == f"a key of 1,000,000 characters; keys have at most {MAX_KEY_CHARS}"
        assert document.data == {"labels": {}}

    @pytest.mark.parametrize("raw", [".nan", ".inf", "-.Inf", ".NaN"])
    def test_non_finite_numbers(self, raw: str) -> None:
        (issue,) = parse_document("m.yaml", f"max_time: {raw}\n").issues
        assert (issue.path, issue.message) == ("$.max_time", f"numbers must be finite, got {raw}")

    def test_syntax_error_on_a_very_long_line(self) -> None:
        message = _refusal("a: 1\nx: [" + "a" * 200_000 + "\n")
        assert message.startswith("3:1 invalid YAML: did not find expected ',' or ']'")

    def test_syntax_error_inside_a_long_flow_key(self) -> None:
        message = _refusal("labels: {" + "k" * 1_000_000 + ": v}\n")
        assert message.startswith("1:1000010 invalid YAML:")
