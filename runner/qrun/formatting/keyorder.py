"""The order of a mapping's keys, read from the schema's ``properties``.

The schema lists each object's properties in the order a reader expects them (``qrun``,
``metadata``, ``backend`` … at the top; ``circuit`` before ``observables`` in a PUB), so
that order is the canonical one. :class:`KeyOrder` walks the schema beside the document,
following ``$ref`` and the branches of ``allOf``/``anyOf``/``oneOf`` and
``if``/``then``/``else``. A branch is followed when the keys it requires are present (an
``if`` that requires ``sampler`` picks ``then`` for a sampler); when several branches name
properties, their orders are merged so that each branch's order is kept. Keys no branch
names (a circuit's own name, a label) keep the order they were written in, after the
known ones.

One order carries meaning and is never changed: ``primitives`` and ``workloads`` are the
manifest's steps, and a step may take its values only from one written before it, so
those two sections keep the order they were written in (:data:`STEPS`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["STEPS", "KeyOrder", "Schemas", "keep_steps"]

#: Sections whose relative order is the order the manifest's steps run in.
STEPS = ("primitives", "workloads")

#: The schemas that describe one node of a document.
Schemas = tuple["Mapping[str, Any]", ...]


class KeyOrder:
    """Schema positions of a document's nodes; see the module's docstring."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._root = schema
        self._defs: Mapping[str, Any] = schema.get("$defs", {})
        self._expanded: dict[tuple[int, frozenset[str] | None], Schemas] = {}

    @property
    def root(self) -> Schemas:
        """The schema of the document itself."""
        return (self._root,)

    def expand(self, schemas: Schemas, keys: frozenset[str] | None) -> Schemas:
        """``schemas`` and what they defer to, for a node that is a mapping with ``keys``
        (``None``: not a mapping)."""
        return self._expand(list(schemas), keys)

    def _expand(self, nodes: list[object], keys: frozenset[str] | None) -> Schemas:
        found: dict[int, Mapping[str, Any]] = {}
        for node in nodes:
            cache_key = (id(node), keys)
            known = self._expanded.get(cache_key)
            if known is None:
                known = self._expanded[cache_key] = self._walk(node, keys)
            for item in known:
                found.setdefault(id(item), item)
        return tuple(found.values())

    def _walk(self, node: object, keys: frozenset[str] | None) -> Schemas:
        found: dict[int, Mapping[str, Any]] = {}
        pending = [node]
        while pending:
            current = pending.pop(0)
            if not isinstance(current, dict) or id(current) in found:
                continue
            found[id(current)] = current
            reference = current.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                pending.append(self._defs.get(reference.removeprefix("#/$defs/")))
            if isinstance(current.get("allOf"), list):
                pending.extend(current["allOf"])
            for keyword in ("anyOf", "oneOf"):
                branches = current.get(keyword)
                if isinstance(branches, list):
                    pending.extend(self._fitting(branches, keys))
            if "if" in current:
                condition = self._requires(current["if"])
                if keys is None or condition is None:
                    pending.extend([current.get("then"), current.get("else")])
                elif condition <= keys:
                    pending.append(current.get("then"))
                else:
                    pending.append(current.get("else"))
        return tuple(found.values())

    def _requires(self, schema: object) -> frozenset[str] | None:
        """The keys ``schema`` requires (through a ``$ref``), if that is all it checks."""
        if not isinstance(schema, dict):
            return None
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return self._requires(self._defs.get(reference.removeprefix("#/$defs/")))
        required = schema.get("required")
        if isinstance(required, list):
            return frozenset(name for name in required if isinstance(name, str))
        return None

    def _fitting(self, branches: list[object], keys: frozenset[str] | None) -> list[object]:
        if keys is None:
            return branches
        fitting = [
            branch
            for branch in branches
            if (needed := self._requires(branch)) is not None and needed <= keys
        ]
        return fitting or branches

    @staticmethod
    def order(schemas: Schemas) -> tuple[str, ...]:
        """The properties the schemas name, each branch's order kept."""
        merged: list[str] = []
        for schema in schemas:
            properties = schema.get("properties")
            if not isinstance(properties, dict):
                continue
            previous: str | None = None
            for name in properties:
                if name not in merged:
                    at = merged.index(previous) + 1 if previous is not None else 0
                    merged.insert(at, name)
                previous = name
        return tuple(merged)

    def value(self, schemas: Schemas, key: str) -> Schemas:
        """The schemas of the value at ``key`` of a mapping described by ``schemas``
        (before :meth:`expand`)."""
        children: list[Mapping[str, Any]] = []
        for schema in schemas:
            properties = schema.get("properties")
            if isinstance(properties, dict) and key in properties:
                children.append(properties[key])
                continue
            patterns = schema.get("patternProperties")
            matched = False
            if isinstance(patterns, dict):
                for pattern, child in patterns.items():
                    if _matches(pattern, key):
                        children.append(child)
                        matched = True
            if not matched and isinstance(schema.get("additionalProperties"), dict):
                children.append(schema["additionalProperties"])
        return tuple(children)

    @staticmethod
    def item(schemas: Schemas, index: int) -> Schemas:
        """The schemas of the item at ``index`` of a list described by ``schemas``."""
        children: list[Mapping[str, Any]] = []
        for schema in schemas:
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list) and index < len(prefix):
                children.append(prefix[index])
            elif isinstance(schema.get("items"), dict):
                children.append(schema["items"])
        return tuple(children)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches(pattern: str, key: str) -> bool:
    try:
        return _compiled(pattern).search(key) is not None
    except re.error:
        return False


def keep_steps(wanted: list[str], written: list[object]) -> list[str]:
    """``wanted`` with the :data:`STEPS` sections back in their ``written`` order."""
    slots = [index for index, name in enumerate(wanted) if name in STEPS]
    steps = [name for name in written if isinstance(name, str) and name in STEPS]
    if len(slots) != len(steps):
        return wanted
    arranged = list(wanted)
    for index, name in zip(slots, steps, strict=True):
        arranged[index] = name
    return arranged
