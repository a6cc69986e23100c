"""A manifest's text in the canonical layout, comments kept (ruamel.yaml's round trip).

The layout: keys in the schema's order (:mod:`qrun.formatting.keyorder`), two spaces per
level with list dashes indented under their key, strings quoted only where a plain
scalar would be read as something else (by qrun's YAML 1.1 reader or by YAML 1.2
tools), OpenQASM and other multi-line text as literal blocks (``|``), and short lists of
scalars in flow style (``[a, b]``). A flow mapping or list of lists that fits on a line
stays as it was written; anything longer, or holding a comment, becomes a block.
Comments, the ``yaml-language-server`` modeline and blank lines stay where they are;
when keys are reordered, the full-line comments above a key move with it.

ruamel.yaml is imported only here: ``qrun validate`` and runs never pay for it.
"""

from __future__ import annotations

import io
import itertools
from functools import cache
from typing import TYPE_CHECKING, cast

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.compat import ordereddict
from ruamel.yaml.error import CommentMark
from ruamel.yaml.nodes import ScalarNode as RuamelScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

from qrun.formatting.keyorder import KeyOrder, keep_steps

if TYPE_CHECKING:
    from collections.abc import Callable

    from qrun.formatting.keyorder import Schemas

__all__ = ["FLOW_WIDTH", "canonical_text"]

#: Longest list or mapping, in characters, written in flow style on one line.
FLOW_WIDTH = 60
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_STR = "tag:yaml.org,2002:str"


@cache
def _yaml() -> YAML:
    document = YAML(typ="rt")
    document.preserve_quotes = True
    document.indent(mapping=2, sequence=4, offset=2)
    document.width = 4096  # never fold a long line
    return document


@cache
def _key_order() -> KeyOrder:
    from qrun.manifest.schema import schema

    return KeyOrder(schema())


def canonical_text(text: str) -> str:
    """``text`` (a valid manifest) laid out canonically; the same text if it already is."""
    document = _yaml()
    data = document.load(text)
    order = _key_order()
    data = _arrange(data, order.root, order)
    out = io.StringIO()
    document.dump(data, out)
    return out.getvalue()


# ------------------------------------------------------------------------- scalars

_PYYAML_RESOLVER = pyyaml.resolver.Resolver()
_RUAMEL_RESOLVER = VersionedResolver()


@cache
def _reads_as_string(value: str) -> bool:
    """Whether ``value`` written plain is read back as this string by YAML 1.1 (qrun) and
    YAML 1.2 readers alike."""
    resolve_11 = cast("Callable[..., object]", _PYYAML_RESOLVER.resolve)
    resolve_12 = cast("Callable[..., object]", _RUAMEL_RESOLVER.resolve)
    tag_11 = str(resolve_11(pyyaml.ScalarNode, value, (True, False)))
    tag_12 = str(resolve_12(RuamelScalarNode, value, (True, False)))
    return bool(tag_11 == _STR and tag_12 == _STR)


def _plain_safe(value: str) -> bool:
    """Whether ``value`` can be written as a plain scalar on one line."""
    if not value or value != value.strip() or value[0] in _INDICATORS:
        return False
    if any(not char.isprintable() for char in value):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    return _reads_as_string(value)


def _scalar(value: object) -> object:
    """A string as a literal block if it spans lines (OpenQASM does), else plain or
    quoted as :func:`_quoted` decides; other scalars as they are."""
    if not isinstance(value, str) or isinstance(value, FoldedScalarString):
        return value
    if "\n" not in value:
        return _quoted(value)
    if isinstance(value, LiteralScalarString):
        return value
    return LiteralScalarString(value)


def _quoted(value: str) -> str:
    if _plain_safe(value):
        return str(value)
    if all(char.isprintable() for char in value) and ('"' in value or "\\" in value):
        return cast("str", SingleQuotedScalarString(value))
    return cast("str", DoubleQuotedScalarString(value))


# ------------------------------------------------------------------- collections


def _keys(node: object) -> frozenset[str] | None:
    if isinstance(node, CommentedMap):
        return frozenset(str(name) for name in node)
    return None


def _arrange(node: object, schemas: Schemas, order: KeyOrder) -> object:
    """``node`` laid out; ``schemas`` describe it (not yet expanded)."""
    if isinstance(node, CommentedMap):
        _arrange_mapping(node, order.expand(schemas, _keys(node)), order)
        return node
    if isinstance(node, CommentedSeq):
        expanded = order.expand(schemas, None)
        for index, item in enumerate(node):
            list.__setitem__(node, index, _arrange(item, order.item(expanded, index), order))
        if node and not node.ca.items and not any(_is_collection(item) for item in node):
            node.fa.set_flow_style()  # a list of scalars: flow, if it fits (below)
        _settle(node)
        return node
    return _scalar(node)


def _is_collection(node: object) -> bool:
    return isinstance(node, (CommentedMap, CommentedSeq))


def _arrange_mapping(node: CommentedMap, schemas: Schemas, order: KeyOrder) -> None:
    written = list(node)
    known = order.order(schemas)
    wanted = [name for name in known if name in node]
    wanted += [name for name in written if name not in known]
    wanted = keep_steps(wanted, written)
    renamed = [_quoted(name) if isinstance(name, str) else name for name in written]
    retyped = any(type(new) is not type(old) for new, old in zip(renamed, written, strict=True))
    if wanted != written or retyped:
        # The comments are kept by key (``node.ca.items``), so they follow their keys;
        # the full-line comments above a key are moved to it first.
        if wanted != written:
            _move_leading_comments(node, written, wanted[-1])
        values = {name: node[name] for name in written}
        new_names = dict(zip(written, renamed, strict=True))
        for name in written:
            del node[name]
        for name in wanted:
            node[new_names[name]] = values[name]
    for name in list(node):
        value = _arrange(node[name], order.value(schemas, str(name)), order)
        ordereddict.__setitem__(node, name, value)  # as is: no quoting carried over
    _settle(node)


def _tail_slot(holder: CommentedMap | CommentedSeq, key: object) -> list[object] | None:
    """The comment slot that holds what is written after the value at ``key`` of
    ``holder``: its own, or for a block collection its last item's (ruamel.yaml keeps
    comments after a value, up to the next key, there)."""
    value = holder[key]
    if isinstance(value, CommentedMap) and not value.fa.flow_style():
        return _tail_slot(value, list(value)[-1]) if value else None
    if isinstance(value, CommentedSeq) and not value.fa.flow_style():
        return _tail_slot(value, len(value) - 1) if value else None
    entry = holder.ca.items.get(key)
    if entry is None:
        return None
    return cast("list[object]", entry)


def _tail_token(holder: CommentedMap | CommentedSeq, key: object) -> CommentToken | None:
    slot = _tail_slot(holder, key)
    if slot is None:
        return None
    index = 2 if isinstance(holder, CommentedMap) or len(slot) > 2 else 0
    token = slot[index] if index < len(slot) else None
    if token is None and slot:
        token = slot[0]
    return token if isinstance(token, CommentToken) else None


def _split_lead(text: str, column: int) -> tuple[str, str]:
    """``text`` (what follows a value) split into what belongs above (comments indented
    deeper than ``column``, kept) and the comments above the next key at ``column``."""
    lines = text.split("\n")
    cut = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip(" ")) > column:
            break
        cut = index
    while cut < len(lines) and not lines[cut].strip() and cut > 0:
        cut += 1  # blank lines right after the value stay with it
        break
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def _move_leading_comments(node: CommentedMap, written: list[object], last: object) -> None:
    """Full-line comments written above a key stay above it when keys are reordered, and
    those after the mapping's last key stay after the key that is last now (``last``).
    (ruamel.yaml keeps them with the value above, as the tail of its last comment.)"""
    column = node.lc.col if node.lc.col is not None else 0
    end = _tail_token(node, last)
    for above, name in [*itertools.pairwise(written), (written[-1], None)]:
        if name is None and (end is None or above == last):
            continue
        token = _tail_token(node, above)
        if token is None:
            continue
        end_of_line, newline, rest = token.value.partition("\n")
        kept, lead = _split_lead(rest, column)
        if "#" not in lead:
            continue
        token.value = end_of_line + newline + kept
        if not token.value.endswith("\n"):
            token.value += "\n"
        if name is None and end is not None:
            end.value += lead
            continue
        entry = node.ca.items.setdefault(name, [None, None, None, None])
        entry[1] = [*(entry[1] or []), CommentToken(lead, CommentMark(0), None)]


def _flow_length(node: object) -> int | None:
    """Characters of ``node`` on one line in flow style; None if it cannot be (a comment
    inside, a multi-line string, a block collection inside)."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        if node.ca.items or not node.fa.flow_style():
            return None
        parts: list[int | None]
        if isinstance(node, CommentedMap):
            parts = [_pair_length(name, value) for name, value in node.items()]
        else:
            parts = [_flow_length(item) for item in node]
        if any(part is None for part in parts):
            return None
        return 2 + sum(part for part in parts if part is not None) + 2 * max(len(parts) - 1, 0)
    text = str(node)
    if "\n" in text:
        return None
    quoted = isinstance(node, (SingleQuotedScalarString, DoubleQuotedScalarString))
    return len(text) + 2 * quoted


def _pair_length(name: object, value: object) -> int | None:
    inner = _flow_length(value)
    return None if inner is None else len(str(name)) + 2 + inner


def _settle(node: CommentedMap | CommentedSeq) -> None:
    """Keep ``node`` in flow style only if it fits on a line; otherwise a block."""
    if not node.fa.flow_style():
        return
    length = _flow_length(node)
    if length is None or length > FLOW_WIDTH:
        node.fa.set_block_style()
