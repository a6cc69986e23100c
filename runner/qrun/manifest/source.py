"""Reading a manifest's YAML safely, keeping where every node was written.

The text is composed into a node tree by PyYAML's C parser (the pure-Python one when
libyaml is missing) and the nodes are turned into plain Python values here, in one
tight pass, instead of by PyYAML's constructor. That pass is where qrun's rules live:

* only the core tags (strings, numbers, booleans, null, lists, mappings) are accepted;
  keys must be strings; a key written twice is an error that names both places;
* YAML 1.1 surprises are remembered, not silently absorbed: ``0777`` (octal) and
  ``1:30`` (base 60) are reported wherever they appear, and the raw text of a plain
  scalar is kept so that a type error can say why ``no`` became ``false`` or why ``1e3``
  stayed a string (:func:`explain_scalar`);
* every number is finite (``.nan`` and ``.inf`` are refused where they are written);
* hostile input is refused in bounded time and memory: the file size, the nesting depth,
  the number of nodes aliases expand to, and the length of keys and numbers are limited;
* a file the manifest names (:class:`Folder`) is read only if it is a regular file inside
  the manifest's folder once symlinks are followed: a FIFO, a device, a directory or a
  socket is refused from its metadata, without being opened.

The node tree is kept. Positions are looked up only when an issue is reported, by
walking the tree along the issue's JSON path (:class:`YamlSourceMap`).
"""

from __future__ import annotations

import gc
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from qrun.manifest.diagnostics import Issue, ManifestError
from qrun.manifest.jsonpath import ROOT, Segment
from qrun.manifest.jsonpath import parse as parse_path
from qrun.manifest.jsonpath import render as render_path

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_KEY_CHARS",
    "MAX_NUMBER_CHARS",
    "Document",
    "Folder",
    "FolderFile",
    "YamlSourceMap",
    "explain_scalar",
    "load_document",
    "parse_document",
]

#: Largest manifest read, in bytes.
MAX_BYTES = 8 * 1024 * 1024
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 64
#: Most nodes that aliases (``*name``) may expand to in one document.
MAX_ALIAS_NODES = 100_000
#: Longest mapping key, in characters.
MAX_KEY_CHARS = 256
#: Longest number, in characters (what any field of a manifest needs, and far more).
MAX_NUMBER_CHARS = 100
#: Nesting beyond which the text is not even handed to the C composer (it recurses).
_COMPOSER_SAFE_DEPTH = 2_000

_Loader: type[yaml.SafeLoader]
try:
    _Loader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml is missing
    _Loader = yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_INT = _TAG + "int"
_FLOAT = _TAG + "float"
_BOOL = _TAG + "bool"
_NULL = _TAG + "null"
_MAP = _TAG + "map"
_SEQ = _TAG + "seq"
_MERGE = _TAG + "merge"
_TIMESTAMP = _TAG + "timestamp"

_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_TRUE = frozenset({"yes", "Yes", "YES", "on", "On", "ON"})
_NUMBER_LIKE = re.compile(r"[-+]?(\d[\d_]*)?\.?\d*[eE][-+]?\d+\Z")
_BRACKETS = re.compile(r"[\[\]{}]")
_TOO_DEEP = f"lists and mappings nest deeper than {MAX_DEPTH} levels"


class _Refused(Exception):
    """The document cannot be turned into values at all (one issue, at ``node``)."""

    def __init__(self, node: Node | None, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


@dataclass
class Document:
    """A manifest as plain values, with the node tree that says where each was written."""

    file: str
    text: str
    data: object
    source: YamlSourceMap
    issues: list[Issue]


class YamlSourceMap:
    """Positions of the nodes of one document, looked up by JSON path on demand."""

    def __init__(self, file: str, root: Node | None, text: str = "") -> None:
        self._file = file
        self._root = root
        self._text = text

    @property
    def file(self) -> str:
        return self._file

    def node(self, path: str) -> Node | None:
        """The node at ``path``, or ``None`` if there is none."""
        node, rest = self._walk(path)
        return node if not rest else None

    def position(self, path: str) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path`` or of its nearest ancestor."""
        node, _ = self._walk(path)
        return _mark(node)

    def key_position(self, path: str) -> tuple[int, int]:
        """Where the key of the mapping entry at ``path`` is written (else its value)."""
        segments = _segments(path)
        if segments and isinstance(segments[-1], str):
            parent, rest = self._walk(render_path(segments[:-1]))
            if not rest and isinstance(parent, MappingNode):
                for key_node, _ in _pairs(parent):
                    if isinstance(key_node, ScalarNode) and key_node.value == segments[-1]:
                        return _mark(key_node)
        return self.position(path)

    def inner_position(self, path: str, line: int, column: int) -> tuple[int, int] | None:
        """Where (``line``, ``column``) of the string at ``path`` stands in the manifest,
        when the string is a literal block (``|``) whose lines are the manifest's lines
        shifted and indented; ``None`` for any other string."""
        node = self.node(path)
        if not isinstance(node, ScalarNode) or node.style != "|":
            return None
        rows = self._text.splitlines()
        first = node.start_mark.line + 1 + line  # the text starts after the indicator's line
        if not 0 < first <= len(rows):
            return None
        body = next((row for row in rows[node.start_mark.line + 1 :] if row.strip()), "")
        return first, len(body) - len(body.lstrip(" ")) + column

    def issue(self, path: str, message: str) -> Issue:
        line, column = self.position(path)
        return Issue(self._file, line, column, path, message)

    def key_issue(self, path: str, message: str) -> Issue:
        """An issue about a key itself (unknown, duplicated, not allowed)."""
        line, column = self.key_position(path)
        return Issue(self._file, line, column, path, message)

    def _walk(self, path: str) -> tuple[Node | None, list[Segment]]:
        node = self._root
        segments = _segments(path)
        for index, segment in enumerate(segments):
            found = _step(node, segment)
            if found is None:
                return node, segments[index:]
            node = found
        return node, []


def _segments(path: str) -> list[Segment]:
    try:
        return parse_path(path)
    except ValueError:
        return []


def _step(node: Node | None, segment: Segment) -> Node | None:
    if isinstance(node, SequenceNode) and isinstance(segment, int):
        return node.value[segment] if segment < len(node.value) else None
    if isinstance(node, MappingNode) and isinstance(segment, str):
        found = None
        for key_node, value_node in _pairs(node):
            if isinstance(key_node, ScalarNode) and key_node.value == segment:
                found = value_node  # the last one wins, as in the values
        return found
    return None


def _pairs(node: MappingNode) -> Iterator[tuple[Node, Node]]:
    """The entries of a mapping with merge keys (``<<: *base``) expanded, own keys last."""
    own = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode):
                    yield from _pairs(source)
        else:
            own.append((key_node, value_node))
    yield from own


def _mark(node: Node | None) -> tuple[int, int]:
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def explain_scalar(node: Node | None) -> str | None:
    """Why an unquoted scalar has the type it has, when YAML 1.1 may have surprised the
    author; ``None`` when there is nothing surprising to say."""
    if not isinstance(node, ScalarNode) or node.style:  # plain: None (Python) or "" (C)
        return None
    raw, tag = node.value, node.tag
    if tag == _BOOL and raw not in _TRUE and raw not in _FALSE:
        return f'unquoted `{raw}` is a YAML 1.1 boolean; write "{raw}" for the text'
    if tag == _INT and _is_octal(raw):
        return f"unquoted `{raw}` is a YAML 1.1 octal number ({_int(raw)}); drop the leading 0"
    if tag in (_INT, _FLOAT) and ":" in raw:
        value = _number(node)
        return f"unquoted `{raw}` is a YAML 1.1 base-60 number ({value}); quote it for the text"
    if tag == _STR and _NUMBER_LIKE.match(raw):
        return (
            f"unquoted `{raw}` is a string in YAML 1.1 (exponents need a dot and a sign, "
            f"e.g. 1.0e+3); write the number out, e.g. {_plain_number(raw)}"
        )
    if tag == _NULL:
        return "the value is empty" if raw in ("", "~") else f"unquoted `{raw}` means null"
    return None


def _plain_number(raw: str) -> str:
    value = float(raw.replace("_", ""))
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


def _is_octal(raw: str) -> bool:
    digits = raw.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXbB" and ":" not in digits


def _int(raw: str) -> int:
    """An integer as YAML 1.1 reads it (what PyYAML's safe loader would produce)."""
    text = raw.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text.startswith(("0b", "0B")):
        return sign * int(text[2:], 2)
    if text.startswith(("0x", "0X")):
        return sign * int(text[2:], 16)
    if ":" in text:
        value = 0
        for part in text.split(":"):
            value = value * 60 + int(part)
        return sign * value
    if len(text) > 1 and text[0] == "0":
        return sign * int(text, 8)
    return sign * int(text)


def _float(raw: str) -> float:
    text = raw.replace("_", "").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    if ":" in text:
        value = 0.0
        for part in text.split(":"):
            value = value * 60 + float(part)
        return sign * value
    return sign * float(text)


def _number(node: ScalarNode) -> int | float:
    return _int(node.value) if node.tag == _INT else _float(node.value)


class _Builder:
    """Turns a node tree into plain values, collecting non-fatal issues on the way."""

    def __init__(self, has_aliases: bool) -> None:
        self.issues: list[tuple[Node, str, bool]] = []  # (node, message, about the key)
        self.traps: list[ScalarNode] = []
        self.memo: dict[int, tuple[object, int]] | None = {} if has_aliases else None
        self.building: set[int] = set()
        self.count = 0
        self.aliased = 0

    def value(self, node: Node, depth: int) -> Any:  # plain YAML values
        self.count += 1
        if node.__class__ is ScalarNode:
            return self.scalar(node)
        if depth > MAX_DEPTH:
            raise _Refused(node, _TOO_DEEP)
        memo = self.memo
        if memo is not None:
            seen = memo.get(id(node))
            if seen is not None:
                self.aliased += seen[1]
                self.count += seen[1]
                if self.aliased > MAX_ALIAS_NODES:
                    raise _Refused(
                        node,
                        f"aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing to "
                        "expand the document (write the repeated parts out, or fewer of them)",
                    )
                return seen[0]
            if id(node) in self.building:
                raise _Refused(node, "an alias refers to the node that contains it (a cycle)")
            self.building.add(id(node))
        before = self.count
        if node.__class__ is MappingNode:
            result: object = self.mapping(node, depth)
        elif node.__class__ is SequenceNode:
            result = [self.value(item, depth + 1) for item in node.value]
            if node.tag != _SEQ:
                self.issues.append((node, _tag_message(node.tag), False))
        else:  # pragma: no cover - PyYAML has only three node kinds
            raise _Refused(node, f"unexpected YAML node {node!r}")
        if memo is not None:
            memo[id(node)] = (result, self.count - before)
            self.building.discard(id(node))
        return result

    def scalar(self, node: ScalarNode) -> object:
        tag, raw = node.tag, node.value
        if tag == _STR:
            return raw
        if tag in (_INT, _FLOAT) and len(raw) > MAX_NUMBER_CHARS:
            message = (
                f"a number written with {len(raw):,} characters; qrun reads numbers of at "
                f"most {MAX_NUMBER_CHARS}"
            )
            self.issues.append((node, message, False))
            return raw
        if tag == _INT:
            if raw.isdigit() and (raw[0] != "0" or raw == "0"):
                return int(raw)
            if ":" in raw or _is_octal(raw):
                self.traps.append(node)
            return _int(raw)
        if tag == _FLOAT:
            if ":" in raw:
                self.traps.append(node)
            number = _float(raw)
            if not math.isfinite(number):
                self.issues.append((node, f"numbers must be finite, got {raw}", False))
                return raw
            return number
        if tag == _BOOL:
            return raw in _TRUE or raw in _YAML11_TRUE
        if tag == _NULL:
            return None
        if tag == _TIMESTAMP:
            return raw  # a date stays the text it was written as
        self.issues.append((node, _tag_message(tag), False))
        return raw

    def mapping(self, node: MappingNode, depth: int) -> dict[str, object]:
        result: dict[str, object] = {}
        pairs = node.value
        if any(key.tag == _MERGE for key, _ in pairs):
            pairs = list(_pairs(node))
        value = self.value
        for key_node, value_node in pairs:
            if (
                key_node.__class__ is ScalarNode
                and key_node.tag == _STR
                and len(key_node.value) <= MAX_KEY_CHARS
            ):
                key = key_node.value
            else:
                key = self.key(key_node)
                if key is None:
                    continue
            result[key] = value(value_node, depth + 1)
        if len(result) != len(pairs) or node.tag != _MAP:
            self.check_keys(node, pairs)
        return result

    def key(self, node: Node) -> str | None:
        self.count += 1
        if not isinstance(node, ScalarNode):
            self.issues.append((node, "a key must be a plain string, not a list or mapping", True))
            return None
        if len(node.value) > MAX_KEY_CHARS:
            message = f"a key of {len(node.value):,} characters; keys have at most {MAX_KEY_CHARS}"
            self.issues.append((node, message, False))
            return None
        why = explain_scalar(node)
        if node.tag in (_INT, _FLOAT, _BOOL, _NULL) and not node.style:
            kind = {_INT: "an integer", _FLOAT: "a number", _BOOL: "a boolean", _NULL: "null"}[
                node.tag
            ]
            detail = f"; {why}" if why else f'; write "{node.value}"'
            self.issues.append((node, f"keys must be strings, this one is {kind}{detail}", True))
        elif node.tag not in (_STR, _TIMESTAMP):
            self.issues.append((node, _tag_message(node.tag), True))
        return str(node.value)

    def check_keys(self, node: MappingNode, pairs: list[tuple[Node, Node]]) -> None:
        if node.tag != _MAP:
            self.issues.append((node, _tag_message(node.tag), False))
        own = {id(key) for key, _ in node.value}
        first: dict[str, Node] = {}
        for key_node, _ in pairs:
            if not isinstance(key_node, ScalarNode):
                continue
            earlier = first.get(key_node.value)
            if earlier is not None and id(key_node) in own and id(earlier) in own:
                line, column = _mark(earlier)
                self.issues.append(
                    (key_node, f"duplicate key {key_node.value!r} (first at {line}:{column})", True)
                )
            first[key_node.value] = key_node


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return (
        f"the tag {shown} is not supported; a manifest uses plain strings, numbers, "
        "booleans, null, lists and mappings"
    )


def _refuse(file: str, line: int, column: int, message: str) -> ManifestError:
    return ManifestError([Issue(file, line, column, ROOT, message)])


def _yaml_refusal(file: str, error: yaml.YAMLError) -> ManifestError:
    """The one issue of text that is not YAML: where the parser stopped, and why."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return _refuse(file, 1, 1, f"invalid YAML: {error}")
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = error.problem or "invalid YAML"
    if "expected a single document" in f"{problem} {error.context}":
        problem = "a manifest is one YAML document; remove the `---` and what follows"
    else:
        problem = f"invalid YAML: {problem}"
        if error.context and error.context_mark and error.context_mark is not mark:
            cline = error.context_mark.line + 1
            ccol = error.context_mark.column + 1
            problem += f" ({error.context} at {cline}:{ccol})"
    return _refuse(file, line, column, problem)


def _check_nesting(file: str, text: str) -> None:
    """Refuse text whose nesting could crash the C composer (it recurses in C)."""
    longest_line = max(map(len, text.split("\n")))
    if longest_line < _COMPOSER_SAFE_DEPTH // 2 and text.count("[") + text.count("{") < (
        _COMPOSER_SAFE_DEPTH // 2
    ):
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > _COMPOSER_SAFE_DEPTH // 2:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - text.rfind("\n", 0, match.start())
            raise _refuse(file, line, column, _TOO_DEEP)
    if longest_line >= _COMPOSER_SAFE_DEPTH // 2:
        try:
            _check_event_nesting(file, text)
        except yaml.YAMLError as error:
            raise _yaml_refusal(file, error) from None


def _check_event_nesting(file: str, text: str) -> None:
    """The nesting check of text with long lines, on the parser's events (no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > _COMPOSER_SAFE_DEPTH // 2:
                mark = event.start_mark
                line, column = (mark.line, mark.column) if mark else (0, 0)
                raise _refuse(file, line + 1, column + 1, _TOO_DEEP)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def parse_document(file: str, text: str) -> Document:
    """Turn manifest text into a :class:`Document`.

    Raises :class:`~qrun.errors.ManifestError` (one issue) if the text is not YAML or
    is refused as a whole; problems that leave the values usable (duplicate keys,
    YAML 1.1 numbers, unsupported tags) are returned in ``Document.issues``.
    """
    if len(text) > MAX_BYTES:
        raise _refuse(file, 1, 1, f"the file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    if text:
        _check_nesting(file, text)
    # The node tree and the values are acyclic (cycles are refused), so the cyclic
    # garbage collector has nothing to find while they are built, only time to waste.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(file, text)
    finally:
        if collecting:
            gc.enable()


def _parse(file: str, text: str) -> Document:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise _yaml_refusal(file, error) from None
    source = YamlSourceMap(file, root, text)
    if root is None:
        return Document(file, text, None, source, [])
    builder = _Builder(has_aliases="&" in text)
    try:
        data = builder.value(root, 0)
    except _Refused as refused:
        line, column = _mark(refused.node)
        raise _refuse(file, line, column, refused.message) from None
    except RecursionError:
        raise _refuse(file, 1, 1, _TOO_DEEP) from None
    issues = []
    for node, message, about_key in builder.issues:
        line, column = _mark(node)
        path = _path_of(root, node, about_key)
        issues.append(Issue(file, line, column, path, message))
    for trap in builder.traps:
        explanation = explain_scalar(trap)
        if explanation:
            line, column = _mark(trap)
            issues.append(Issue(file, line, column, _path_of(root, trap, False), explanation))
    return Document(file, text, data, source, issues)


def _path_of(root: Node, target: Node, about_key: bool) -> str:
    """The JSON path of ``target`` (or of the entry whose key it is); rare, so a search."""
    seen: set[int] = set()
    stack: list[tuple[Node, list[Segment]]] = [(root, [])]
    while stack:
        node, segments = stack.pop()
        if node is target:
            return render_path(segments)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, [*segments, i]) for i, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
                if key_node is target:
                    return render_path([*segments, key] if about_key else segments)
                stack.append((value_node, [*segments, key]))
    return ROOT


def load_document(path: Path, file: str | None = None) -> Document:
    """Read and parse the manifest at ``path``; ``file`` is the name shown in issues."""
    shown = str(path) if file is None else file
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _refuse(shown, 1, 1, "no such file") from None
    except IsADirectoryError:
        raise _refuse(shown, 1, 1, "is a directory, not a manifest file") from None
    except OSError as error:
        raise _refuse(shown, 1, 1, f"cannot read the file: {error.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise _refuse(shown, 1, 1, f"the file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - raw.rfind(b"\n", 0, error.start)
        raise _refuse(shown, line, column, "the file is not UTF-8 text") from None
    return parse_document(shown, text)


@dataclass(frozen=True)
class FolderFile:
    """A file beside the manifest, as it was read."""

    path: Path  # resolved, inside the manifest's folder
    text: str


class Folder:
    """The manifest's folder: the files a manifest names, each read at most once, none
    outside the folder, none larger than a manifest may be.

    Every stage that needs a file's text (the reference checks, the builder) asks here, so
    a file is read once and judged once, and what is checked is what runs.
    """

    def __init__(self, base: Path) -> None:
        self._base = base.resolve()
        self._read: dict[str, tuple[FolderFile | None, str | None]] = {}
        self._bytes: dict[str, tuple[tuple[Path, bytes] | None, str | None]] = {}

    def read(self, name: str) -> tuple[FolderFile | None, str | None]:
        """The file ``name`` as ``(file, None)``, or ``(None, why it cannot be read)``."""
        if name not in self._read:
            self._read[name] = self._load(name)
        return self._read[name]

    def _resolve(self, name: str) -> tuple[Path | None, str | None]:
        if "\0" in name:
            return None, "a file name cannot contain a NUL character"
        if PurePath(name).is_absolute():
            return None, f"{name!r} is an absolute path; name the file relative to the manifest"
        resolved = (self._base / name).resolve()  # follows symlinks; opens nothing
        if not resolved.is_relative_to(self._base):
            return None, f"{name!r} leaves the manifest's folder; keep circuit files beside it"
        try:
            mode = resolved.stat().st_mode
        except FileNotFoundError:
            return None, f"no such file {name!r} (looked in {self._base})"
        except (OSError, ValueError) as error:
            return None, f"cannot read {name!r}: {getattr(error, 'strerror', None) or error}"
        kind = _special_kind(mode)
        if kind is not None:
            return None, f"{name!r} is {kind}, not a regular file; name a circuit file"
        return resolved, None

    def read_bytes(self, name: str) -> tuple[tuple[Path, bytes] | None, str | None]:
        """The binary file ``name`` as ``((path, bytes), None)``, or ``(None, why not)``."""
        if name not in self._bytes:
            self._bytes[name] = self._load_bytes(name)
        return self._bytes[name]

    def _load_bytes(self, name: str) -> tuple[tuple[Path, bytes] | None, str | None]:
        resolved, problem = self._resolve(name)
        if resolved is None:
            return None, problem
        try:
            # Not blocking, not following a link: a file swapped for a FIFO or a symlink
            # since it was judged is refused, not waited on or followed.
            descriptor = os.open(resolved, _OPEN_FLAGS)
        except OSError as error:
            return None, f"cannot read {name!r}: {error.strerror}"
        with os.fdopen(descriptor, "rb") as stream:
            kind = _special_kind(os.fstat(descriptor).st_mode)
            if kind is not None:
                return None, f"{name!r} is {kind}, not a regular file; name a circuit file"
            try:
                raw = stream.read(MAX_BYTES + 1)
            except OSError as error:
                return None, f"cannot read {name!r}: {error.strerror}"
        if len(raw) > MAX_BYTES:
            return None, f"{name!r} is larger than {MAX_BYTES // 1024 // 1024} MiB"
        return (resolved, raw), None

    def _load(self, name: str) -> tuple[FolderFile | None, str | None]:
        found, problem = self._load_bytes(name)
        if found is None:
            return None, problem
        raw = found[1]
        resolved = found[0]
        try:
            return FolderFile(resolved, raw.decode("utf-8-sig")), None
        except UnicodeDecodeError:
            return None, f"cannot read {name!r}: it is not UTF-8 text"


#: How a file beside the manifest is opened: read only, never waiting on a FIFO, never
#: through a symlink (the path was resolved already), not inherited by child processes.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _special_kind(mode: int) -> str | None:
    """What a file of ``mode`` is, if it is not a regular file (read without opening)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
